"""Item pictures: an image reference (local path, ``file://``, ``http(s)://``) -> a decoded RGB picture or
a "missing" with a short, stable reason. Never a placeholder picture: a missing image stays missing.

- Downloads (:mod:`mmrec_core.data.download`) run in a thread pool; each connects only to the address it
  checked (non-global addresses refused unless ``allow_private``), and ``timeout_s`` bounds the whole
  download, redirects included.
- They are cached on disk by sha256(policy, URL) with atomic writes (only successes are cached): a picture
  fetched with ``allow_private`` is never served to the default, guarded policy.
- Failing fast, per host: after ``offline_after`` network-level failures in a row (DNS, refused,
  unreachable, timeout, TLS) on one ``host:port``, its remaining URLs are marked "host unreachable" without
  being tried; other hosts go on. Once ``4 * offline_after`` different hosts have failed with no host
  answering in between, the network is taken as down and every remaining URL is marked "network down".
  So 10,000 URLs on a dead host, or on a machine without network, take seconds.
- Local files are read only when they are regular files outside /proc and /sys, at most ``max_bytes``.
- Pictures are downscaled while decoding (JPEG draft mode, then a thumbnail) to ``max_side`` pixels on the
  longest side, ``DECODE_SIDE`` = 512 by default: twice the 224 px the bundled CNN and CLIP encoders crop,
  so a batch of huge but well-compressed pictures does not hold gigabytes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket  # noqa: F401 (kept: callers and tests patch images.socket.getaddrinfo, the one resolver)
import stat
import tempfile
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from PIL import Image

from mmrec_core.config import ImageConfig, cache_dir
from mmrec_core.data.download import USER_AGENT, download, sane_timeout
from mmrec_core.data.schema import LoadReport
from mmrec_core.data.urls import Missing, Target
from mmrec_core.progress import ProgressCallback, Reporter

log = logging.getLogger("mmrec.data.images")

__all__ = ["DECODE_SIDE", "USER_AGENT", "ImageResult", "count_missing", "load_image", "load_images",
           "record_missing"]

FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")  # no EPS/PDF: their plugins run external programs
DECODE_SIDE = 512  # longest side of a decoded picture; encoders take 224 px crops
MAX_TIMEOUT_S = 120.0  # a larger (or infinite) timeout_s is cut to this: no download may hang a batch
NETWORK_DOWN_FACTOR = 4  # this many times offline_after distinct failing hosts -> "network down"
LARGE_DECODE_PIXELS = 4_000_000  # decodes above this (after JPEG draft) take a slot of _LARGE_DECODES
_LARGE_DECODES = threading.BoundedSemaphore(2)  # full-size PNGs cannot be drafted: bound how many at once
_PSEUDO_FS = ("/proc", "/sys")  # "regular" files there report size 0, may block or have side effects
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
_NULLS = {"", "none", "null", "nan"}
_Missing = Missing  # the old private name


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


def _decode(data: bytes, max_pixels: int | ImageConfig, max_side: int | None = DECODE_SIDE) -> Image.Image:
    """Bytes -> RGB image no larger than ``max_side``, refusing non-images and pictures over ``max_pixels``.

    The pixel cap is checked on the header here, per call, rather than by changing the process-wide
    ``Image.MAX_IMAGE_PIXELS`` (threads would race on it); Pillow's own bomb check still applies on top.
    """
    if isinstance(max_pixels, ImageConfig):  # the older call shape, _decode(data, config)
        max_pixels = _positive_int(max_pixels.max_pixels, ImageConfig().max_pixels)
    try:
        with Image.open(BytesIO(data), formats=FORMATS) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise Missing("decompression bomb")
            scale = max_side / max(width, height) if max_side else 1.0
            if scale < 1 and img.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale, still >= the target
                img.draft(img.mode, (max(1, round(width * scale)), max(1, round(height * scale))))
            width, height = img.size
            large = width * height > LARGE_DECODE_PIXELS
            if large:
                _LARGE_DECODES.acquire()
            try:
                img.load()
                return _small_rgb(img, max_side)
            finally:
                if large:
                    _LARGE_DECODES.release()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Missing("decompression bomb") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # UnidentifiedImageError is an OSError
        raise Missing("not an image") from exc


def _small_rgb(img: Image.Image, max_side: int | None) -> Image.Image:
    transparent = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if img.mode not in ("RGB", "RGBA", "L", "LA"):  # palette, CMYK, 16-bit: resample in a plain mode
        img = img.convert("RGBA" if transparent else "RGB")
    if max_side and max(img.size) > max_side:
        img.thumbnail((max_side, max_side))
    if transparent:
        rgba = img.convert("RGBA")
        out = Image.new("RGB", rgba.size, (255, 255, 255))  # transparent product shots on white
        out.paste(rgba, mask=rgba.getchannel("A"))
        return out
    return img.convert("RGB")


def _read_regular(path: str, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file; FIFOs, devices, folders and /proc never block or crash.

    Checked before opening (no side effects of opening a device) and again on the open descriptor (the
    path may have been swapped in between). ``O_NONBLOCK``: opening a FIFO must not wait for a writer.
    """
    real = os.path.realpath(path)
    if any(real == root or real.startswith(root + "/") for root in _PSEUDO_FS):
        raise Missing("not a regular file")
    info = os.stat(real)
    if not stat.S_ISREG(info.st_mode):
        raise Missing("not a regular file")
    if info.st_size > limit:
        raise Missing("too large")
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_dev in _pseudo_devices():
            raise Missing("not a regular file")
        if info.st_size > limit:
            raise Missing("too large")
        data = bytearray()
        while len(data) <= limit:  # the file may grow after fstat: read one byte past the cap at most
            chunk = os.read(fd, min(1 << 20, limit + 1 - len(data)))
            if not chunk:
                break
            data.extend(chunk)
        if len(data) > limit:
            raise Missing("too large")
        return bytes(data)
    finally:
        os.close(fd)


def _pseudo_devices() -> set[int]:
    devices = set()
    for root in _PSEUDO_FS:
        try:
            devices.add(os.stat(root).st_dev)
        except OSError:
            pass
    return devices


def _positive_int(value: object, default: int) -> int:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return default
    return number if number > 0 else default


class _Fetcher:
    """Shared state of one batch: sanitised limits, cache folder, per-host and network failure counts."""

    def __init__(self, config: ImageConfig, cache: Path | None, max_side: int | None = DECODE_SIDE):
        defaults = ImageConfig()
        self.config = config
        self.cache = Path(cache) if cache is not None else None
        self.max_side = _positive_int(max_side, DECODE_SIDE) if max_side is not None else None
        # bad values must not hang or crash a batch; refusing them up front is the config's job
        self.timeout_s = sane_timeout(config.timeout_s, defaults.timeout_s, MAX_TIMEOUT_S)
        self.max_bytes = _positive_int(config.max_bytes, defaults.max_bytes)
        self.max_pixels = _positive_int(config.max_pixels, defaults.max_pixels)
        self.offline_after = _positive_int(config.offline_after, defaults.offline_after)
        self.allow_private = config.allow_private is True
        self.lock = threading.Lock()
        self.host_streak: Counter[str] = Counter()
        self.dead_hosts: set[str] = set()
        self.failing_hosts: set[str] = set()  # hosts that failed since any host last answered
        self.down = False

    # --- network health ---------------------------------------------------------------------------
    def _before_hop(self, target: Target) -> None:
        with self.lock:
            if self.down:
                raise Missing("network down")
            if target.origin in self.dead_hosts:
                raise Missing("host unreachable")

    def _host_failed(self, origin: str) -> None:
        with self.lock:
            self.host_streak[origin] += 1
            if self.host_streak[origin] >= self.offline_after and origin not in self.dead_hosts:
                self.dead_hosts.add(origin)
                log.warning("%s failed %d times in a row: its remaining images are marked 'host unreachable'",
                            origin, self.host_streak[origin])
            self.failing_hosts.add(origin)
            if not self.down and len(self.failing_hosts) >= NETWORK_DOWN_FACTOR * self.offline_after:
                self.down = True
                log.warning("%d different hosts failed and none answered: marking the remaining downloads "
                            "'network down'", len(self.failing_hosts))

    def _host_answered(self, target: Target) -> None:
        with self.lock:
            self.host_streak.pop(target.origin, None)
            self.failing_hosts.clear()

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
                    raise Missing("unsupported scheme")
                return ImageResult(ref, self._local(url2pathname(parts.path)), None)
            if scheme:
                raise Missing("unsupported scheme")
            return ImageResult(ref, self._local(os.path.expanduser(ref)), None)
        except Missing as missing:
            if missing.network and missing.origin:
                self._host_failed(missing.origin)
            return ImageResult(ref, None, missing.reason)
        except Exception as exc:  # one odd reference must never abort a whole batch
            log.warning("image %.200r failed unexpectedly: %s: %s", ref, type(exc).__name__, exc)
            return ImageResult(ref, None, "error")

    def _local(self, path: str) -> Image.Image:
        try:
            data = _read_regular(path, self.max_bytes)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise Missing("file not found") from exc
        except OSError as exc:  # permissions, EIO, loops, names too long
            raise Missing("unreadable") from exc
        except ValueError as exc:  # a NUL byte in the path
            raise Missing("bad path") from exc
        return _decode(data, self.max_pixels, self.max_side)

    def _cache_paths(self, url: str) -> tuple[list[Path], Path | None]:
        """Entries this policy may read, and the one it writes.

        The key includes the policy: a picture fetched with ``allow_private`` (perhaps from an internal
        host) is never served to the guarded default; a guarded fetch is safe for either policy.
        """
        if self.cache is None:
            return [], None

        def entry(policy: str) -> Path:
            return self.cache / (hashlib.sha256(f"{policy}\n{url}".encode()).hexdigest() + ".img")

        own = entry("private" if self.allow_private else "guarded")
        return ([own, entry("guarded")] if self.allow_private else [own]), own

    def _remote(self, url: str) -> ImageResult:
        readable, writable = self._cache_paths(url)
        for path in readable:
            if not path.is_file():
                continue
            try:
                image = _decode(_read_regular(str(path), self.max_bytes), self.max_pixels, self.max_side)
                return ImageResult(url, image, None, cached=True)
            except (Missing, OSError):  # a damaged cache entry is not an image: drop it and fetch again
                log.info("dropping unreadable cache entry %s", path.name)
                path.unlink(missing_ok=True)
        data = download(url, max_bytes=self.max_bytes, timeout_s=self.timeout_s, allow_private=self.allow_private,
                        before_hop=self._before_hop, on_answer=self._host_answered)
        image = _decode(data, self.max_pixels, self.max_side)
        if writable is not None:
            _atomic_write(writable, data)
        return ImageResult(url, image, None)


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


def load_image(
    ref: str | None,
    config: ImageConfig = ImageConfig(),
    cache: Path | None = None,
    max_side: int | None = DECODE_SIDE,
) -> ImageResult:
    """Turn one image reference into a decoded RGB picture or a missing reason.

    Parameters
    ----------
    ref:
        A local path, a ``file://`` URL or an ``http(s)://`` URL (None or "" -> "no image").
    config:
        Timeouts, size and pixel caps, private-address switch.
    cache:
        Download cache folder; None uses ``cache_dir()/"images"``.
    max_side:
        Longest side of the decoded picture (downscaled while decoding); None keeps the full size.
    """
    return _Fetcher(config, cache if cache is not None else default_cache(), max_side).load(ref)


def load_images(
    refs: Sequence[str | None],
    config: ImageConfig = ImageConfig(),
    progress: ProgressCallback | None = None,
    cache: Path | None = None,
    max_side: int | None = DECODE_SIDE,
) -> list[ImageResult]:
    """Load many references concurrently (``config.workers`` threads), in input order.

    Repeated references are loaded once. Downloads are cached on disk (``cache`` or
    ``cache_dir()/"images"``). A host that keeps failing is skipped ("host unreachable"); once many hosts
    fail and none answers, remaining URLs are marked "network down". Pictures are downscaled to
    ``max_side`` on the longest side (None: full size). Progress events use stage "load images", unit "images".
    """
    fetcher = _Fetcher(config, cache if cache is not None else default_cache(), max_side)
    unique = list(dict.fromkeys(refs))
    reporter = Reporter(progress, "load images", total=len(unique), unit="images")
    step = max(1, len(unique) // 100)
    results: dict[str | None, ImageResult] = {}
    workers = _positive_int(config.workers, ImageConfig().workers)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mmrec-img") as pool:
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
