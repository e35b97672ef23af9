"""One guarded HTTP(S) download: the address checked is the address connected to, under one deadline.

Why not ``requests``: it parses the URL and resolves the host again after any check of ours, so a URL the
two parsers read differently (``http://127.0.0.1:8000\\@1.1.1.1/``) or a DNS answer that changes between the
check and the connection (rebinding) reaches an address the check never saw. Here each hop is parsed once,
resolved once, every resolved address is checked, and the socket is connected to exactly those addresses;
the Host header, TLS SNI and certificate check still use the real host name. Proxies from the environment
are not used: through a proxy the address connected to could not be checked.

A watchdog shuts the socket down when ``deadline`` passes, so a server that drips one byte at a time cannot
keep a download alive past the budget, whatever the per-read timeout.
"""

from __future__ import annotations

import functools
import http.client
import math
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from urllib.parse import urljoin

from mmrec_core.data.urls import Missing, Target, address_of, is_public, parse_url

USER_AGENT = "mmrec/0.1 (multimodal recommendation studio; image fetch)"
MAX_REDIRECTS = 3
CHUNK = 64 * 1024
REDIRECTS = (301, 302, 303, 307, 308)


def resolve(target: Target, allow_private: bool, seconds: float) -> list[tuple[int, tuple]]:
    """Resolve once, within ``seconds``; ``[(family, sockaddr), ...]``.

    Any non-public answer refuses the hop unless ``allow_private``. ``getaddrinfo`` cannot be interrupted,
    so it runs in a daemon thread that is left to finish on its own when a slow resolver runs out the time.
    """
    answer: list = []
    done = threading.Event()

    def lookup() -> None:
        try:
            answer.append(socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM))
        except BaseException as exc:  # handed to the caller below
            answer.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name="mmrec-dns", daemon=True).start()
    if not done.wait(seconds):
        raise Missing("timeout", network=True)
    if isinstance(answer[0], BaseException):
        if isinstance(answer[0], (OSError, UnicodeError, ValueError)):  # gaierror is an OSError
            raise Missing("unreachable", network=True) from answer[0]
        raise answer[0]
    infos = answer[0]
    addresses = [(info[0], info[4]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
    if not addresses:
        raise Missing("unreachable", network=True)
    if not allow_private:
        for _, sockaddr in addresses:
            try:
                public = is_public(address_of(sockaddr))
            except ValueError:
                public = False
            if not public:
                raise Missing("private address")
    return addresses


# --- the deadline -------------------------------------------------------------------------------------
class Deadline:
    """One budget for a whole download (every hop): per-operation socket timeouts plus a watchdog.

    Socket timeouts bound each ``recv``, not their sum; the watchdog shuts the connected socket down at the
    deadline, which wakes any read blocked in http.client or TLS.
    """

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self.fired = False
        self._lock = threading.Lock()
        self._watched: list[tuple[threading.Timer, socket.socket]] = []

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            self.fired = True
            raise Missing("timeout", network=True)
        return left

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down at the deadline (through a duplicate: TLS wrapping detaches the original)."""
        twin = sock.dup()
        timer = threading.Timer(max(0.0, self.end - time.monotonic()), self._fire, args=(twin,))
        timer.daemon = True
        with self._lock:
            self._watched.append((timer, twin))
        timer.start()

    def _fire(self, twin: socket.socket) -> None:
        self.fired = True
        try:
            twin.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed by the peer or by us

    def close(self) -> None:
        with self._lock:
            watched, self._watched = self._watched, []
        for timer, twin in watched:
            timer.cancel()
            twin.close()


def connect(addresses: list[tuple[int, tuple]], allow_private: bool, deadline: Deadline) -> socket.socket:
    """Connect to the first of ``addresses`` that answers; the peer is checked before and after.

    Before: the numeric address handed to ``socket.create_connection`` (a literal: no second lookup a
    rebinding DNS server could answer differently). After: ``getpeername()``, the address the socket is
    really connected to, so no parsing or resolution anywhere can swap the peer unnoticed.
    """
    last: OSError | None = None
    for _family, sockaddr in addresses:
        if not allow_private and not is_public(address_of(sockaddr)):
            raise Missing("private address")
        try:
            sock = socket.create_connection((sockaddr[0], sockaddr[1]), timeout=deadline.left())
        except TimeoutError as exc:
            raise Missing("timeout", network=True) from exc
        except OSError as exc:
            last = exc
            continue
        try:
            if not allow_private and not is_public(address_of(sock.getpeername())):
                raise Missing("private address")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            deadline.watch(sock)
            return sock
        except OSError as exc:  # reset before we could look at it
            sock.close()
            last = exc
        except BaseException:
            sock.close()
            raise
    raise Missing("unreachable", network=True) from last


def tls_context() -> ssl.SSLContext:
    """Certificate-verifying client context (certifi's roots, as requests used); tests may replace it."""
    return _certifi_context()


@functools.lru_cache(maxsize=1)
def _certifi_context() -> ssl.SSLContext:
    import certifi

    return ssl.create_default_context(cafile=certifi.where())  # built once: loading the roots takes ms


class _PinnedHTTP(http.client.HTTPConnection):
    """http.client with the socket made by :func:`connect`; ``self.host`` stays the name for Host:."""

    def __init__(self, target: Target, addresses: list, allow_private: bool, deadline: Deadline):
        super().__init__(target.host, target.port, timeout=deadline.left())
        self._pinned = (addresses, allow_private, deadline)

    def connect(self) -> None:
        self.sock = connect(*self._pinned)


class _PinnedHTTPS(_PinnedHTTP):
    default_port = 443

    def connect(self) -> None:
        sock = connect(*self._pinned)
        try:
            # SNI and the certificate are checked against the real host name, not the pinned IP
            self.sock = tls_context().wrap_socket(sock, server_hostname=self.host.rstrip("."))
        except BaseException:
            sock.close()
            raise


# --- the download -------------------------------------------------------------------------------------
def download(
    url: str,
    *,
    max_bytes: int,
    timeout_s: float,
    allow_private: bool,
    before_hop: Callable[[Target], None] | None = None,
    on_answer: Callable[[Target], None] | None = None,
) -> bytes:
    """GET ``url`` (following up to ``MAX_REDIRECTS`` checked hops) within ``timeout_s`` in all.

    Parameters
    ----------
    url:
        An ``http(s)`` URL.
    max_bytes:
        Cap on the body after any content decoding ("too large" beyond it).
    timeout_s:
        Budget for everything: name resolution, connect, request, headers and body of every hop.
    allow_private:
        Let loopback, private, link-local and other non-global addresses through.
    before_hop:
        Called with each parsed hop before it is resolved (the fail-fast hook); may raise :class:`Missing`.
    on_answer:
        Called with a hop whose server answered with an HTTP status line (the host is alive).

    Raises
    ------
    Missing
        With the reason the download failed.
    """
    deadline = Deadline(timeout_s)
    target = parse_url(url)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            if before_hop is not None:
                before_hop(target)
            try:
                addresses = resolve(target, allow_private, deadline.left())
                location = _get(target, addresses, allow_private, deadline, max_bytes, on_answer)
            except Missing as missing:
                missing.origin = missing.origin or target.origin
                raise
            if isinstance(location, bytes):
                return location
            url = urljoin(url, location)
            target = parse_url(url)  # every hop is parsed, resolved and checked like the first
        raise Missing("too many redirects")
    finally:
        deadline.close()


def _get(
    target: Target,
    addresses: list,
    allow_private: bool,
    deadline: Deadline,
    max_bytes: int,
    on_answer: Callable[[Target], None] | None,
) -> bytes | str:
    """One hop: the body, or the redirect's Location."""
    cls = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = cls(target, addresses, allow_private, deadline)
    try:
        conn.connect()
        conn.request("GET", target.path, headers={
            "User-Agent": USER_AGENT, "Accept": "image/*", "Accept-Encoding": "identity", "Connection": "close",
        })
        response = conn.getresponse()
        if on_answer is not None:
            on_answer(target)
        if response.status in REDIRECTS and response.getheader("location"):
            return response.getheader("location", "")
        if response.status != 200:
            raise Missing(f"http {response.status}")
        length = (response.getheader("content-length") or "").strip()
        if length.isdigit() and int(length) > max_bytes:
            raise Missing("too large")
        body = _read_capped(response, response.getheader("content-encoding") or "", max_bytes, deadline)
        if deadline.fired:  # the watchdog may have cut the body short without an error
            raise Missing("timeout", network=True)
        return body
    except Missing:
        raise
    except ssl.SSLError as exc:  # before OSError: it is one
        raise _timeout_or(deadline, "tls error", network=True) from exc
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise _timeout_or(deadline, "http error") from exc
    finally:
        conn.close()


def _timeout_or(deadline: Deadline, reason: str, network: bool = False) -> Missing:
    if deadline.fired or deadline.end <= time.monotonic():
        return Missing("timeout", network=True)
    return Missing(reason, network=network)


def _read_capped(response: http.client.HTTPResponse, encoding: str, limit: int, deadline: Deadline) -> bytes:
    """The body, decoded if the server gzip/deflate-encoded it anyway, never more than ``limit`` bytes.

    Decoding is bounded per step (``max_length``), so a few KB of gzip cannot expand into gigabytes in
    memory before the cap is checked.
    """
    encoding = encoding.strip().lower()
    if encoding in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflater = zlib.decompressobj()
    else:  # identity, or a coding we cannot undo (br, zstd): the bytes as sent; the decoder judges them
        inflater = None
    buffer = bytearray()
    while True:
        deadline.left()
        chunk = response.read1(CHUNK) if hasattr(response, "read1") else response.read(CHUNK)
        if not chunk:
            break
        if inflater is None:
            buffer.extend(chunk)
        else:
            try:
                buffer.extend(inflater.decompress(chunk, limit + 1 - len(buffer)))
            except zlib.error as exc:
                raise Missing("not an image") from exc
        if len(buffer) > limit:  # also covers servers that lie about or omit Content-Length
            raise Missing("too large")
    return bytes(buffer)


def sane_timeout(value: object, default: float, ceiling: float) -> float:
    """``value`` as a usable budget in seconds: ``default`` when missing, not a number or <= 0."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    if math.isnan(seconds) or seconds <= 0:
        return default
    return min(seconds, ceiling)
