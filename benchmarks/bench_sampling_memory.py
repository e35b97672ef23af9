"""Peak memory and time of sampling 1 % of reviews and streaming a ~1.4 GB meta file (Amazon_Fashion size).

Writes synthetic files in the raw Amazon Reviews 2023 layout under a temporary folder in /tmp (deleted
afterwards), then loads them in a fresh child process so its peak RSS (ru_maxrss) measures the load alone.
Prints one JSON line. Target: peak RSS < 1 GB.

    .venv/bin/python benchmarks/bench_sampling_memory.py [--gb 1.4] [--reviews 2500000] [--percent 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def meta_templates() -> list[str]:
    """A few realistic meta records (~1.6 KB; ``details`` of mixed, nested types) with an ASIN slot."""
    rng = random.Random(0)
    words = "cotton slim fit casual striped dotted summer soft breathable classic vintage stretch".split()
    out = []
    for k in range(8):
        details = [
            {"Package Dimensions": "10 x 8 x 1 inches; 4.8 Ounces", "Department": "womens", "Date First Available": "May 4, 2020"},
            {"Is Discontinued By Manufacturer": "No", "Item model number": 4711 + k, "Best Sellers Rank": {"Clothing": 123456}},
            {"Size": ["S", "M", "L"], "Material": "100% Cotton", "Care": None},
        ][k % 3]
        record = {
            "main_category": "AMAZON FASHION",
            "title": " ".join(rng.choice(words).title() for _ in range(12)),
            "average_rating": round(rng.uniform(1, 5), 1),
            "rating_number": rng.randint(1, 5000),
            "features": [" ".join(rng.choice(words) for _ in range(14)) for _ in range(4)],
            "description": [" ".join(rng.choice(words) for _ in range(25))],
            "price": None if k % 2 else round(rng.uniform(5, 80), 2),
            "images": [
                {"thumb": f"https://m.media-amazon.com/images/I/{k}{j}abcdefghij._AC_US40_.jpg",
                 "large": f"https://m.media-amazon.com/images/I/{k}{j}abcdefghij._AC_.jpg",
                 "variant": "MAIN" if j == 0 else f"PT0{j}",
                 "hi_res": None if j % 2 else f"https://m.media-amazon.com/images/I/{k}{j}abcdefghij._AC_UL1500_.jpg"}
                for j in range(3)
            ],
            "videos": [],
            "store": "Acme Apparel",
            "categories": [],
            "details": details,
            "parent_asin": "@ASIN@",
            "bought_together": None,
        }
        out.append(json.dumps(record))
    return out


def asin(i: int) -> str:
    return f"B{i:09d}"


def write_files(folder: Path, gb: float, n_reviews: int) -> tuple[Path, Path, int]:
    templates = meta_templates()
    mean = sum(len(t) for t in templates) / len(templates)
    n_meta = int(gb * 1e9 / (mean + 1))
    meta = folder / "meta_Synthetic.jsonl"
    with open(meta, "w") as fh:
        for start in range(0, n_meta, 20_000):
            fh.write("".join(templates[i % 8].replace("@ASIN@", asin(i)) + "\n"
                             for i in range(start, min(start + 20_000, n_meta))))
    review = json.dumps({"rating": 5.0, "title": "Nice", "text": "Fits well<br />Good fabric &amp; colour, would buy again.",
                         "images": [], "asin": "@A@", "parent_asin": "@A@", "user_id": "@U@", "timestamp": 1588687728923,
                         "helpful_vote": 0, "verified_purchase": True})
    reviews = folder / "Synthetic.jsonl"
    rng = random.Random(1)
    with open(reviews, "w") as fh:
        for start in range(0, n_reviews, 50_000):
            fh.write("".join(
                review.replace("@A@", asin(rng.randrange(int(n_meta * 1.03)))).replace("@U@", f"U{rng.randrange(n_reviews)}")
                + "\n" for _ in range(start, min(start + 50_000, n_reviews))))
    return reviews, meta, n_meta


def measure(reviews: str, meta: str, percent: float) -> None:
    """Child process: load, then print the figures as JSON."""
    from mmrec_core.data.amazon import load_local

    start = time.perf_counter()
    data = load_local(reviews, meta, sample_percent=percent)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({"seconds": round(seconds, 2), "peak_rss_mb": round(peak_kb / 1024, 1),
                      "reviews_kept": len(data.reviews), "items": len(data.items),
                      "items_with_meta": int(data.items["has_meta"].sum()), "meta_lines": data.report.meta_lines}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.4, help="size of the synthetic meta file")
    parser.add_argument("--reviews", type=int, default=2_500_000, help="review lines (Amazon_Fashion: 2.5 M)")
    parser.add_argument("--percent", type=float, default=1.0)
    parser.add_argument("--measure", nargs=2, metavar=("REVIEWS", "META"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(*args.measure, args.percent)
        return
    folder = Path(tempfile.mkdtemp(prefix="mmrec-bench-sampling-", dir="/tmp"))
    try:
        t0 = time.perf_counter()
        reviews, meta, n_meta = write_files(folder, args.gb, args.reviews)
        write_s = time.perf_counter() - t0
        child = subprocess.run([sys.executable, __file__, "--percent", str(args.percent), "--measure", str(reviews),
                                str(meta)], capture_output=True, text=True, check=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        print(json.dumps({
            "benchmark": "sampling_memory", "meta_gb": round(meta.stat().st_size / 1e9, 3), "meta_records": n_meta,
            "review_lines": args.reviews, "reviews_gb": round(reviews.stat().st_size / 1e9, 3),
            "sample_percent": args.percent, **figures, "target_peak_rss_mb": 1024, "write_seconds": round(write_s, 1),
            "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        }))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
