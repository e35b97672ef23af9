"""Seconds per training epoch of every trained ranker, on the demo presets, with the study's own budgets.

For each size the demo catalogue is loaded and embedded (classic encoder by default: no weights, the same
vector sizes on every machine), the study's split is made, and each trained ranker is fitted for
``--epochs`` epochs on the fit rows (train minus validation, as a selection trial) with the settings a study
of that size uses: the registry's defaults, plus ``config.SCALE_DEFAULTS`` on medium and large (batches of
1,024, every core). The time of an epoch is the training loop's own ``seconds`` (forward, backward, optimizer;
FREEDOM's edge pruning and the negatives' redraw included), the median over the epochs; graph construction
(the normalised user-item graph, FREEDOM's kNN item graphs) is timed apart as ``setup_seconds``.

Usage: ``python benchmarks/bench_epochs.py [--sizes small,medium] [--epochs 3] [--encoder classic] [--merge]``;
prints one JSON object and writes ``benchmarks/results/epochs.json`` (``--merge`` keeps the sizes already
in that file that this run does not measure).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("mlp-bpr", "bpr-mf", "vbpr", "lightgcn", "freedom")


def bench_size(size: str, encoder: str, epochs: int, models: tuple[str, ...], fusion: str) -> dict:
    from mmrec_core.cli import default_study_config
    from mmrec_core.data.interactions import ranking_data
    from mmrec_core.embeddings import fuse
    from mmrec_core.models.registry import RANKERS, create_ranker
    from mmrec_core.ranking import model_train_config
    from mmrec_core.study import embed_catalogue, load_data, prepare_interactions

    config = default_study_config(size=size)
    config = dataclasses.replace(config, embed=dataclasses.replace(config.embed, encoder=encoder))
    dataset = load_data(config)
    data = prepare_interactions(dataset, config)
    fused = fuse(embed_catalogue(dataset, config), fusion)
    out = {"users": data.inter.n_users, "items": data.inter.n_items, "fusion": fusion, "models": {}}
    for name in models:
        content = RANKERS[name].needs_features
        rd = ranking_data(
            data.inter, data.split.for_validation(), fused.features if content else None,
            fused.has_features if content else None, max_pairs_per_user=config.split.max_pairs_per_user,
            seed=config.split.seed, modalities=fused.modalities if content else None,
        )  # fmt: skip
        cfg = dataclasses.replace(model_train_config(name, config.train, 42), epochs=epochs)
        model = create_ranker(name, cfg)
        start = time.perf_counter()
        model.fit(rd)
        total = time.perf_counter() - start
        seconds = [h["seconds"] for h in model.history]
        out["models"][name] = {
            "epoch_seconds": statistics.median(seconds), "setup_seconds": max(0.0, total - sum(seconds)),
            "batch_size": cfg.batch_size, "threads": cfg.threads, "epochs": len(seconds),
            "rows_per_epoch": int(rd.train_labels.astype(bool).sum()) if name != "mlp-bpr" else len(rd.pair_users),
        }  # fmt: skip
        print(f"{size} {name}: {out['models'][name]['epoch_seconds']:.2f} s an epoch", flush=True)
    return out


def main() -> None:
    from mmrec_core.bench import machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small,medium")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--encoder", default="classic")
    parser.add_argument("--fusion", default="concat")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "epochs.json"))
    parser.add_argument("--merge", action="store_true", help="keep the other sizes already in --out")
    args = parser.parse_args()
    result = {"machine": machine(), "encoder": args.encoder, "sizes": {}}
    if args.merge and Path(args.out).exists():
        result["sizes"] = json.loads(Path(args.out).read_text())["sizes"]
    for size in args.sizes.split(","):
        result["sizes"][size] = bench_size(size, args.encoder, args.epochs, tuple(args.models.split(",")), args.fusion)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
