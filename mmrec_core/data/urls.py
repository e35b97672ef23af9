"""What a URL names and whether its address may be fetched: one parse, one address policy.

Kept apart from the download itself so the rules read in one place: anything two URL parsers could read
differently is refused, and only globally reachable unicast addresses pass unless private ones are allowed.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from requests.utils import requote_uri

_PORT = re.compile(r"^[0-9]{1,5}$")
_BAD_URL_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")  # controls, backslash: parsers disagree on them
_BAD_HOST_CHARS = re.compile(r"[\s@%\\/?#]")  # whitespace, user info, escapes in the authority
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
# local-use NAT64 (its gateway is inside), IPv4-compatible (deprecated), IPv4-translated (SIIT)
_NEVER = tuple(ipaddress.ip_network(n) for n in ("64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96"))


class Missing(Exception):
    """A reference that yields no picture; ``reason`` is short and stable (it is counted in reports).

    ``network`` marks failures that say something about the host (DNS, refused, timeout, TLS): they count
    towards skipping that host, and the whole network, for the rest of a batch.
    """

    def __init__(self, reason: str, network: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.network = network
        self.origin: str | None = None  # the ``host:port`` whose hop failed, set by :func:`download`


# --- addresses ----------------------------------------------------------------------------------------
def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for a globally reachable unicast address, judging IPv4 addresses embedded in IPv6 by the IPv4.

    ``is_global`` alone lets through 6to4 of loopback (``2002:7f00::/24``), NAT64 of private addresses
    (``64:ff9b::10.0.0.1``), IPv4-compatible ``::127.0.0.1`` and multicast; it refuses NAT64 of public
    addresses, which IPv6-only networks with DNS64 return for every IPv4-only host.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
            return is_public(address.ipv4_mapped)
        if address in _NAT64_WELL_KNOWN:  # 64:ff9b::a.b.c.d reaches a.b.c.d through the NAT64 gateway
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None:
            return is_public(address.sixtofour)
        if address.teredo is not None or any(address in net for net in _NEVER):
            return False
    return bool(address.is_global and not (address.is_multicast or address.is_unspecified or address.is_reserved
                                           or address.is_link_local or address.is_loopback))


def address_of(sockaddr: tuple) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IP of a socket address (an IPv6 zone is dropped: it names an interface, not a host)."""
    return ipaddress.ip_address(str(sockaddr[0]).split("%")[0])


# --- URLs ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """One parsed hop: what is resolved, connected to and asked for."""

    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    path: str  # path and query, percent-encoded

    @property
    def origin(self) -> str:
        """``host:port``: the unit of the per-host fail-fast."""
        return f"{self.host}:{self.port}"


def parse_url(url: str) -> Target:
    """Parse an ``http(s)`` URL once; anything two parsers could read differently is refused ("bad url").

    Refused: user info (``user@``), backslashes and control characters anywhere, whitespace or ``%`` in
    the host, ports that are not 1-65535 in plain digits. Spaces in the path are percent-encoded.
    """
    if _BAD_URL_CHARS.search(url):
        raise Missing("bad url")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise Missing("bad url") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Missing("unsupported scheme")
    netloc = parts.netloc
    if not netloc or _BAD_HOST_CHARS.search(netloc):
        raise Missing("bad url")
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise Missing("bad url")
        port_text = rest[1:] if rest else None
        try:
            ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise Missing("bad url") from exc
    else:
        host, colon, port_text = netloc.partition(":")
        if not colon:
            port_text = None
        if ":" in (port_text or "") or "[" in host or "]" in host:
            raise Missing("bad url")
    if port_text is None or port_text == "":
        port = 443 if scheme == "https" else 80
    elif _PORT.match(port_text) and 0 < int(port_text) < 65536:
        port = int(port_text)
    else:
        raise Missing("bad url")
    try:
        host = host.lower().encode("idna").decode("ascii") if not host.isascii() else host.lower()
    except UnicodeError as exc:
        raise Missing("bad url") from exc
    if not host or host.strip(".") == "":
        raise Missing("bad url")
    path = requote_uri(parts.path or "/") + (f"?{requote_uri(parts.query)}" if parts.query else "")
    return Target(scheme, host, port, path)
