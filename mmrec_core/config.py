"""Stage configs (frozen dataclasses shared by the dashboard and the CLI) and the cache root.

Every stage takes one config; a run saves the configs beside the artifacts it produced, so a
dashboard session can be exported and re-run headless (``python -m mmrec_core study --config``).

Each class has a rule table right below it (bounds, allowed names; the type comes from the hint). A new
field gets its rule there, or ``tests/test_config.py`` says which one is missing. :func:`validate` checks a
config against them (``study.validate_config`` calls it before every run, so configs built in code are
checked too); :func:`from_dict` / :func:`parse_config` / :func:`load_config` check what they read.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mmrec_core.rules import FLAG, TEXT, ConfigError, Rule, check, integer, number, one_of, rules, show

T = TypeVar("T")

FUSIONS = ("mean", "concat", "text", "image")
SPLITS = ("per-user-random", "leave-last-out", "global-temporal")
SOURCES = ("demo", "local", "hub")
NEGATIVES = ("sampled", "explicit")
CLASS_WEIGHTS = ("balanced", "none")
CLASSIFIER_VALIDATION = ("test", "split")
RETRIEVAL_ENGINES = ("exact", "faiss-flat", "faiss-hnsw")
MAX_CONFIG_BYTES = 1_000_000  # a config is a few KB; anything this big is not one

# Shared rules (bounds are documented in the README's "Config limits").
SEED = integer(0, 2**32 - 1)
EPOCHS = integer(1, 10_000)
LR = number(0, 10, lo_open=True)
FRACTION = number(0, 1, lo_open=True, hi_open=True)
THREADS = integer(1, 1024)


def _device_problem(device: str) -> str | None:
    """Whether ``device`` can be used on this machine (torch is imported only for a named accelerator)."""
    if device in ("auto", "cpu"):
        return None
    import torch

    if device == "mps":
        ok = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
        return None if ok else 'is "mps" but this machine has no Apple GPU; use "auto" or "cpu"'
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(device.partition(":")[2] or 0)
    if index < count:
        return None
    have = f"it has {count} CUDA device(s)" if count else "this machine has no CUDA GPU"
    return f'is "{device}" but {have}; use "auto", "cpu" or "cuda"'


DEVICE = Rule(pattern=r"auto|cpu|mps|cuda(:[0-9]{1,2})?", machine=_device_problem)


def _demo_sizes() -> tuple[str, ...]:
    from mmrec_core.data.demo import DEMO_SIZES

    return tuple(DEMO_SIZES)


def _demo_variants() -> tuple[str, ...]:
    from mmrec_core.data.demo import VARIANTS

    return tuple(VARIANTS)


def _encoders() -> tuple[str, ...]:
    from mmrec_core.encoders.registry import ENCODERS

    return tuple(ENCODERS)


def _models() -> tuple[str, ...]:
    from mmrec_core.models.registry import RANKERS
    from mmrec_core.ranking import ORACLE

    return (*RANKERS, ORACLE)


def _modalities() -> tuple[str, ...]:
    from mmrec_core.rating import MODALITIES

    return tuple(MODALITIES)


def cache_dir() -> Path:
    """Root of every durable cache (demo catalogue, images, embeddings, runs).

    ``MMREC_CACHE_DIR`` overrides the default ``~/.cache/mmrec``; read on every call so tests can redirect it.
    """
    root = Path(os.environ.get("MMREC_CACHE_DIR") or Path.home() / ".cache" / "mmrec")
    root.mkdir(parents=True, exist_ok=True)
    return root


@dataclass(frozen=True)
class DataConfig:
    """Where the reviews and meta come from and how they are sampled.

    source: ``demo`` (embedded generator), ``local`` (files on disk) or ``hub`` (download the raw
    category files from Hugging Face, then read them as ``local``).
    """

    source: str = "demo"
    demo_size: str = "small"
    demo_seed: int = 0
    demo_variant: str = "default"  # "default" or "image-only" (tastes visible only in the pictures)
    category: str = "Amazon_Fashion"
    reviews_path: str | None = None
    meta_path: str | None = None
    sample_percent: float | None = None  # Study A: a percentage sample of the reviews
    first_n: int | None = None  # Study B: the first N review lines
    meta_first_n: int | None = None  # Study B: the first N meta lines
    sample_seed: int = 42


rules(
    DataConfig,
    source=one_of("data source", SOURCES),
    demo_size=one_of("demo size", _demo_sizes),
    demo_seed=SEED,
    demo_variant=one_of("demo variant", _demo_variants),
    category=Rule(pattern=r"[A-Za-z0-9_]{1,100}"),  # a file name on the hub, so never a path
    reviews_path=TEXT,
    meta_path=TEXT,
    sample_percent=number(0, 100, lo_open=True),
    first_n=integer(1, 10**10),
    meta_first_n=integer(1, 10**10),
    sample_seed=SEED,
)

@dataclass(frozen=True)
class ImageConfig:
    """How item pictures are fetched and guarded."""

    timeout_s: float = 3.0
    max_bytes: int = 8_000_000
    max_pixels: int = 40_000_000
    workers: int = 16
    allow_private: bool = False  # allow URLs that resolve to loopback/private/link-local addresses
    offline_after: int = 5  # consecutive network-level failures before the rest are marked missing at once


rules(
    ImageConfig,
    timeout_s=number(0, 300, lo_open=True),
    max_bytes=integer(1, 1_000_000_000),
    max_pixels=integer(1, 1_000_000_000),
    workers=integer(1, 256),
    allow_private=FLAG,
    offline_after=integer(1, 1_000_000),
)

@dataclass(frozen=True)
class SplitConfig:
    """Labels, filtering, the split protocol and Study A's pair rule."""

    protocol: str = "per-user-random"  # one of SPLITS
    min_interactions: int = 5
    train_frac: float = 0.8
    seed: int = 42
    kcore: int = 0  # 0 = no k-core filtering
    positive_threshold: float = 4.0
    max_pairs_per_user: int = 5
    global_test_frac: float = 0.2  # global-temporal: the latest share of interactions is test
    # Validation cut from train by the protocol's own rule (per-user random: this share of each user's train
    # rows; leave-last-out: each user's last train row; global temporal: the latest share of train). 0 = none.
    validation_frac: float = 0.2


rules(
    SplitConfig,
    protocol=one_of("split protocol", SPLITS),
    min_interactions=integer(0, 1_000_000),
    train_frac=FRACTION,
    seed=SEED,
    kcore=integer(0, 1_000_000),
    positive_threshold=number(0, 5),  # ratings are 1..5 stars
    max_pairs_per_user=integer(1, 1_000_000),
    global_test_frac=FRACTION,
    validation_frac=number(0, 1, hi_open=True),  # 0 = no validation rows (then no model selection)
)

@dataclass(frozen=True)
class EmbedConfig:
    """Which encoder embeds the items (title text + picture) and how the two are fused."""

    encoder: str = "bundled"
    checkpoint: str | None = None  # model id or local folder; None = the encoder's default
    image_checkpoint: str | None = None  # second model where the encoder has two (bert-resnet)
    fusion: str = "concat"  # one of FUSIONS
    batch_size: int = 32
    device: str = "auto"  # "auto" picks cuda when present


rules(
    EmbedConfig,
    encoder=one_of("encoder", _encoders),
    checkpoint=TEXT,
    image_checkpoint=TEXT,
    fusion=one_of("fusion", FUSIONS),
    batch_size=integer(1, 65_536),
    device=DEVICE,
)

@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings shared by every trained ranker (Study A: Adam 1e-3, 5 epochs)."""

    epochs: int = 5
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    factors: int = 64  # bpr-mf / vbpr / lightgcn / freedom latent size
    hidden: int = 128  # mlp-bpr hidden layer
    layers: int = 2  # lightgcn / freedom: propagation layers on the user-item graph (0 = matrix factorisation)
    knn: int = 10  # freedom: neighbours of each item in each modality's item-item graph
    edge_dropout: float = 0.8  # freedom: share of user-item edges pruned each epoch (low-degree edges kept more)
    align_weight: float = 1e-4  # freedom: weight of the BPR terms that align users with each modality's vectors
    image_weight: float = 0.1  # freedom: the picture graph's share of the fused item-item graph
    negatives: str = "sampled"  # bpr-mf / vbpr: "sampled" (unobserved items) or "explicit" (study pairs)
    seed: int = 42
    device: str = "auto"
    # CPU threads while training. The rankers' steps are small: one thread is as fast on an idle machine
    # and does not stall when other processes share the cores (two spinning OpenMP threads made the
    # learning-floor runs 30x slower under load). None = torch's default.
    threads: int | None = 1
    early_stopping_patience: int | None = None  # on the validation metric, None = off


rules(
    TrainConfig,
    epochs=EPOCHS,
    batch_size=integer(1, 1_000_000),
    lr=LR,
    weight_decay=number(0, 10),
    factors=integer(1, 16_384),
    hidden=integer(1, 16_384),
    layers=integer(0, 16),
    knn=integer(1, 1_000),
    edge_dropout=number(0, 1, hi_open=True),
    align_weight=number(0, 100),
    image_weight=number(0, 1),
    negatives=one_of("negatives mode", NEGATIVES),
    seed=SEED,
    device=DEVICE,
    threads=THREADS,
    early_stopping_patience=integer(1, 10_000),
)

@dataclass(frozen=True)
class EvalConfig:
    """Ranking evaluation protocol."""

    ks: tuple[int, ...] = (10, 20)
    chunk_size: int = 2048
    exclude_seen: bool = True
    # Also rank the *test* set after every epoch of a final fit, for teaching curves only (nothing is selected
    # on it). Off by default: the test set is then read once per selected model.
    monitor_epochs: bool = False
    # Rank at most this many test users, a seeded sample (the same users for every model of a study);
    # None ranks them all. For catalogues where ranking every user for every model would take too long.
    max_users: int | None = None


rules(
    EvalConfig,
    ks=integer(1, 10_000, min_items=1, max_items=20, unique=True),
    chunk_size=integer(1, 10_000_000),
    exclude_seen=FLAG,
    monitor_epochs=FLAG,
    max_users=integer(1, 100_000_000),
)


@dataclass(frozen=True)
class RetrievalConfig:
    """Top-K of inner products against an item matrix (:mod:`mmrec_core.retrieval`).

    ``exact`` ranks every item in blocks of ``block`` queries x ``item_block`` items (memory ~ their product);
    ``faiss-flat`` is FAISS's exact ``IndexFlatIP``; ``faiss-hnsw`` an HNSW graph (``hnsw_m`` links per node,
    ``ef_construction`` / ``ef_search`` candidate lists when building / searching: larger is slower and
    more accurate; the default ``ef_search`` gives recall@20 >= 0.99 on ``bench rank``'s random factors).
    """

    engine: str = "exact"
    hnsw_m: int = 32
    ef_search: int = 512  # recall@20 0.995 on isotropic random 64-d factors (the hardest case measured)
    ef_construction: int = 100
    # 512 x 131,072 scores (256 MB at most): few large multiplies; on the shared 2-core machine small tiles
    # lost more to waking threads than they gained in cache (10 K x 100 K: 4.7-5.2 CPU-s vs 8.5-9.8 at 256 x 32 K)
    block: int = 512
    item_block: int = 131_072


rules(
    RetrievalConfig,
    engine=one_of("retrieval engine", RETRIEVAL_ENGINES),
    hnsw_m=integer(2, 1024),
    ef_search=integer(1, 1_000_000),
    ef_construction=integer(1, 1_000_000),
    block=integer(1, 10_000_000),
    item_block=integer(1, 100_000_000),
)


@dataclass(frozen=True)
class SelectionConfig:
    """Model selection on the validation split, for every trained ranker.

    Each trial fits on train minus validation, ranks the validation rows after every epoch and stops after
    ``patience`` epochs without improvement of ``metric`` (best epoch restored). A coordinate search over the
    model's sensitive settings (``models.registry.SEARCH_SPACES``) spends at most ``trials`` fits per
    (setting, model); fields a config sets explicitly are not searched. With ``refit`` the chosen settings
    are then trained on all train rows (validation included) for the chosen number of epochs. Settings are
    chosen with the first seed; every seed trains with them.
    """

    metric: str = "ndcg@10"  # recall|ndcg|hr|precision|mrr@K or auc, on the validation rows
    max_epochs: int = 200
    patience: int = 10
    trials: int = 4  # budget per (setting, model); 1 = the model's defaults with early stopping only
    refit: bool = True
    max_users: int | None = 20_000  # validation users ranked per epoch (a seeded sample beyond that)


rules(
    SelectionConfig,
    metric=Rule(pattern=r"(recall|ndcg|hr|precision|mrr)@[1-9][0-9]{0,3}|auc"),
    max_epochs=EPOCHS,
    patience=integer(1, 10_000),
    trials=integer(1, 100),
    refit=FLAG,
    max_users=integer(1, 100_000_000),
)

SELECTION_BUDGETS: dict[str, SelectionConfig | None] = {
    "full": SelectionConfig(),
    "quick": SelectionConfig(trials=1, patience=5, max_epochs=100),
    "off": None,
}
"""Named budgets offered by the dashboard (``off`` trains each model's fixed epochs, as Study A did)."""

# The default study of a larger catalogue (``study --write-default --size medium|large``). The small demo's
# budget (4 settings per model, every validation user ranked each epoch, batches of 256) would take hours on
# 100 K items on two cores. At scale each model keeps its registered settings and is early-stopped on a
# seeded sample of validation users, the best epoch's weights are kept (no refit on train + validation,
# as RecBole and MMRec do), the rankers take batches of 1,024 at Adam 3e-3 (4x fewer steps an epoch; on
# medium bpr-mf reached a higher validation NDCG, 0.096 against 0.063) on every core (a batch of 1,024 gains
# from a second thread), and on large a seeded sample of 5,000 test users is ranked, 512 at a time (with
# 10,000 users in chunks of 2,048 the large study took 21.8 minutes and peaked at 7.9 GB on two cores).
# The large study leaves out the graph models: each of their batches propagates the whole user-item graph,
# and a LightGCN epoch on large took 142 s on two cores (1.1 s on medium), so early stopping alone would add
# an hour or more per model; name them in ``models`` to run them. Every one is an ordinary config field,
# written into the config file.
SCALE_DEFAULTS: dict[str, dict[str, Any]] = {
    "medium": {
        "selection": SelectionConfig(trials=1, patience=5, max_epochs=100, refit=False, max_users=2_000),
        "train": TrainConfig(batch_size=1024, lr=3e-3, threads=None),
    },
    "large": {
        "selection": SelectionConfig(trials=1, patience=5, max_epochs=100, refit=False, max_users=2_000),
        "train": TrainConfig(batch_size=1024, lr=3e-3, threads=None),
        "eval": EvalConfig(max_users=5_000, chunk_size=512),
        "models": ("popularity", "dot", "mlp-bpr", "bpr-mf", "vbpr"),
    },
}


@dataclass(frozen=True)
class ClassifierConfig:
    """Study B: the rating classifier and its training schedule."""

    epochs: int = 50
    batch_size: int = 64
    lr: float = 1e-3
    patience: int = 12  # early stopping on validation loss, restoring the best weights
    lr_patience: int = 5
    lr_factor: float = 0.5
    min_lr: float = 1e-6
    class_weight: str = "balanced"  # or "none"
    test_size: float = 0.2
    seed: int = 42
    # "split": early stopping and the learning-rate schedule watch 10 % of train (stratified, seeded);
    # "test": they watch the test split, as the original notebook did (preset study-b-original).
    validation: str = "split"
    modalities: tuple[str, ...] = ("text+image", "text", "image")
    max_images: int | None = 2000  # the original capped images at 2,000
    device: str = "auto"
    threads: int | None = 1  # CPU threads while training (see TrainConfig.threads)


rules(
    ClassifierConfig,
    epochs=EPOCHS,
    batch_size=integer(1, 1_000_000),
    lr=LR,
    patience=integer(1, 10_000),
    lr_patience=integer(0, 10_000),
    lr_factor=number(0, 1, lo_open=True, hi_open=True),
    min_lr=number(0, 10),
    class_weight=one_of("class weight", CLASS_WEIGHTS),
    test_size=FRACTION,
    seed=SEED,
    validation=one_of("validation mode", CLASSIFIER_VALIDATION),
    modalities=one_of("classifier modality", _modalities, min_items=1, unique=True),
    max_images=integer(1, 100_000_000),
    device=DEVICE,
    threads=THREADS,
)

@dataclass(frozen=True)
class StudyConfig:
    """One whole run: data, split, encoder, fusions and models to compare, metrics, seeds."""

    name: str = "demo-study"
    data: DataConfig = field(default_factory=DataConfig)
    images: ImageConfig = field(default_factory=ImageConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    fusions: tuple[str, ...] = ("concat", "text", "image")
    models: tuple[str, ...] = ("popularity", "dot", "mlp-bpr", "bpr-mf", "vbpr", "lightgcn", "freedom")
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seeds: tuple[int, ...] = (42,)
    classifier: ClassifierConfig | None = field(default_factory=ClassifierConfig)
    selection: SelectionConfig | None = field(default_factory=SelectionConfig)  # None: fixed epochs, no search


rules(
    StudyConfig,
    name=Rule(pattern=r"[^\x00-\x1f]{1,200}"),  # any printable name; run folders sanitise it (results.py)
    data=Rule(), images=Rule(), split=Rule(), embed=Rule(), train=Rule(), eval=Rule(), classifier=Rule(),
    selection=Rule(),
    fusions=one_of("fusion", FUSIONS, unique=True),
    models=one_of("model", _models, unique=True),
    seeds=Rule(lo=0, hi=2**32 - 1, min_items=1, max_items=100, unique=True),
)

# --- (de)serialisation -------------------------------------------------------------------------------


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass; tuples become lists."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def differences(old: Any, new: Any, limit: int = 4, names: Callable[[str], str] | None = None) -> list[str]:
    """What changed from config ``old`` to ``new``, as ``"train.epochs 2 -> 40"`` lines (at most ``limit``,
    then ``"and N more"``): the dashboard says which settings a shown result was *not* made with, naming each
    field by ``names(path)`` (its control's label) when given."""
    name = names or (lambda path: path)

    def walk(a: Any, b: Any, path: str) -> Iterator[str]:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in dict.fromkeys([*a, *b]):
                if key != "name":
                    yield from walk(a.get(key), b.get(key), f"{path}{key}.")
        elif a != b:
            yield f"{name(path.rstrip('.'))} {_shown(a)} -> {_shown(b)}"

    lines = list(dict.fromkeys(walk(to_dict(old), to_dict(new), "")))  # two fields, one control: said once
    return lines[:limit] + ([f"and {len(lines) - limit} more"] if len(lines) > limit else [])


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "set"
    return ", ".join(map(str, value)) if isinstance(value, list) else "none" if value is None else str(value)


def from_dict(cls: type[T], data: dict[str, Any], *, _path: str = "") -> T:
    """Build ``cls`` from a dict, recursing into nested configs, and check every field (:func:`validate`).

    Lists become tuples; a string where a list belongs, a number where an object belongs and so on are
    refused, never coerced (``"text"`` is not ``['t', 'e', 'x', 't']``).

    Raises
    ------
    ConfigError
        One line naming the field: an unknown key (with the allowed ones), a wrong type, a value out of range.
    """
    if not isinstance(data, dict):
        where = _path.rstrip(".") or "the config"
        raise ConfigError(f"{where} must be a JSON object ({cls.__name__}), got {show(data)}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        where = f" in {_path.rstrip('.')}" if _path else ""
        raise ConfigError(f"unknown {cls.__name__} field(s) {unknown}{where}; allowed: {sorted(names)}")
    kwargs = {key: _coerce(hints[key], value, f"{_path}{key}") for key, value in data.items()}
    config = cls(**kwargs)
    if not _path:
        validate(config, environment=False)
    return config


def _coerce(hint: Any, value: Any, path: str) -> Any:
    """JSON value -> field value: nested dicts become configs and lists tuples; anything else is left for
    :func:`validate` to judge (so a wrong type is reported, not silently converted)."""
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    for option in typing.get_args(hint) if union else (hint,):
        if dataclasses.is_dataclass(option) and isinstance(value, dict):
            return from_dict(option, value, _path=f"{path}.")
        if (option is tuple or typing.get_origin(option) is tuple) and isinstance(value, list):
            return tuple(value)
    return value


def validate(config: Any, *, environment: bool = True, prefix: str = "") -> None:
    """Check every field of a config against its type hint and rule (the tables below each class).

    The one place configs are checked: :func:`from_dict` (CLI ``--config``, dashboard uploads) and
    ``study.validate_config`` (every run, configs built in code included) call it.

    Parameters
    ----------
    environment:
        Also check what depends on this machine (a ``cuda`` device must exist). Off when only reading a
        config, so a run made on a GPU machine still opens on a laptop.
    prefix:
        Put before field names in messages (``"embed."`` when checking a lone EmbedConfig).

    Raises
    ------
    ConfigError
        One line naming the first bad field, its allowed values and what it got.
    """
    check(config, prefix, environment=environment)


def parse_config(cls: type[T], text: str | bytes) -> T:
    """A config from JSON text (a file, an upload): one :class:`ConfigError` line for anything wrong with it.

    Refuses text that is not JSON, JSON that is not an object (a string, a number), absurdly large or deeply
    nested documents, and every bad field (see :func:`from_dict`).
    """
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"the config is {len(text):,} bytes; a config is a few KB (limit {MAX_CONFIG_BYTES:,})")
    try:
        data = json.loads(text)
    except RecursionError:
        raise ConfigError("the config is nested too deeply to be a config") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, huge integers
        raise ConfigError(f"the config is not valid JSON: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"the config must be a JSON object ({cls.__name__}), got {show(data)}")
    data.pop("config_type", None)
    try:
        return from_dict(cls, data)
    except RecursionError:
        raise ConfigError("the config is nested too deeply to be a config") from None


def save_config(config: Any, path: str | os.PathLike[str]) -> Path:
    """Write a config as indented JSON (with its class name) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"config_type": type(config).__name__, **to_dict(config)}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def load_config(cls: type[T], path: str | os.PathLike[str]) -> T:
    """Read a config written by :func:`save_config` (or hand-written JSON with the same fields).

    Raises
    ------
    ConfigError
        The file is not a valid config (one line naming the field); OSError when it cannot be read.
    """
    return parse_config(cls, Path(path).read_bytes())
