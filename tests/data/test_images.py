"""Image loading: local files, the real HTTP path against a loopback server, guards, cache, fail-fast."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import weakref
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


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9)


GZIP_BOMB = gzip_bytes(bytes(20_000_000))  # 20 MB of zeros in about 20 KB


class Server:
    """A loopback HTTP server with fixed routes; slow routes stop by themselves after a few seconds."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.hosts: list[str] = []  # the Host header of every request
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner.hits[self.path] += 1
                owner.hosts.append(self.headers.get("Host", ""))
                routes = {
                    "/ok.png": (200, PNG), "/other.png": (200, png_bytes(colour=(0, 0, 255))),
                    "/text": (200, b"<html>not a picture</html>"), "/big": (200, bytes(200_000)),
                    "/bomb.png": (200, BOMB),
                }
                if self.path == "/redirect":
                    return self.redirect("/ok.png")
                if self.path.startswith("/redirect-to?"):
                    return self.redirect(self.path.split("?", 1)[1])
                if self.path.startswith("/hop/"):  # a chain of slow redirects: /hop/0 -> /hop/1 -> ... -> ok
                    time.sleep(0.4)
                    n = int(self.path.rsplit("/", 1)[1])
                    return self.redirect(f"/hop/{n + 1}" if n < 2 else "/ok.png")
                if self.path == "/drip":  # valid headers, then one byte every 0.25 s for at most 5 s
                    return self.drip(headers=True)
                if self.path == "/drip-headers":  # the status line, then the headers a byte at a time
                    return self.drip(headers=False)
                if self.path == "/gzip-bomb":
                    return self.send(200, GZIP_BOMB, {"Content-Encoding": "gzip"})
                if self.path == "/gzip.png":
                    return self.send(200, gzip_bytes(PNG), {"Content-Encoding": "gzip"})
                if self.path == "/brotli.png":
                    return self.send(200, PNG, {"Content-Encoding": "br"})
                if self.path == "/huge-length":
                    self.send_response(200)
                    self.send_header("Content-Length", str(10**12))
                    self.end_headers()
                    self.wfile.write(PNG)
                    return None
                status, body = routes.get(self.path.split("?", 1)[0], (404, b"no"))
                return self.send(status, body)

            def send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def drip(self, headers: bool) -> None:
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(PNG)}\r\nContent-Type: image/png\r\n\r\n".encode()
                if headers:
                    self.wfile.write(head)
                    data = PNG
                else:
                    self.wfile.write(head[:17])
                    data = head[17:] + PNG
                for i in range(20):  # bounded: the handler ends by itself
                    time.sleep(0.25)
                    try:
                        self.wfile.write(data[i : i + 1])
                        self.wfile.flush()
                    except OSError:
                        return
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
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


# --- hostile networks ---------------------------------------------------------------------------------
PUBLIC = "93.184.215.14"  # a global address; never really connected to (see Net)


class Net:
    """Fake DNS and a guard on ``socket.connect``: no traffic leaves this machine.

    Names resolve only through ``names`` (an address list, or an iterator of lists for answers that
    change); ``routes`` sends a pretend-public address to the loopback test server; any other
    non-loopback ``connect`` is recorded in ``attempts`` and refused.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: dict[str, object] = {}
        self.routes: dict[tuple[str, int], tuple[str, int]] = {}
        self.attempts: list[tuple[str, int]] = []
        self.lookups: list[str] = []
        real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

        routed: weakref.WeakKeyDictionary[socket.socket, tuple] = weakref.WeakKeyDictionary()
        real_peer = socket.socket.getpeername

        def connect(sock: socket.socket, address: tuple) -> None:
            key = (str(address[0]), int(address[1]))
            if key in self.routes:
                routed[sock] = key  # it reports the public address as its peer, as a real one would
                return real_connect(sock, self.routes[key])
            if key[0] in ("127.0.0.1", "::1"):
                return real_connect(sock, address)
            self.attempts.append(key)
            raise ConnectionRefusedError("test: no traffic leaves this machine")

        def getaddrinfo(host: object, port: object, *args: object, **kwargs: object) -> list:
            host = host.decode() if isinstance(host, bytes) else str(host)
            if re.fullmatch(r"[0-9a-fA-FxX.:]+", host):  # numeric forms (127.1, 0x7f.1, ::1): never a query
                kwargs.pop("flags", None)
                try:
                    return real_getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
                except socket.gaierror:
                    pass
            self.lookups.append(host)
            answer = self.names.get(host)
            if answer is None:
                raise socket.gaierror(socket.EAI_NONAME, "test: unknown name")
            addresses = next(answer) if isinstance(answer, Iterator) else answer
            port = int(port)
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0)) if ":" in a
                    else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

        def getpeername(sock: socket.socket) -> tuple:
            return routed[sock] if sock in routed else real_peer(sock)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "getpeername", getpeername)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def net(monkeypatch: pytest.MonkeyPatch) -> Net:
    return Net(monkeypatch)


GUARDED = ImageConfig(timeout_s=2.0, max_bytes=50_000, max_pixels=1_000_000, workers=4)


def test_urls_parsers_disagree_on_are_refused(server: Server, net: Net, tmp_path: Path) -> None:
    port = server.port
    refs = [
        f"http://127.0.0.1:{port}\\@1.1.1.1/ok.png",  # urlsplit: host 1.1.1.1; requests: 127.0.0.1
        f"http://1.1.1.1\\@127.0.0.1:{port}/ok.png",
        f"http://127.0.0.1:{port}\\\\@1.1.1.1/ok.png",
        f"http://x@1.1.1.1:{port}@127.0.0.1:{port}/ok.png",
        f"http://1.1.1.1:{port} @127.0.0.1:{port}/ok.png",
        f"http://1.1.1.1:{port}\t@127.0.0.1:{port}/ok.png",
    ]
    results = load_images(refs, GUARDED, cache=tmp_path / "c")
    assert [r.reason for r in results] == ["bad url"] * len(refs)
    assert sum(server.hits.values()) == 0 and net.attempts == []


def test_numeric_host_spellings_are_checked_as_the_address_they_are(server: Server, net: Net, tmp_path: Path) -> None:
    hosts = ["127.1", "0x7f.1", "0177.0.0.1", "2130706433", "0x7f000001", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]"]
    results = load_images([f"http://{h}:{server.port}/ok.png" for h in hosts], GUARDED, cache=tmp_path / "c")
    assert [r.reason for r in results] == ["private address"] * len(hosts)
    assert sum(server.hits.values()) == 0 and net.attempts == []


@pytest.mark.parametrize("url", ["http://a.example:0/x.png", "http://a.example:99999/x.png",
                                 "http://a.example:+80/x.png", "http://a.example:8o/x.png",
                                 "http://a.example:80:81/x.png", "http://[::1/x.png", "http:///x.png",
                                 "https://a.example%2f@b.example/x.png"])
def test_odd_ports_and_hosts_are_bad_urls(url: str, net: Net, tmp_path: Path) -> None:
    assert load_image(url, GUARDED, cache=tmp_path / "c").reason == "bad url"
    assert net.lookups == [] and net.attempts == []  # refused before any resolution


def test_socket_connects_to_the_address_that_was_checked(server: Server, net: Net, tmp_path: Path) -> None:
    # DNS rebinding: the first answer is public, later ones loopback. One resolution, pinned.
    net.names["rebind.example"] = iter([[PUBLIC]] + [["127.0.0.1"]] * 10)
    result = load_image(f"http://rebind.example:{server.port}/ok.png", GUARDED, cache=tmp_path / "c")
    assert not result.ok and result.reason == "unreachable"
    assert net.attempts == [(PUBLIC, server.port)] and server.hits["/ok.png"] == 0
    assert net.lookups == ["rebind.example"]


def test_the_peer_actually_connected_to_is_checked(server: Server, net: Net, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # whatever lies between the check and the socket (here a connection layer that goes elsewhere),
    # the address the socket ends up connected to is checked before a byte of the request is sent
    net.names["shop.example"] = [PUBLIC]
    real = socket.create_connection
    monkeypatch.setattr(socket, "create_connection",
                        lambda address, *args, **kwargs: real(("127.0.0.1", server.port), *args, **kwargs))
    result = load_image(f"http://shop.example:{server.port}/ok.png", GUARDED, cache=tmp_path / "c")
    assert result.reason == "private address" and sum(server.hits.values()) == 0


@pytest.mark.parametrize("address", [
    "100.64.0.1", "100.100.100.200",  # CGNAT, cloud metadata inside it
    "169.254.169.254", "10.1.2.3", "192.168.0.1", "0.0.0.0", "198.18.0.1", "192.0.2.1", "240.0.0.1",
    "224.0.0.251", "255.255.255.255",
    "::1", "::", "fe80::1", "fd00::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1",  # IPv4-mapped
    "2002:7f00:1::1", "2002:a9fe:a9fe::1",  # 6to4 of loopback, of link-local
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",  # NAT64 of loopback, of the metadata address
    "::7f00:1",  # IPv4-compatible loopback
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
])
def test_every_non_global_address_is_refused(address: str, server: Server, net: Net, tmp_path: Path) -> None:
    net.names["inside.example"] = [address]
    net.names["mixed.example"] = [PUBLIC, address]  # one bad answer is enough to refuse
    for host in ("inside.example", "mixed.example"):
        result = load_image(f"http://{host}:{server.port}/ok.png", GUARDED, cache=tmp_path / "c")
        assert result.reason == "private address", host
    assert net.attempts == [] and sum(server.hits.values()) == 0


def test_public_hosts_keep_their_name_and_redirects_are_checked(server: Server, net: Net, tmp_path: Path) -> None:
    net.names["shop.example"] = [PUBLIC]
    net.names["inside.example"] = ["10.0.0.7"]
    net.routes[(PUBLIC, server.port)] = ("127.0.0.1", server.port)  # a pretend public server
    base = f"http://shop.example:{server.port}"
    refs = [f"{base}/ok.png", f"{base}/redirect", f"{base}/redirect-to?http://127.0.0.1:{server.port}/ok.png",
            f"{base}/redirect-to?http://inside.example:{server.port}/ok.png",
            f"{base}/redirect-to?http://127.0.0.1:{server.port}\\@1.1.1.1/ok.png",
            f"{base}/redirect-to?file:///etc/hostname", f"{base}/redirect-to?/redirect-to?/redirect-to?/redirect"]
    results = load_images(refs, GUARDED, cache=tmp_path / "c")
    assert [r.reason for r in results] == [None, None, "private address", "private address", "bad url",
                                           "unsupported scheme", "too many redirects"]
    assert set(server.hosts) == {f"shop.example:{server.port}"}  # the name, not the pinned IP
    assert net.attempts == []


def test_allow_private_connects_to_the_resolved_address(server: Server, net: Net, tmp_path: Path) -> None:
    net.names["nas.lan"] = ["127.0.0.1"]
    result = load_image(f"http://nas.lan:{server.port}/ok.png", LOOPBACK, cache=tmp_path / "c")
    assert result.ok and server.hosts == [f"nas.lan:{server.port}"]
    assert load_image(f"http://nas.lan:{server.port}/ok.png", GUARDED, cache=tmp_path / "c").reason == (
        "private address")


def test_cache_entries_follow_the_policy_that_fetched_them(server: Server, net: Net, tmp_path: Path) -> None:
    cache = tmp_path / "c"
    private_url = f"{server.url}/ok.png"
    assert load_image(private_url, LOOPBACK, cache=cache).ok
    again = load_image(private_url, GUARDED, cache=cache)  # the guard applies, the cache does not bypass it
    assert not again.ok and again.reason == "private address" and server.hits["/ok.png"] == 1
    assert load_image(private_url, LOOPBACK, cache=cache).cached
    # a guarded fetch is safe for every policy
    net.names["shop.example"] = [PUBLIC]
    net.routes[(PUBLIC, server.port)] = ("127.0.0.1", server.port)
    public_url = f"http://shop.example:{server.port}/other.png"
    assert load_image(public_url, GUARDED, cache=cache).ok
    assert load_image(public_url, LOOPBACK, cache=cache).cached and server.hits["/other.png"] == 1


# --- deadlines ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/drip", "/drip-headers", "/hop/0"])
def test_timeout_bounds_the_whole_download(path: str, server: Server, tmp_path: Path) -> None:
    config = ImageConfig(allow_private=True, timeout_s=1.0, max_bytes=50_000, max_pixels=1_000_000)
    start = time.monotonic()
    result = load_image(server.url + path, config, cache=tmp_path / "c")
    seconds = time.monotonic() - start
    assert result.reason == "timeout" and seconds < 1.8  # a byte every 0.25 s would go on for 5 s


@pytest.mark.parametrize("timeout", [None, 0, -1.0, float("nan"), float("inf"), "3", "soon"])
def test_bad_timeout_values_neither_hang_nor_crash(timeout: object, server: Server, tmp_path: Path) -> None:
    config = ImageConfig(allow_private=True, timeout_s=timeout)  # type: ignore[arg-type]
    results = load_images([f"{server.url}/ok.png", f"{server.url}/text"], config, cache=tmp_path / "c")
    assert [r.reason for r in results] == [None, "not an image"]


def test_bad_counts_in_the_config_do_not_crash(server: Server, tmp_path: Path) -> None:
    config = ImageConfig(allow_private=True, workers=0, offline_after=0, max_bytes=None)  # type: ignore[arg-type]
    assert load_images([f"{server.url}/ok.png"], config, cache=tmp_path / "c")[0].ok


def test_encoded_and_oversized_bodies(server: Server, tmp_path: Path) -> None:
    refs = [f"{server.url}/{p}" for p in ("gzip-bomb", "gzip.png", "brotli.png", "huge-length")]
    results = load_images(refs, LOOPBACK, cache=tmp_path / "c")
    # a body labelled with a coding we cannot undo is judged as sent: here a plain PNG
    assert [r.reason for r in results] == ["too large", None, None, "too large"]


# --- local files --------------------------------------------------------------------------------------
def load_in_thread(refs: list[str], config: ImageConfig, cache: Path) -> list[ImageResult]:
    """``load_images`` that fails the test instead of hanging it (a FIFO read used to block)."""
    out: list[list[ImageResult]] = []
    worker = threading.Thread(target=lambda: out.append(load_images(refs, config, cache=cache)), daemon=True)
    worker.start()
    worker.join(10)
    assert out, "load_images hung or raised"
    return out[0]


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    good = tmp_path / "ok.png"
    good.write_bytes(PNG)
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.png"
    folder.mkdir()
    big = tmp_path / "big.png"
    big.write_bytes(png_bytes((400, 400)) + bytes(60_000))
    links = {}
    for name, target in (("mem", "/proc/self/mem"), ("pipe", fifo), ("null", "/dev/null")):
        links[name] = tmp_path / f"{name}-link.png"
        links[name].symlink_to(target)
    refs = [str(fifo), str(folder), "/dev/null", "/dev/zero", "/proc/self/mem", "/proc/self/environ",
            "file:///proc/self/mem", "file://localhost/proc/self/%6Dem", str(links["mem"]), str(links["pipe"]),
            str(links["null"]), str(big), str(good), "/sys/kernel/notes"]
    reasons = [r.reason for r in load_in_thread(refs, LOOPBACK, tmp_path / "c")]
    assert reasons == ["not a regular file"] * 11 + ["too large", None, "not a regular file"]


def test_read_errors_become_missing_pictures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked, broken, good = (tmp_path / f"{name}.png" for name in ("locked", "broken", "good"))
    for path in (locked, broken, good):
        path.write_bytes(PNG)
    real_open, real_read = os.open, os.read

    def fake_open(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied")  # chmod 000 does not stop root, so fake it
        return real_open(path, flags, *args, **kwargs)

    def fake_read(fd: int, n: int) -> bytes:
        if os.fstat(fd).st_ino == broken.stat().st_ino:
            raise OSError(5, "Input/output error")
        return real_read(fd, n)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "read", fake_read)
    refs = [str(locked), str(broken), str(good), str(tmp_path / "gone.png"), str(good / "x.png"), "bad\0path.png",
            "~nobody-such-user/x.png"]
    reasons = [r.reason for r in load_images(refs, LOOPBACK, cache=tmp_path / "c")]
    assert reasons == ["unreadable", "unreadable", None, "file not found", "file not found", "bad path",
                       "file not found"]


def test_an_unexpected_error_is_one_missing_picture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "ok.png"
    good.write_bytes(PNG)
    real = images_mod._decode

    def flaky(data: bytes, *args: object, **kwargs: object) -> Image.Image:
        if len(data) > 1000:
            raise RuntimeError("a bug in a codec")
        return real(data, *args, **kwargs)

    monkeypatch.setattr(images_mod, "_decode", flaky)
    other = tmp_path / "big.png"
    other.write_bytes(png_bytes((300, 300), colour=(1, 2, 3)) + bytes(2000))
    results = load_images([str(other), str(good)], LOOPBACK, cache=tmp_path / "c")
    assert [r.reason for r in results] == ["error", None]


# --- decoded size -------------------------------------------------------------------------------------
def jpeg_bytes(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buffer = BytesIO()
    Image.new(mode, size, 90 if mode == "L" else (90, 120, 150)).save(buffer, "JPEG", quality=50)
    return buffer.getvalue()


def test_pictures_are_downscaled_while_decoding(tmp_path: Path) -> None:
    paths = {}
    for name, data in (("wide.jpg", jpeg_bytes((3000, 1000))), ("tall.png", png_bytes((600, 1200))),
                       ("grey.jpg", jpeg_bytes((2000, 2000), "L")), ("small.png", PNG)):
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    config = ImageConfig(max_pixels=10_000_000)
    sizes = [r.image.size for r in load_images([str(p) for p in paths.values()], config, cache=tmp_path / "c")]
    assert sizes == [(images_mod.DECODE_SIDE, 171), (256, 512), (512, 512), (8, 6)]
    assert load_image(str(paths["wide.jpg"]), config, cache=tmp_path / "c", max_side=224).image.size == (224, 75)
    assert load_image(str(paths["wide.jpg"]), config, cache=tmp_path / "c", max_side=None).image.size == (3000, 1000)


def test_jpeg_is_never_decoded_at_full_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.jpg"
    path.write_bytes(jpeg_bytes((6000, 4000), "L"))
    decoded: list[tuple[int, int]] = []
    real_load = Image.Image.load

    def spy(self: Image.Image) -> object:
        decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(Image.Image, "load", spy)
    assert load_image(str(path), ImageConfig(), cache=tmp_path / "c").image.size == (512, 341)
    assert decoded and max(w * h for w, h in decoded) <= 750 * 500  # draft: 1/8 scale before decoding


def test_big_compressible_pictures_stay_small_in_memory(tmp_path: Path) -> None:
    data = jpeg_bytes((6300, 6300))  # 40 M pixels in a few hundred KB: 160 MB each once decoded full size
    paths = []
    for i in range(12):
        paths.append(tmp_path / f"{i}.jpg")
        paths[-1].write_bytes(data)
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from mmrec_core.config import ImageConfig\n"
        "from mmrec_core.data.images import load_images\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "results = load_images(sys.argv[1:], ImageConfig(workers=12), cache=Path(sys.argv[1]).parent / 'c')\n"
        "assert all(r.ok for r in results), [r.reason for r in results]\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", script, *map(str, paths)], capture_output=True, text=True,
                         cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, timeout=120, check=True)
    assert int(out.stdout.split()[-1]) < 250  # MB of extra peak memory; full-size decodes took about 1900


# --- failing fast, per host ---------------------------------------------------------------------------
def test_a_dead_host_does_not_take_other_hosts_down(server: Server, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    refs = [f"{dead}/{i}.jpg" for i in range(30)] + [f"{server.url}/ok.png"] + [f"{dead}/x{i}.jpg" for i in range(5)]
    config = ImageConfig(allow_private=True, offline_after=3, workers=1, timeout_s=2.0)
    reasons = [r.reason for r in load_images(refs, config, cache=tmp_path / "c")]
    assert reasons[:3] == ["unreachable"] * 3 and set(reasons[3:30]) == {"host unreachable"}
    assert reasons[30] is None and set(reasons[31:]) == {"host unreachable"}


def test_many_failing_hosts_with_none_answering_mean_network_down(server: Server, tmp_path: Path) -> None:
    config = ImageConfig(allow_private=True, offline_after=2, workers=1, timeout_s=2.0)
    dead_hosts = [f"http://127.0.0.1:{closed_port()}" for _ in range(12)]
    refs = [f"{host}/a.jpg" for host in dead_hosts] + [f"{server.url}/ok.png"]
    reasons = [r.reason for r in load_images(refs, config, cache=tmp_path / "c")]
    assert reasons[:8] == ["unreachable"] * 8  # 4 x offline_after different hosts
    assert set(reasons[8:]) == {"network down"}
    # a host that answers in between resets the count: dead links among live ones never stop a batch
    mixed = [ref for host in dead_hosts for ref in (f"{host}/b.jpg", f"{server.url}/ok.png?{host[-5:]}")]
    reasons = [r.reason for r in load_images(mixed, config, cache=tmp_path / "c2")]
    assert reasons == ["unreachable", None] * 12


def test_ten_thousand_urls_without_network_take_seconds(net: Net, tmp_path: Path) -> None:
    refs = [f"http://img{i}.shop{i % 700}.example/{i}.jpg" for i in range(10_000)]  # no name resolves
    start = time.monotonic()
    counts = count_missing(load_images(refs, ImageConfig(), cache=tmp_path / "c"))
    assert time.monotonic() - start < 10
    assert set(counts) == {"unreachable", "network down"} and counts["network down"] >= 9_900


def test_slow_name_resolution_counts_against_the_deadline(net: Net, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    fake = socket.getaddrinfo

    def slow(host: object, *args: object, **kwargs: object) -> list:
        if host == "slow.example":
            time.sleep(3)  # a resolver that takes its time (bounded: the test thread ends by itself)
        return fake(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    net.names["slow.example"] = [PUBLIC]
    start = time.monotonic()
    result = load_image("http://slow.example/a.png", ImageConfig(timeout_s=1.0), cache=tmp_path / "c")
    assert result.reason == "timeout" and time.monotonic() - start < 1.8


# --- TLS to a pinned address ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for ``secure.test`` only (openssl; skipped where it is missing)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=secure.test", "-addext", "subjectAltName=DNS:secure.test", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


def test_https_checks_the_certificate_of_the_name_not_the_pinned_address(
    server: Server, net: Net, certificate: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmrec_core.data import download as download_mod

    cert, key = certificate
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    monkeypatch.setattr(download_mod, "tls_context", lambda: ssl.create_default_context(cafile=str(cert)),
                        raising=False)
    net.names["secure.test"] = ["127.0.0.1"]
    net.names["other.test"] = ["127.0.0.1"]
    refs = [f"https://{host}:{server.port}/ok.png" for host in ("secure.test", "other.test", "127.0.0.1")]
    results = load_images(refs, LOOPBACK, cache=tmp_path / "c")
    assert [r.reason for r in results] == [None, "tls error", "tls error"]
    assert "secure.test" in names and server.hosts == [f"secure.test:{server.port}"]


def test_few_full_size_decodes_run_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a PNG cannot be decoded at a reduced scale, so big ones are decoded two at a time, not one per thread
    data, paths = png_bytes((2500, 2000)), []
    for i in range(6):
        paths.append(tmp_path / f"{i}.png")
        paths[-1].write_bytes(data)
    lock, active, peak = threading.Lock(), [0], [0]
    real_load = Image.Image.load

    def spy(self: Image.Image) -> object:
        if self.size[0] * self.size[1] < 4_000_000:
            return real_load(self)
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.1)
        try:
            return real_load(self)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(Image.Image, "load", spy)
    results = load_images([str(p) for p in paths], ImageConfig(workers=6), cache=tmp_path / "c")
    assert all(r.ok and r.image.size == (512, 410) for r in results) and peak[0] == 2
