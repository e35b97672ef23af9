"""``python -m mmrec_core``: headless runs of what the dashboard does, and the benchmarks.

Subcommands: ``demo-data``, ``embed``, ``recommend``, ``study``, ``bench train|rank|all``, ``cache info|clear``.
A user error (bad config, missing file, unavailable encoder or data) ends with exit code 2 and one
line on stderr, never a traceback; a study in which any requested job failed or was skipped writes what
it finished, lists every failure in its summary and ``results.json`` ``errors``, and exits with 3.
Progress goes to tqdm bars on a terminal and to throttled log lines otherwise (a log file, CI), logs to
stderr, results to stdout. Output piped into ``head`` that closes early ends the command quietly (exit
code 141, as a shell reports SIGPIPE).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmrec_core.config import RETRIEVAL_ENGINES
from mmrec_core.console import TqdmProgress, configure_logging

log = logging.getLogger("mmrec.cli")

EXIT_USER_ERROR = 2
EXIT_JOBS_FAILED = 3  # the study ran, but a requested job failed or was skipped (results.json "errors")
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away


class UserError(Exception):
    """An error the user can fix (message shown as is, exit code 2)."""


# --- commands -----------------------------------------------------------------------------------------


def cmd_demo_data(args: argparse.Namespace) -> int:
    from mmrec_core.config import DataConfig
    from mmrec_core.data.demo import ensure_demo
    from mmrec_core.data.sources import load_dataset

    _check_demo_args(args)
    progress = TqdmProgress()
    folder = ensure_demo(args.size, seed=args.seed, variant=args.variant, progress=progress)
    dataset = load_dataset(DataConfig(demo_size=args.size, demo_seed=args.seed, demo_variant=args.variant))
    progress.close()
    print(folder)
    counts = ", ".join(f"{k} {_num(v)}" for k, v in dataset.summary().items())
    print(counts)
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from mmrec_core.config import EmbedConfig, ImageConfig, validate
    from mmrec_core.data.sources import load_dataset
    from mmrec_core.embeddings import embed_items, fuse

    if args.engine == "ray":
        return _embed_ray(args)
    if args.address or args.actors or args.out:
        raise UserError("--address, --actors and --out go with --engine ray")
    data = _data_config(args)
    _check_encoder(args.encoder, args.fusion)
    embed = EmbedConfig(encoder=args.encoder, checkpoint=args.checkpoint, fusion=args.fusion,
                        batch_size=args.batch_size, device=args.device)
    validate(embed, prefix="embed.")  # batch size, device: the same rules as a config file
    progress = TqdmProgress()
    start = time.perf_counter()
    dataset = load_dataset(data, progress=progress)
    emb = embed_items(dataset, embed, ImageConfig(), progress=progress)
    fused = fuse(emb, args.fusion)
    progress.close()
    seconds = time.perf_counter() - start
    hits = ", ".join(f"{k} {v}" for k, v in emb.cache_hits.items())
    print(f"{len(emb.item_ids)} items, from cache: {hits}, {seconds:.2f} s "
          f"(encoder {emb.encoder}, fusion {args.fusion} -> {fused.features.shape[1]}-d, "
          f"missing images: {int((~emb.image_ok).sum())})")
    if emb.missing_reasons:
        print("missing images by reason: " + ", ".join(f"{k} {v}" for k, v in emb.missing_reasons.items()))
    if emb.alignment is not None:
        a = emb.alignment
        print(f"shared space fitted on {a.trained_on} title-picture pairs ({a.epochs} epochs): on {a.held_out} held-out "
              f"items title -> picture recall@10 {a.recall_at_10:.3f} (chance {a.chance_recall_at_10:.3f}), median "
              f"rank {a.median_rank:.0f} (chance {a.chance_median_rank:.1f})")
    return 0


def _data_config(args: argparse.Namespace) -> Any:
    """The demo catalogue (``--size``, ``--seed``, ``--variant``) or local files (``--reviews`` and ``--meta``)."""
    from mmrec_core.config import DataConfig

    if bool(args.reviews) != bool(args.meta):
        raise UserError("--reviews and --meta go together (both local files)")
    if args.reviews:
        _require_file(args.reviews, "--reviews")
        _require_file(args.meta, "--meta")
        return DataConfig(source="local", reviews_path=args.reviews, meta_path=args.meta)
    _check_demo_args(args)
    return DataConfig(demo_size=args.size, demo_seed=args.seed, demo_variant=args.variant)


def cmd_recommend(args: argparse.Namespace) -> int:
    """``recommend --text``: a sentence as a cold-start user, ranked in the encoder's shared space."""
    from mmrec_core import preferences
    from mmrec_core.config import EmbedConfig, ImageConfig, validate
    from mmrec_core.data.sources import load_dataset
    from mmrec_core.embeddings import embed_items

    if args.k < 1:
        raise UserError("-k must be at least 1")
    if not 0.0 <= args.history_weight <= 1.0:
        raise UserError("--history-weight must be between 0 and 1")
    if args.history_weight > 0 and not args.user:
        raise UserError("--history-weight blends a user's history: name the user with --user")
    if preferences.parse_preference(args.text).empty:
        raise UserError(preferences.NO_WORDS)
    data = _data_config(args)
    _check_encoder(args.encoder, "concat")
    from mmrec_core.encoders.registry import ENCODERS

    if not ENCODERS[args.encoder].shared_space:
        raise UserError(f"{args.encoder} has two spaces, one for titles and one for pictures; "
                        + preferences.NO_SHARED_SPACE.replace("on the Embeddings page", "with --encoder"))
    embed = EmbedConfig(encoder=args.encoder, checkpoint=args.checkpoint, batch_size=args.batch_size,
                        device=args.device)
    validate(embed, prefix="embed.")
    progress = TqdmProgress()
    try:
        dataset = load_dataset(data, progress=progress)
        emb = embed_items(dataset, embed, ImageConfig(), progress=progress)
    finally:
        progress.close()
    try:
        found = preferences.recommend_from_words(dataset, emb, embed, args.text, args.k, user_id=args.user,
                                                 history_weight=args.history_weight, against=args.against)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    print(f"read as {found.preference.describe()}"
          + (f"; blended with {found.history_items} liked items of {args.user} (weight {args.history_weight:g})"
             if found.history_items else ""))
    titles = dataset.items["title"].astype(str).to_numpy()
    ids = dataset.items["item_id"].astype(str).to_numpy()
    for rank, (row, score) in enumerate(zip(found.items, found.scores, strict=True), start=1):
        print(f"{rank:>3}  {score:+.3f}  {ids[row]}  {titles[row]}")
    return 0


def _embed_ray(args: argparse.Namespace) -> int:
    """``embed --engine ray``: every record of the meta file (or the demo's) on Ray, into Parquet and the cache."""
    from mmrec_core.config import EmbedConfig, ImageConfig, validate

    if args.meta:
        _require_file(args.meta, "--meta")
        meta = Path(args.meta)
    else:
        from mmrec_core.data.demo import ensure_demo

        _check_demo_args(args)
        meta = Path(ensure_demo(args.size, seed=args.seed, variant=args.variant)) / "meta.jsonl.gz"
    _check_encoder(args.encoder, args.fusion)
    embed = EmbedConfig(encoder=args.encoder, checkpoint=args.checkpoint, fusion=args.fusion,
                        batch_size=args.batch_size, device=args.device)
    validate(embed, prefix="embed.")
    if args.actors is not None and args.actors < 1:
        raise UserError("--actors must be at least 1")

    from mmrec_core import distributed

    distributed.init_ray(args.address)
    progress = TqdmProgress()
    try:
        result = distributed.embed_catalogue(meta, embed, ImageConfig(), out_dir=args.out, actors=args.actors,
                                             progress=progress)
    finally:
        progress.close()
    print(f"{result.items} items on {result.actors} {result.device} actor(s) in {result.seconds:.2f} s "
          f"({result.items_per_s:.1f} items/s; encoder {result.encoder}, {result.malformed} malformed records, "
          f"missing images: {sum(result.missing_reasons.values())})")
    if result.missing_reasons:
        print("missing images by reason: " + ", ".join(f"{k} {v}" for k, v in result.missing_reasons.items()))
    cached = ", ".join(f"{k} {v}" for k, v in result.cached.items()) or "nothing new"
    print(f"wrote {result.out_dir} (Parquet + manifest.json); embedding cache gained: {cached}")
    return 0


def cmd_study(args: argparse.Namespace) -> int:
    from mmrec_core.config import save_config

    if args.write_default:
        path = save_config(default_study_config(args.preset, args.size), args.write_default)
        print(path)
        return 0
    if not args.config:
        raise UserError("study needs --config FILE (write one with --write-default FILE)")
    config = read_study_config(args.config)
    if args.epochs is not None or args.seeds:
        config = _override(config, epochs=args.epochs, seeds=args.seeds)

    from mmrec_core.results import default_run_dir
    from mmrec_core.study import run_study, validate_config

    validate_config(config)
    out = Path(args.out) if args.out else default_run_dir(config.name)
    progress = TqdmProgress()
    start = time.perf_counter()
    try:
        result = run_study(config, progress=progress, out_dir=out, store=not args.retrain)
    finally:
        progress.close()
    seconds = time.perf_counter() - start
    path = result.to_json(out)
    print_summary(result)
    print(f"wrote {path} in {seconds:.1f} s")
    return EXIT_JOBS_FAILED if result.errors else 0


def print_summary(result: Any) -> None:
    """The closing summary of a study: results, protocol, selected settings, classifier, every failure."""
    from mmrec_core.results import markdown_table

    if not result.results.empty:
        print(result.to_markdown())
        print(f"protocol: {result.protocol}")
    chosen = result.selection_table()
    if not chosen.empty:
        print("selected on the validation split (the test set was read once per selected model):")
        print(markdown_table(chosen))
    for modality, res in result.classifier.items():
        if "accuracy" in res:
            print(f"classifier {modality}: accuracy {res['accuracy']:.4f}, macro-F1 {res.get('macro_f1', float('nan')):.4f}")
    if result.classifier_info.get("validation"):
        print(f"classifier: {result.classifier_info['validation']}")
    if result.errors:
        print(f"{len(result.errors)} requested job(s) failed or were skipped (exit code {EXIT_JOBS_FAILED}):")
        for err in result.errors:
            print(f"  {err['step']}: {err['error']}")


def cmd_bench(args: argparse.Namespace) -> int:
    from mmrec_core import bench

    if args.bench == "train":
        out = bench.bench_train(pairs=args.pairs, dim=args.dim, device=args.device)
    elif args.bench == "rank":
        out = bench.bench_rank(
            n_users=args.users, n_items=args.items, dim=args.dim, k=args.k, engines=tuple(args.engines),
            sample_users=args.sample_users,
        )  # fmt: skip
    else:
        out = bench_all(full=args.full, device=args.device)
    print(json.dumps(out, default=_json_default))
    return 0


def bench_all(full: bool = False, device: str = "auto") -> dict[str, Any]:
    """The README's figures: training throughput (D=512) and ranking time; quick sizes unless ``full``."""
    from mmrec_core import bench

    pairs, n = (200_000, 100_000) if full else (20_000, 10_000)
    log.info("bench all (%s sizes): train %d pairs, rank %d x %d", "full" if full else "quick", pairs, n, n)
    out: dict[str, Any] = {"sizes": "full" if full else "quick"}
    out["train"] = bench.bench_train(pairs=pairs, dim=512, device=device)
    out["rank"] = bench.bench_rank(n_users=n, n_items=n, dim=64, k=20, engines=RETRIEVAL_ENGINES)
    return out


def cmd_cache(args: argparse.Namespace) -> int:
    from mmrec_core.cache import CACHE_PARTS, CacheError, cache_info, clear_part, part_info
    from mmrec_core.config import cache_dir

    try:
        if args.action == "info":
            print(f"root {cache_dir()}")
            for name in CACHE_PARTS:
                try:
                    info = part_info(name)
                except CacheError as exc:  # a part that is a link out of the root: shown, never walked
                    print(f"{name}: {exc}")
                    continue
                print(f"{name} {info['path']}: {info['files']} files, {_bytes(info['bytes'])}")
                if name == "embeddings":
                    for store in cache_info(Path(info["path"]))["stores"]:
                        print(f"  {store['encoder']} {store['modality']}: {store['vectors']} vectors, "
                              f"{_bytes(store['bytes'])}")
            return 0
        what = args.what or ["embeddings"]
        parts = list(CACHE_PARTS) if "all" in what else list(dict.fromkeys(what))
        for name in parts:
            freed = clear_part(name)
            print(f"cleared {name} ({cache_dir() / name}): {_bytes(freed)} freed")
    except CacheError as exc:
        raise UserError(str(exc)) from None
    return 0


# --- parser -------------------------------------------------------------------------------------------

# what ``cache clear --what`` takes: mmrec_core.cache.CACHE_PARTS and "all" (spelled out: numpy stays unimported)
CACHE_WHAT = ("embeddings", "alignments", "images", "demo", "uploads", "runs", "trained", "all")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mmrec_core", description="mmrec: headless runs of what the dashboard does, and the benchmarks."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo-data", help="generate (once) the demo catalogue and print its folder and counts")
    _demo_args(p)
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("embed", help="embed the items of the demo catalogue or of local files (cached)")
    _demo_args(p)
    p.add_argument("--reviews", help="local reviews file (.jsonl / .jsonl.gz / parquet) instead of the demo")
    p.add_argument("--meta", help="local meta file, with --reviews")
    p.add_argument("--encoder", default="bundled", help="clip, bert-resnet, bundled, classic, or bundled-aligned / classic-aligned (one space fitted on the catalogue, for mean fusion; default bundled)")
    p.add_argument("--checkpoint", default=None, help="model id or local folder (default: the encoder's)")
    p.add_argument("--fusion", default="concat", help="mean, concat, text or image (default concat)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="auto")
    p.add_argument("--engine", default="local", choices=("local", "ray"),
                   help="local: this process (default); ray: a Ray Data job over every meta record (--meta alone)")
    p.add_argument("--address", default=None,
                   help="with --engine ray: the cluster (auto, ray://head:10001); default a local Ray on this machine")
    p.add_argument("--actors", type=int, default=None,
                   help="with --engine ray: encoder actors (default one per GPU, else one per CPU)")
    p.add_argument("--out", default=None, help="with --engine ray: folder for the Parquet (default under the cache)")
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser("recommend", help="recommend from words: a sentence ranks the catalogue in a shared space")
    _demo_args(p)
    p.add_argument("--text", required=True, help='what the user likes, e.g. "striped purple handbags, no checks"')
    p.add_argument("--reviews", help="local reviews file instead of the demo")
    p.add_argument("--meta", help="local meta file, with --reviews")
    p.add_argument("--encoder", default="bundled-aligned",
                   help="an encoder with one space for words and pictures: bundled-aligned (default), classic-aligned or clip")
    p.add_argument("--checkpoint", default=None, help="model id or local folder (default: the encoder's)")
    p.add_argument("--against", default="mean", choices=("mean", "image", "text"),
                   help="score the words against the fused vector (default), the pictures or the titles")
    p.add_argument("-k", type=int, default=10, help="how many products (default 10)")
    p.add_argument("--user", default=None, help="a user id: their reviewed items are left out")
    p.add_argument("--history-weight", type=float, default=0.0,
                   help="with --user: 0 = the words alone (default), 1 = the user's liked items alone")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_recommend)

    p = sub.add_parser("study", help="run a study config (ablation + classifier) and write results.json")
    p.add_argument("--config", help="StudyConfig JSON (see --write-default)")
    p.add_argument("--out", help="output folder (default: <cache>/runs/<name>-<time>)")
    p.add_argument("--write-default", metavar="FILE", help="write the default config to FILE and exit")
    p.add_argument("--size", default="small",
                   help="demo size for --write-default (default small; medium and large get a budget for scale)")
    p.add_argument("--preset", default="ablation", choices=PRESETS, help="what --write-default writes")
    p.add_argument("--epochs", type=int, default=None, help="override train.epochs")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="override seeds")
    p.add_argument("--retrain", action="store_true",
                   help="train again even when this config ran before on the same data and embeddings (by this "
                        "command or the dashboard: <cache>/trained)")
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("bench", help="benchmarks (one JSON object on stdout)")
    bsub = p.add_subparsers(dest="bench", required=True, metavar="WHAT")
    b = bsub.add_parser("train", help="batched BPR-MLP training vs the per-pair loop of the original study")
    b.add_argument("--pairs", type=int, default=200_000)
    b.add_argument("--dim", type=int, default=512)
    b.add_argument("--device", default="auto", help="auto (cuda when present), cpu or cuda")
    b = bsub.add_parser("rank", help="seconds to rank all items for every user (top-k)")
    b.add_argument("--users", type=int, default=100_000)
    b.add_argument("--items", type=int, default=100_000)
    b.add_argument("--dim", type=int, default=64)
    b.add_argument("--k", type=int, default=20)
    b.add_argument(
        "--engines", nargs="+", choices=RETRIEVAL_ENGINES, default=list(RETRIEVAL_ENGINES), metavar="ENGINE",
        help=f"retrieval engines to time ({', '.join(RETRIEVAL_ENGINES)}; exact is always timed: the others' "
        "recall and speed-up are measured against it)",
    )  # fmt: skip
    b.add_argument("--sample-users", type=int, default=10_000, help="users each FAISS engine searches")
    b = bsub.add_parser("all", help="the benchmark suite (quick sizes unless --full)")
    b.add_argument("--full", action="store_true", help="the README's sizes (minutes)")
    b.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("cache", help="see or clear the caches (embeddings, pictures, demo data, uploads, runs)")
    p.add_argument("action", choices=("info", "clear"), help="info: sizes of every part; clear: delete parts")
    p.add_argument("--what", action="append", choices=CACHE_WHAT, metavar="PART",
                   help="with clear: " + ", ".join(CACHE_WHAT) + " (repeatable; default embeddings)")
    p.set_defaults(func=cmd_cache)
    return parser


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", default="small", help="demo catalogue size: tiny, small, medium, large")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--variant", default="default", help="default or image-only")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m mmrec_core`` and the ``mmrec`` script; returns the exit code."""
    try:
        code = _run(argv)
        sys.stdout.flush()  # inside the try: a closed pipe surfaces here, not at interpreter exit
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)  # --help is output too: it may meet a closed pipe
    configure_logging(args.verbose, args.quiet)
    try:
        return int(args.func(args) or 0)
    except _user_errors() as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _quiet_broken_pipe() -> int:
    """The reader of stdout went away (``| head``, ``| true``): nothing left to say, and no traceback.

    Python's documented recipe: point stdout at devnull so the flush at exit does not fail again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (tests)
        pass
    return EXIT_BROKEN_PIPE


# --- helpers ------------------------------------------------------------------------------------------


def read_study_config(path: str | Path) -> Any:
    """Load a StudyConfig JSON; a missing file, bad JSON or an unknown field becomes a :class:`UserError`."""
    from mmrec_core.config import StudyConfig, load_config

    path = Path(path)
    _require_file(path, "config")
    try:
        return load_config(StudyConfig, path)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise UserError(f"bad config {path}: {exc}") from None


PRESETS = ("ablation", "study-a", "study-b", "study-b-original")


def default_study_config(preset: str = "ablation", size: str = "small") -> Any:
    """A ready-to-run StudyConfig on the demo catalogue with the bundled (offline) encoder.

    ``ablation``: fusions concat/text/image, every ranker selected on validation, the classifier. ``study-a``:
    Study A as run (dot and the MLP ranker, 5 epochs of Adam 1e-3 one pair at a time, no selection; ``mean``
    fusion needs CLIP, so concat/text here). ``study-b``: the rating classifier alone (50 epochs, patience 12,
    2,000 images), early-stopped on 10 % of train. ``study-b-original``: the same, early-stopped on the test
    split as the original notebook did. The ablation of ``medium`` and ``large`` takes the budget of
    :data:`mmrec_core.config.SCALE_DEFAULTS`.
    """
    import dataclasses

    from mmrec_core.config import SCALE_DEFAULTS, ClassifierConfig, DataConfig, StudyConfig, TrainConfig

    base = StudyConfig(name=f"demo-{size}", data=DataConfig(demo_size=size))
    if preset == "study-a":
        return dataclasses.replace(base, name=f"study-a-demo-{size}", fusions=("concat", "text"),
                                   models=("dot", "mlp-bpr"), train=TrainConfig(epochs=5, batch_size=1),
                                   classifier=None, selection=None)
    if preset in ("study-b", "study-b-original"):
        validation = "test" if preset == "study-b-original" else "split"
        return dataclasses.replace(base, name=f"{preset}-demo-{size}", fusions=(), models=(),
                                   classifier=ClassifierConfig(validation=validation))
    return dataclasses.replace(base, **SCALE_DEFAULTS.get(size, {}))


def _override(config: Any, *, epochs: int | None, seeds: list[int] | None) -> Any:
    import dataclasses

    if epochs is not None:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=epochs))
    if seeds:
        config = dataclasses.replace(config, seeds=tuple(seeds))
    return config


def _require_file(path: str | Path, what: str) -> None:
    if not Path(path).is_file():
        raise UserError(f"{what}: no such file {path}")


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exception types that mean "the user can fix this"; imported lazily (modules may be absent)."""
    import importlib

    found: list[type[BaseException]] = [UserError, FileNotFoundError]
    for module, name in (
        ("mmrec_core.config", "ConfigError"),
        ("mmrec_core.encoders.registry", "EncoderUnavailable"),
        ("mmrec_core.encoders.base", "EncoderUnavailable"),
        ("mmrec_core.data.amazon", "DataUnavailable"),
        ("mmrec_core.data.amazon", "NotJsonLines"),
        ("mmrec_core.study", "StudyConfigError"),
    ):
        try:
            cls = getattr(importlib.import_module(module), name, None)
        except ImportError:
            cls = None
        if isinstance(cls, type) and issubclass(cls, BaseException) and cls not in found:
            found.append(cls)
    return tuple(found)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def _check_demo_args(args: argparse.Namespace) -> None:
    from mmrec_core.data.demo import DEMO_SIZES, VARIANTS

    if args.size not in DEMO_SIZES:
        raise UserError(f"unknown demo size {args.size!r}; choose one of {list(DEMO_SIZES)}")
    if args.variant not in VARIANTS:
        raise UserError(f"unknown demo variant {args.variant!r}; choose one of {list(VARIANTS)}")


def _check_encoder(encoder: str, fusion: str) -> None:
    from mmrec_core.config import FUSIONS
    from mmrec_core.encoders.registry import ENCODERS

    if encoder not in ENCODERS:
        raise UserError(f"unknown encoder {encoder!r}; choose one of {list(ENCODERS)}")
    if fusion not in FUSIONS:
        raise UserError(f"unknown fusion {fusion!r}; choose one of {list(FUSIONS)}")
    if fusion == "mean" and not ENCODERS[encoder].shared_space:
        raise UserError(f"fusion 'mean' needs text and pictures in one space (clip); {encoder} has two: use concat")


def _num(v: Any) -> str:
    return f"{v:,.4g}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} GB"


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
