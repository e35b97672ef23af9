"""The ranker registry: names -> classes, per-model default settings, and what the dashboard lists.

Importing this module does not import torch (the trained rankers import it when they fit).
"""

from __future__ import annotations

import dataclasses

from mmrec_core.config import TrainConfig
from mmrec_core.models.base import Ranker
from mmrec_core.models.dot import DotRanker
from mmrec_core.models.freedom import FREEDOMRanker
from mmrec_core.models.lightgcn import LightGCNRanker
from mmrec_core.models.mf import BPRMFRanker
from mmrec_core.models.mlp_bpr import MLPBPRRanker
from mmrec_core.models.popularity import PopularityRanker
from mmrec_core.models.vbpr import VBPRRanker

RANKERS: dict[str, type[Ranker]] = {
    "popularity": PopularityRanker,
    "dot": DotRanker,
    "mlp-bpr": MLPBPRRanker,
    "bpr-mf": BPRMFRanker,
    "vbpr": VBPRRanker,
    "lightgcn": LightGCNRanker,
    "freedom": FREEDOMRanker,
}

DEFAULT_OVERRIDES: dict[str, dict[str, object]] = {
    # Study A's 5 epochs at Adam 1e-3 barely move randomly initialised factors. The factor models start from
    # the region that model selection on the small demo's validation split picks (lr 1e-3, L2 1e-2, 50-90
    # epochs); with selection on, ``epochs`` is replaced by early stopping on validation.
    # mlp-bpr trains on Study A's few pairs (<= 5 a user): batches of 256 give too few steps in 5 epochs.
    "mlp-bpr": {"batch_size": 32},
    "bpr-mf": {"epochs": 60, "lr": 1e-3, "weight_decay": 1e-2},
    "vbpr": {"epochs": 60, "lr": 1e-3, "weight_decay": 1e-2},
    "lightgcn": {"epochs": 60, "lr": 1e-3, "weight_decay": 1e-4},
    "freedom": {"epochs": 60, "lr": 1e-3},
}
"""Per-model ``TrainConfig`` fields applied by :func:`default_config` (and by ``create_ranker`` without config)."""

SEARCH_SPACES: dict[str, tuple[tuple[str, tuple[object, ...]], ...]] = {
    # Coordinate search (mmrec_core.selection): one field at a time, in this order, from the model's
    # defaults; each field moves to its best value before the next is tried. The epochs come from early
    # stopping on validation, so they are not searched.
    "mlp-bpr": (("lr", (1e-3, 3e-3)),),
    "bpr-mf": (("weight_decay", (1e-2, 3e-2, 1e-3)), ("lr", (1e-3, 3e-3)), ("factors", (64, 128))),
    "vbpr": (("weight_decay", (1e-2, 3e-2, 1e-3)), ("lr", (1e-3, 3e-3)), ("factors", (64, 128))),
    "lightgcn": (("weight_decay", (1e-4, 1e-3, 1e-2)), ("layers", (2, 3, 1))),
    "freedom": (("edge_dropout", (0.8, 0.9, 0.5)), ("align_weight", (1e-4, 1e-3, 0.0))),
}
"""The settings model selection searches, per model (models not listed are only early-stopped)."""


def default_config(name: str, base: TrainConfig | None = None) -> TrainConfig:
    """``base`` (default ``TrainConfig()``) with the model's :data:`DEFAULT_OVERRIDES` applied."""
    _check(name)
    return dataclasses.replace(base or TrainConfig(), **DEFAULT_OVERRIDES.get(name, {}))


def create_ranker(name: str, config: TrainConfig | None = None) -> Ranker:
    """A fresh ranker; ``config=None`` uses :func:`default_config`, a given config is used as it is.

    Raises
    ------
    KeyError
        For an unknown name, listing the known ones.
    """
    _check(name)
    return RANKERS[name](config if config is not None else default_config(name))


def ranker_info() -> list[tuple[str, str, str, bool]]:
    """``(name, label, description, needs_features)`` for every registered ranker, in registry order."""
    return [
        (name, getattr(cls, "label", name), getattr(cls, "description", ""), cls.needs_features)
        for name, cls in RANKERS.items()
    ]


def _check(name: str) -> None:
    if name not in RANKERS:
        raise KeyError(f"unknown ranker {name!r}; known: {', '.join(RANKERS)}")
