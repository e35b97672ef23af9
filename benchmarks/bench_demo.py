"""Seconds to generate each demo catalogue preset from scratch, with its counts and rating shares.

Each preset is written into a fresh temporary folder (nothing reused), so the figure is the first-run
cost a new user pays. Prints one JSON line per preset. Usage::

    python benchmarks/bench_demo.py                      # tiny, small, medium
    python benchmarks/bench_demo.py --sizes large --variant image-only
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmrec_core.data.demo import ensure_demo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="tiny,small,medium", help="comma-separated presets of DEMO_SIZES")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variant", default="default")
    args = parser.parse_args()
    for size in args.sizes.split(","):
        with tempfile.TemporaryDirectory(prefix="mmrec-bench-demo-") as tmp:
            start = time.perf_counter()
            folder = ensure_demo(size, seed=args.seed, variant=args.variant, root=Path(tmp))
            seconds = time.perf_counter() - start
            with gzip.open(folder / "reviews.jsonl.gz", "rt") as f:
                ratings = Counter(json.loads(line)["rating"] for line in f)
            n = sum(ratings.values())
            truth = json.loads((folder / "truth.json").read_text())["params"]
            print(json.dumps({
                "bench": "demo", "size": size, "variant": args.variant, "seconds": round(seconds, 2),
                "items": truth["n_items"], "users": truth["n_users"], "reviews": n, "pictures": truth["n_pictures"],
                "rating_shares": {int(k): round(v / n, 3) for k, v in sorted(ratings.items())},
                "folder_mb": round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "cpu_count": os.cpu_count(), "platform": platform.platform(),
            }), flush=True)


if __name__ == "__main__":
    main()
