"""Item pictures: an image reference (local path, ``file://``, ``http(s)://``) -> a decoded RGB picture or
a "missing" with a short, stable reason. Never a placeholder picture: a missing image stays missing.

Downloads run in a thread pool, are cached on disk by sha256(URL) with atomic writes (only successes are
cached), and stop at once when the network is down: after ``offline_after`` consecutive network-level
failures (DNS failure, refused or unreachable connection, connect timeout) every remaining URL is marked
"network down" without being tried, so 10,000 unreachable URLs take seconds.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import re
import socket
import tempfile
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import requests
from PIL import Image
from urllib3.exceptions import ReadTimeoutError

from mmrec_core.config import ImageConfig, cache_dir
from mmrec_core.data.schema import LoadReport
from mmrec_core.progress import ProgressCallback, Reporter

log = logging.getLogger("mmrec.data.images")

USER_AGENT = "mmrec/0.1 (multimodal recommendation studio; image fetch)"
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")  # no EPS/PDF: their plugins run external programs
MAX_REDIRECTS = 3
CHUNK = 64 * 1024
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
_NULLS = {"", "none", "null", "nan"}


@dataclass(frozen=True)
class ImageResult:
    """One reference's outcome: ``image`` (RGB, fully loaded) or ``reason`` why it is missing."""

    ref: str | None
    image: Image.Image | None
    reason: str | None
    cached: bool = False  # served from the disk cache

    @property
    def ok(self) -> bool:
        return self.image is not None


class _Missing(Exception):
    def __init__(self, reason: str, network: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.network = network  # a network-level failure: counts towards "network down"


def _decode(data: bytes, config: ImageConfig) -> Image.Image:
    """Bytes -> RGB image, refusing non-images and pictures over ``config.max_pixels``.

    The pixel cap is checked on the header here, per call, rather than by changing the process-wide
    ``Image.MAX_IMAGE_PIXELS`` (threads would race on it); Pillow's own bomb check still applies on top.
    """
    try:
        with Image.open(BytesIO(data), formats=FORMATS) as img:
            width, height = img.size
            if width * height > config.max_pixels:
                raise _Missing("decompression bomb")
            img.load()
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                out = Image.new("RGB", rgba.size, (255, 255, 255))  # transparent product shots on white
                out.paste(rgba, mask=rgba.getchannel("A"))
                return out
            return img.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _Missing("decompression bomb") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # UnidentifiedImageError is an OSError
        raise _Missing("not an image") from exc


class _Fetcher:
    """Shared state of one batch: config, cache folder, per-thread sessions, the failure streak."""

    def __init__(self, config: ImageConfig, cache: Path | None):
        self.config = config
        self.cache = cache
        self.local = threading.local()
        self.lock = threading.Lock()
        self.streak = 0
        self.down = False

    # --- network health ---------------------------------------------------------------------------
    def _network_failure(self) -> None:
        with self.lock:
            self.streak += 1
            if not self.down and self.streak >= self.config.offline_after:
                self.down = True
                log.warning("%d network failures in a row: marking the remaining downloads 'network down'",
                            self.streak)

    def _network_ok(self) -> None:
        with self.lock:
            self.streak = 0

    def session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            self.local.session = session
        return session

    # --- one reference ----------------------------------------------------------------------------
    def load(self, ref: str | None) -> ImageResult:
        if ref is None or not str(ref).strip() or str(ref).strip().lower() in _NULLS:
            return ImageResult(ref, None, "no image")
        ref = str(ref).strip()
        match = _SCHEME.match(ref)
        scheme = match.group(1).lower() if match else ""
        try:
            if scheme in ("http", "https"):
                return self._remote(ref)
            if scheme == "file":
                parts = urlsplit(ref)
                if parts.netloc not in ("", "localhost"):
                    raise _Missing("unsupported scheme")
                return ImageResult(ref, self._local(Path(url2pathname(parts.path))), None)
            if scheme:
                raise _Missing("unsupported scheme")
            return ImageResult(ref, self._local(Path(ref).expanduser()), None)
        except _Missing as missing:
            if missing.network:
                self._network_failure()
            return ImageResult(ref, None, missing.reason)

    def _local(self, path: Path) -> Image.Image:
        if not path.is_file():
            raise _Missing("file not found")
        if path.stat().st_size > self.config.max_bytes:
            raise _Missing("too large")
        return _decode(path.read_bytes(), self.config)

    def _cache_path(self, url: str) -> Path | None:
        return None if self.cache is None else self.cache / (hashlib.sha256(url.encode()).hexdigest() + ".img")

    def _remote(self, url: str) -> ImageResult:
        path = self._cache_path(url)
        if path is not None and path.is_file():
            try:
                return ImageResult(url, _decode(path.read_bytes(), self.config), None, cached=True)
            except _Missing:  # a damaged cache entry is not an image: drop it and fetch again
                log.info("dropping unreadable cache entry %s", path.name)
                path.unlink(missing_ok=True)
        if self.down:
            raise _Missing("network down")
        data = self._download(url)
        image = _decode(data, self.config)
        if path is not None:
            _atomic_write(path, data)
        return ImageResult(url, image, None)

    def _check_host(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise _Missing("unsupported scheme")
        if not parts.hostname:
            raise _Missing("bad url")
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
            infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, ValueError) as exc:
            raise _Missing("unreachable", network=True) from exc
        if self.config.allow_private:
            return
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if (address.is_private or address.is_loopback or address.is_link_local or address.is_reserved
                    or address.is_multicast or address.is_unspecified):
                # requests resolves again when connecting; a rebinding DNS server could still race this check
                raise _Missing("private address")

    def _download(self, url: str) -> bytes:
        timeout = (self.config.timeout_s, self.config.timeout_s)
        for _ in range(MAX_REDIRECTS + 1):
            self._check_host(url)  # every hop: a redirect must not lead to a private address
            try:
                with self.session().get(url, stream=True, timeout=timeout, allow_redirects=False) as response:
                    self._network_ok()
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise _Missing(f"http {response.status_code}")
                    return self._read_capped(response)
            except requests.exceptions.ConnectTimeout as exc:
                raise _Missing("timeout", network=True) from exc
            except requests.exceptions.Timeout as exc:
                raise _Missing("timeout") from exc
            except requests.exceptions.ConnectionError as exc:
                if exc.args and isinstance(exc.args[0], ReadTimeoutError):  # iter_content wraps read timeouts
                    raise _Missing("timeout") from exc
                raise _Missing("unreachable", network=True) from exc
            except requests.exceptions.RequestException as exc:
                raise _Missing("http error") from exc
        raise _Missing("too many redirects")

    def _read_capped(self, response: requests.Response) -> bytes:
        limit = self.config.max_bytes
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise _Missing("too large")
        buffer = bytearray()
        for chunk in response.iter_content(CHUNK):
            buffer.extend(chunk)
            if len(buffer) > limit:  # also covers servers that lie about or omit Content-Length
                raise _Missing("too large")
        return bytes(buffer)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and ``os.replace``: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def default_cache() -> Path:
    """The image download cache folder, ``cache_dir()/"images"``."""
    path = cache_dir() / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_image(ref: str | None, config: ImageConfig = ImageConfig(), cache: Path | None = None) -> ImageResult:
    """Turn one image reference into a decoded RGB picture or a missing reason.

    Parameters
    ----------
    ref:
        A local path, a ``file://`` URL or an ``http(s)://`` URL (None or "" -> "no image").
    config:
        Timeouts, size and pixel caps, private-address switch.
    cache:
        Download cache folder; None uses ``cache_dir()/"images"``.
    """
    return _Fetcher(config, cache if cache is not None else default_cache()).load(ref)


def load_images(
    refs: Sequence[str | None],
    config: ImageConfig = ImageConfig(),
    progress: ProgressCallback | None = None,
    cache: Path | None = None,
) -> list[ImageResult]:
    """Load many references concurrently (``config.workers`` threads), in input order.

    Repeated references are loaded once. Downloads are cached on disk (``cache`` or
    ``cache_dir()/"images"``); once the network looks down, remaining URLs are marked "network down".
    Progress events use stage "load images", unit "images".
    """
    fetcher = _Fetcher(config, cache if cache is not None else default_cache())
    unique = list(dict.fromkeys(refs))
    reporter = Reporter(progress, "load images", total=len(unique), unit="images")
    step = max(1, len(unique) // 100)
    results: dict[str | None, ImageResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, config.workers), thread_name_prefix="mmrec-img") as pool:
        for done, (ref, result) in enumerate(zip(unique, pool.map(fetcher.load, unique), strict=True), 1):
            results[ref] = result
            if done % step == 0 or done == len(unique):
                reporter.update(done)
    out = [results[ref] for ref in refs]
    missing = count_missing(out)
    if missing:
        log.warning("%d of %d images missing: %s", sum(missing.values()), len(out), missing)
    return out


def count_missing(results: Sequence[ImageResult]) -> dict[str, int]:
    """Missing images by reason (only reasons that occur), most common first."""
    return dict(Counter(r.reason or "unknown" for r in results if not r.ok).most_common())


def record_missing(report: LoadReport, results: Sequence[ImageResult]) -> LoadReport:
    """Fill ``report.missing_images`` with :func:`count_missing` of ``results``; returns the report."""
    report.missing_images = count_missing(results)
    return report
