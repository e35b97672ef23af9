"""Image loading: local files, the real HTTP path against a loopback server, guards, cache, fail-fast."""

from __future__ import annotations

import os
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from mmrec_core.config import ImageConfig
from mmrec_core.data import images as images_mod
from mmrec_core.data.images import ImageResult, count_missing, load_image, load_images, record_missing
from mmrec_core.data.schema import LoadReport

LOOPBACK = ImageConfig(allow_private=True, timeout_s=2.0, max_bytes=50_000, max_pixels=1_000_000, workers=8)


def png_bytes(size: tuple[int, int] = (8, 6), colour: tuple[int, int, int] = (200, 30, 30), mode: str = "RGB") -> bytes:
    buffer = BytesIO()
    Image.new(mode, size, colour if mode == "RGB" else 0).save(buffer, "PNG")
    return buffer.getvalue()


PNG = png_bytes()
BOMB = png_bytes((10_000, 10_000), mode="1")  # ~100 M pixels, a few KB compressed


class Server:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.hits[self.path] += 1
                routes = {
                    "/ok.png": (200, PNG), "/other.png": (200, png_bytes(colour=(0, 0, 255))),
                    "/text": (200, b"<html>not a picture</html>"), "/big": (200, bytes(200_000)),
                    "/bomb.png": (200, BOMB),
                }
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/ok.png")
                    self.end_headers()
                    return
                status, body = routes.get(self.path, (404, b"no"))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on exit: connections are refused


def test_local_path_and_file_url(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    Image.new("RGBA", (5, 4), (10, 20, 30, 0)).save(path)
    for ref in (str(path), path.as_uri()):
        result = load_image(ref, cache=tmp_path / "cache")
        assert result.ok and result.reason is None
        assert result.image.mode == "RGB" and result.image.size == (5, 4)
        assert result.image.getpixel((0, 0)) == (255, 255, 255)  # transparent -> white, not black


def test_missing_and_unsupported(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    refs = [None, "", "None", str(tmp_path / "nope.jpg"), "ftp://example.com/a.jpg", "data:image/png;base64,AAAA",
            str(tmp_path / "notes.txt")]
    reasons = [r.reason for r in load_images(refs, LOOPBACK, cache=tmp_path / "cache")]
    assert reasons == ["no image", "no image", "no image", "file not found", "unsupported scheme",
                       "unsupported scheme", "not an image"]


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_http_download_and_guards(server: Server, tmp_path: Path) -> None:
    refs = [f"{server.url}/{p}" for p in ("ok.png", "missing", "text", "big", "bomb.png", "redirect")]
    results = load_images(refs, LOOPBACK, cache=tmp_path / "cache")
    assert [r.reason for r in results] == [None, "http 404", "not an image", "too large", "decompression bomb", None]
    assert results[0].image.getpixel((0, 0)) == (200, 30, 30) and results[0].image.size == (8, 6)
    report = record_missing(LoadReport(), results)
    assert report.missing_images == {"http 404": 1, "not an image": 1, "too large": 1, "decompression bomb": 1}


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_pillow_bomb_warning_counts_as_bomb(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(BOMB)
    result = load_image(str(path), ImageConfig(max_pixels=10**9), cache=tmp_path / "c")  # Pillow's limit trips
    assert result.reason == "decompression bomb"


def test_private_address_refused_by_default(server: Server, tmp_path: Path) -> None:
    guarded = ImageConfig(timeout_s=2.0)
    assert not guarded.allow_private
    result = load_image(f"{server.url}/ok.png", guarded, cache=tmp_path / "cache")
    assert not result.ok and result.reason == "private address"
    assert server.hits["/ok.png"] == 0  # refused before any connection


def test_disk_cache_hit_needs_no_server(server: Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    url = f"{server.url}/ok.png"
    assert load_images([url, url], LOOPBACK, cache=cache)[1].ok
    assert server.hits["/ok.png"] == 1  # the repeated reference was fetched once
    again = load_image(url, LOOPBACK, cache=cache)
    assert again.ok and again.cached and server.hits["/ok.png"] == 1
    assert [p.name for p in cache.iterdir() if p.name.startswith(".tmp")] == []  # no temp files left


def test_truncated_cache_entry_is_fetched_again(server: Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    url = f"{server.url}/ok.png"
    assert load_image(url, LOOPBACK, cache=cache).ok
    (entry,) = cache.iterdir()
    entry.write_bytes(PNG[: len(PNG) // 2])  # what a killed non-atomic writer would leave
    result = load_image(url, LOOPBACK, cache=cache)
    assert result.ok and not result.cached and server.hits["/ok.png"] == 2
    assert entry.read_bytes() == PNG


def test_failed_write_leaves_no_file(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"

    def killed(src: str, dst: str) -> None:
        raise KeyboardInterrupt  # the run dies between writing and renaming

    monkeypatch.setattr(images_mod.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        load_image(f"{server.url}/ok.png", LOOPBACK, cache=cache)
    assert list(cache.iterdir()) == []


def test_failures_are_not_cached(server: Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert load_image(f"{server.url}/text", LOOPBACK, cache=cache).reason == "not an image"
    assert not cache.exists() or not any(cache.iterdir())


def test_fail_fast_when_connections_are_refused(tmp_path: Path) -> None:
    port = closed_port()
    refs = [f"http://127.0.0.1:{port}/img{i}.jpg" for i in range(200)]
    results = load_images(refs, ImageConfig(allow_private=True, offline_after=5, workers=8), cache=tmp_path / "c")
    counts = count_missing(results)
    assert sum(counts.values()) == 200 and set(counts) <= {"unreachable", "host unreachable"}
    assert counts["host unreachable"] >= 180  # only the first few (and those in flight) were tried
    assert 5 <= counts["unreachable"] <= 5 + 8


def test_cache_still_serves_when_network_down(server: Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    url = f"{server.url}/ok.png"
    assert load_image(url, LOOPBACK, cache=cache).ok
    port = closed_port()
    refs = [f"http://127.0.0.1:{port}/{i}.jpg" for i in range(20)] + [url]
    results = load_images(refs, ImageConfig(allow_private=True, offline_after=3, workers=1), cache=cache)
    assert results[-1].ok and results[-1].cached and results[10].reason == "host unreachable"


def test_progress_and_order(tmp_path: Path) -> None:
    paths = []
    for i in range(5):
        paths.append(tmp_path / f"{i}.png")
        Image.new("RGB", (i + 1, 1)).save(paths[-1])
    events = []
    results = load_images([str(p) for p in paths] + [None], LOOPBACK, progress=events.append, cache=tmp_path / "c")
    assert [r.image.size[0] for r in results[:5]] == [1, 2, 3, 4, 5] and results[5].reason == "no image"
    assert events[-1].done == events[-1].total == 6 and events[-1].unit == "images"
    assert isinstance(results[0], ImageResult) and os.path.exists(results[0].ref)
