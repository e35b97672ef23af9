"""A ranker whose scores are given: the demo catalogue's hidden truth becomes the "oracle" row."""

from __future__ import annotations

from typing import Self

import numpy as np

from mmrec_core.models.base import EpochCallback, Ranker, RankingData


class FixedScoreRanker(Ranker):
    """Scores from a fixed ``(n_users, n_items)`` matrix (e.g. ``DemoTruth.affinity``).

    ``fit`` only remembers the seen items, so ``recommend(exclude_seen=True)`` works as for any ranker.
    """

    needs_features = False
    trained = False
    label = "Oracle (hidden truth)"
    description = "The demo generator's hidden preferences: an upper bound no model can see."

    def __init__(self, scores: np.ndarray, name: str = "oracle", config=None):
        super().__init__(config)
        self.scores = np.asarray(scores, dtype=np.float32)
        if self.scores.ndim != 2:
            raise ValueError(f"scores must be a (n_users, n_items) matrix, got shape {self.scores.shape}")
        self.name = name  # instance attribute: one class serves several named fixed rankers
        self.n_items = self.scores.shape[1]

    def fit(self, data: RankingData, *, callback: EpochCallback | None = None, validation=None) -> Self:
        if (data.n_users, data.n_items) != self.scores.shape:
            raise ValueError(
                f"scores shape {self.scores.shape} does not match the data ({data.n_users}, {data.n_items})"
            )
        self._remember(data)
        return self

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        rows = self.scores[np.asarray(users)]
        return rows.copy() if items is None else rows[:, np.asarray(items)]

    def score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.scores[np.asarray(users), np.asarray(items)]
