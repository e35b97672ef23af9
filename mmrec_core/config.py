"""Stage configs (frozen dataclasses shared by the dashboard and the CLI) and the cache root.

Every stage takes one config; a run saves the configs beside the artifacts it produced, so a
dashboard session can be exported and re-run headless (``python -m mmrec_core study --config``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

FUSIONS = ("mean", "concat", "text", "image")
SPLITS = ("per-user-random", "leave-last-out", "global-temporal")


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


@dataclass(frozen=True)
class ImageConfig:
    """How item pictures are fetched and guarded."""

    timeout_s: float = 3.0
    max_bytes: int = 8_000_000
    max_pixels: int = 40_000_000
    workers: int = 16
    allow_private: bool = False  # allow URLs that resolve to loopback/private/link-local addresses
    offline_after: int = 5  # consecutive network-level failures before the rest are marked missing at once


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


@dataclass(frozen=True)
class EmbedConfig:
    """Which encoder embeds the items (title text + picture) and how the two are fused."""

    encoder: str = "bundled"
    checkpoint: str | None = None  # model id or local folder; None = the encoder's default
    image_checkpoint: str | None = None  # second model where the encoder has two (bert-resnet)
    fusion: str = "concat"  # one of FUSIONS
    batch_size: int = 32
    device: str = "auto"  # "auto" picks cuda when present


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings shared by every trained ranker (Study A: Adam 1e-3, 5 epochs)."""

    epochs: int = 5
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    factors: int = 64  # bpr-mf / vbpr latent size
    hidden: int = 128  # mlp-bpr hidden layer
    negatives: str = "sampled"  # bpr-mf / vbpr: "sampled" (unobserved items) or "explicit" (study pairs)
    seed: int = 42
    device: str = "auto"
    # CPU threads while training. The rankers' steps are small: one thread is as fast on an idle machine
    # and does not stall when other processes share the cores (two spinning OpenMP threads made the
    # learning-floor runs 30x slower under load). None = torch's default.
    threads: int | None = 1
    early_stopping_patience: int | None = None  # on the validation metric, None = off


@dataclass(frozen=True)
class EvalConfig:
    """Ranking evaluation protocol."""

    ks: tuple[int, ...] = (10, 20)
    chunk_size: int = 2048
    exclude_seen: bool = True
    # Also rank the *test* set after every epoch of a final fit, for teaching curves only (nothing is selected
    # on it). Off by default: the test set is then read once per selected model.
    monitor_epochs: bool = False


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
    trials: int = 5  # budget per (setting, model); 1 = the model's defaults with early stopping only
    refit: bool = True
    max_users: int | None = 20_000  # validation users ranked per epoch (a seeded sample beyond that)


SELECTION_BUDGETS: dict[str, SelectionConfig | None] = {
    "full": SelectionConfig(),
    "quick": SelectionConfig(trials=1, patience=5, max_epochs=100),
    "off": None,
}
"""Named budgets offered by the dashboard (``off`` trains each model's fixed epochs, as Study A did)."""


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


@dataclass(frozen=True)
class StudyConfig:
    """One whole run: data, split, encoder, fusions and models to compare, metrics, seeds."""

    name: str = "demo-study"
    data: DataConfig = field(default_factory=DataConfig)
    images: ImageConfig = field(default_factory=ImageConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    fusions: tuple[str, ...] = ("concat", "text", "image")
    models: tuple[str, ...] = ("popularity", "dot", "mlp-bpr", "bpr-mf", "vbpr")
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seeds: tuple[int, ...] = (42,)
    classifier: ClassifierConfig | None = field(default_factory=ClassifierConfig)
    selection: SelectionConfig | None = field(default_factory=SelectionConfig)  # None: fixed epochs, no search


# --- (de)serialisation -------------------------------------------------------------------------------


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass; tuples become lists."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build ``cls`` from a dict, recursing into nested configs.

    Raises
    ------
    ValueError
        On an unknown key, naming it and the fields that are allowed.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__} expects a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {unknown}; allowed: {sorted(names)}")
    kwargs = {key: _coerce(hints[key], value) for key, value in data.items()}
    return cls(**kwargs)


def _coerce(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _coerce(options[0], value) if len(options) == 1 else value
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value)
    if origin is tuple:
        return tuple(value)
    return value


def save_config(config: Any, path: str | os.PathLike[str]) -> Path:
    """Write a config as indented JSON (with its class name) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"config_type": type(config).__name__, **to_dict(config)}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def load_config(cls: type[T], path: str | os.PathLike[str]) -> T:
    """Read a config written by :func:`save_config` (or hand-written JSON with the same fields)."""
    data = json.loads(Path(path).read_text())
    data.pop("config_type", None)
    return from_dict(cls, data)
