"""Rankers behind one interface (``fit`` / ``score`` / ``recommend``) and Study B's rating classifier."""

from mmrec_core.models.base import EpochCallback, Ranker, RankingData
from mmrec_core.models.fixed import FixedScoreRanker
from mmrec_core.models.registry import DEFAULT_OVERRIDES, RANKERS, create_ranker, default_config, ranker_info

__all__ = [
    "DEFAULT_OVERRIDES",
    "RANKERS",
    "EpochCallback",
    "FixedScoreRanker",
    "Ranker",
    "RankingData",
    "create_ranker",
    "default_config",
    "ranker_info",
]
