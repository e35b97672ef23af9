"""Seconds to give up on 10,000 image URLs when the network is unreachable (fail fast, not hours).

Two cases: a closed loopback port (connection refused; ``allow_private`` so the guard lets it through) and a
hostname that never resolves (``*.invalid``: DNS failure). A fresh cache folder in /tmp, deleted afterwards.
Prints one JSON line.

    .venv/bin/python benchmarks/bench_unreachable_urls.py [--n 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmrec_core.config import ImageConfig  # noqa: E402
from mmrec_core.data.images import count_missing, load_images  # noqa: E402


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_case(refs: list[str], config: ImageConfig) -> dict[str, object]:
    cache = Path(tempfile.mkdtemp(prefix="mmrec-bench-urls-", dir="/tmp"))
    try:
        start = time.perf_counter()
        results = load_images(refs, config, cache=cache)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {"seconds": round(seconds, 3), "reasons": count_missing(results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    config = ImageConfig(allow_private=True)
    port = closed_port()
    refused = run_case([f"http://127.0.0.1:{port}/images/I/{i}.jpg" for i in range(args.n)], config)
    dns = run_case([f"http://img{i % 50}.nonexistent.invalid/images/I/{i}.jpg" for i in range(args.n)], config)
    print(json.dumps({
        "benchmark": "unreachable_urls", "urls": args.n, "workers": config.workers,
        "offline_after": config.offline_after, "timeout_s": config.timeout_s,
        "connection_refused": refused, "dns_failure": dns,
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
    }))


if __name__ == "__main__":
    main()
