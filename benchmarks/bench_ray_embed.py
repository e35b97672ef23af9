"""Item embedding throughput: the single-process path vs the Ray Data job in local mode.

Each run is ``python -m mmrec_core embed --engine local|ray`` in a fresh cache (the demo catalogue is
copied in, not regenerated), so nothing comes from the embedding cache. Prints one JSON object per run:
items, the job's seconds (without Ray's start-up; with the actors' start), the command's wall seconds,
items/s over the job, and per process (``items_per_s / actors``). Example::

    python benchmarks/bench_ray_embed.py --sizes small,medium --encoders classic,bundled
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCAL = re.compile(r"^(\d+) items, from cache: text 0, image 0, ([\d.]+) s")
RAY = re.compile(r"^(\d+) items on (\d+) (CPU|GPU) actor\(s\) in ([\d.]+) s")


def run(size: str, encoder: str, engine: str, demo: Path, actors: int | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="mmrec-bench-ray-") as cache:
        shutil.copytree(demo, Path(cache) / "demo" / demo.name)
        env = {**os.environ, "MMREC_CACHE_DIR": cache, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "mmrec_core", "-q", "embed", "--size", size, "--encoder", encoder]
        cmd += ["--engine", engine] + (["--actors", str(actors)] if actors and engine == "ray" else [])
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
    for line in done.stdout.splitlines():
        if engine == "local" and (m := LOCAL.match(line)):
            items, seconds, procs = int(m[1]), float(m[2]), 1
            break
        if engine == "ray" and (m := RAY.match(line)):
            items, procs, seconds = int(m[1]), int(m[2]), float(m[4])
            break
    else:
        raise RuntimeError(f"unexpected output of {' '.join(cmd)}:\n{done.stdout}\n{done.stderr[-2000:]}")
    rate = items / seconds
    return {
        "size": size, "encoder": encoder, "engine": engine, "items": items, "processes": procs,
        "job_s": round(seconds, 2), "wall_s": round(wall, 2), "items_per_s": round(rate, 1),
        "items_per_s_per_process": round(rate / procs, 1),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small", help="demo sizes, comma-separated")
    parser.add_argument("--encoders", default="classic", help="encoders, comma-separated")
    parser.add_argument("--engines", default="local,ray")
    parser.add_argument("--actors", type=int, default=None, help="Ray encoder actors (default one per CPU)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from mmrec_core.data.demo import ensure_demo

    for size in args.sizes.split(","):
        demo = Path(ensure_demo(size))
        for encoder in args.encoders.split(","):
            for engine in args.engines.split(","):
                print(json.dumps(run(size, encoder, engine, demo, args.actors)), flush=True)


if __name__ == "__main__":
    main()
