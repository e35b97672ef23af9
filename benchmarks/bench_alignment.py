"""The shared text-picture space fitted on a demo catalogue: held-out retrieval against chance, and its cost.

For each (size, encoder) the demo is loaded and embedded with ``<encoder>-aligned`` (the base encoder's vectors
from the cache when present; the towers always fitted afresh, in an empty alignments folder), and the
towers' figures are recorded: title-to-picture recall@10 and median rank on the held-out items, chance for
both, the pairs trained on, the epoch kept, and the seconds of the fit alone. Before aligning there is no
figure to set beside them: the base encoders' text and picture vectors differ in size, so a title cannot be
compared with a picture at all, and chance is the baseline.

Usage: ``python benchmarks/bench_alignment.py [--sizes small] [--encoders bundled,classic]``; prints one
JSON object and writes ``benchmarks/results/alignment.json``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench(size: str, encoder: str) -> dict:
    from mmrec_core import alignment
    from mmrec_core.config import DataConfig, EmbedConfig
    from mmrec_core.data.sources import load_dataset
    from mmrec_core.embeddings import embed_items

    ds = load_dataset(DataConfig(demo_size=size))
    start = time.perf_counter()
    raw = embed_items(ds, EmbedConfig(encoder=encoder))
    embed_s = time.perf_counter() - start
    shutil.rmtree(alignment.alignments_root(), ignore_errors=True)  # the fit itself, every time
    start = time.perf_counter()
    towers = alignment.align(raw.text, raw.image, raw.image_ok, raw.identity)
    return {"size": size, "encoder": f"{encoder}-aligned", "items": len(ds.items),
            "items_with_picture": int(raw.image_ok.sum()), "embed_base_s": round(embed_s, 2),
            "fit_s": round(time.perf_counter() - start, 2), "config": alignment.AlignConfig().__dict__,
            **{k: v for k, v in towers.summary().items() if k != "key"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small")
    parser.add_argument("--encoders", default="bundled,classic")
    args = parser.parse_args()
    if not os.environ.get("MMREC_CACHE_DIR"):
        os.environ["MMREC_CACHE_DIR"] = tempfile.mkdtemp(prefix="mmrec-bench-align-")
    rows = [bench(size, enc) for size in args.sizes.split(",") for enc in args.encoders.split(",")]
    from mmrec_core.bench import write_report

    write_report(rows, ROOT / "benchmarks" / "results" / "alignment.json")


if __name__ == "__main__":
    main()
