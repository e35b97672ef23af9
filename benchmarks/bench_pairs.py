"""Seconds to split 1 M interactions (Study A's per-user random split) and build Study A's train and test pairs.

Synthetic data: 100 K users, 50 K items with a long-tailed popularity, ratings skewed towards 5 as in Amazon
data. Prints one JSON line. Usage: ``python benchmarks/bench_pairs.py [--n 1000000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a plain script from anywhere

from mmrec_core.config import SplitConfig
from mmrec_core.data.interactions import Interactions, label, make_pairs, split


def synthetic(n: int, n_users: int, n_items: int, seed: int = 0) -> Interactions:
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n)
    # item popularity ~ 1 / rank^0.8, a long tail like real catalogues
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.8
    items = rng.choice(n_items, n, p=weights / weights.sum())
    ratings = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], n, p=[0.1, 0.06, 0.08, 0.13, 0.63]).astype(np.float32)
    return Interactions(
        user_ids=np.array([f"u{i}" for i in range(n_users)]),
        item_ids=np.array([f"i{i}" for i in range(n_items)]),
        users=users.astype(np.int64),
        items=items.astype(np.int64),
        ratings=ratings,
        timestamps=rng.integers(1_500_000_000_000, 1_700_000_000_000, n),
        labels=label(ratings),
    )


def machine() -> dict[str, object]:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": cpus,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "system": platform.system(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    inter = synthetic(args.n, args.users, args.items)
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        s = split(inter, SplitConfig())
        t1 = time.perf_counter()
        train_pairs = make_pairs(inter, s.train, seed=42)
        test_pairs = make_pairs(inter, s.test, seed=42)
        t2 = time.perf_counter()
        run = {"split_s": t1 - t0, "pairs_s": t2 - t1, "seconds": t2 - t0}
        best = run if not best or run["seconds"] < best["seconds"] else best
    print(
        json.dumps(
            {
                "bench": "split+pairs",
                "interactions": args.n,
                "users": args.users,
                "items": args.items,
                "train_rows": len(s.train),
                "test_rows": len(s.test),
                "train_pairs": len(train_pairs),
                "test_pairs": len(test_pairs),
                **{k: round(v, 3) for k, v in best.items()},
                "repeat": args.repeat,
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
