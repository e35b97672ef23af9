"""A ranker whose scores are given: the demo catalogue's hidden truth becomes the "oracle" row."""

from __future__ import annotations

from typing import Self

import numpy as np

from mmrec_core.models.base import EpochCallback, Ranker, RankingData


class FixedScoreRanker(Ranker):
    """Scores from a fixed ``(n_users, n_items)`` matrix, or from its factors (:meth:`from_factors`).

    With factors (``scores = users @ items.T``, e.g. ``DemoTruth.affinity_factors``) scores are computed for
    the rows asked for, so a large catalogue's oracle never holds a users x items matrix. ``fit`` only
    remembers the seen items, so ``recommend(exclude_seen=True)`` works as for any ranker.
    """

    needs_features = False
    trained = False
    label = "Oracle (hidden truth)"
    description = "The demo generator's hidden preferences: an upper bound no model can see."

    def __init__(self, scores: np.ndarray | None, name: str = "oracle", config=None):
        super().__init__(config)
        self.name = name  # instance attribute: one class serves several named fixed rankers
        self._factors: tuple[np.ndarray, np.ndarray] | None = None
        self.parts: dict[str, slice] | None = None
        self.scores = None if scores is None else np.asarray(scores, dtype=np.float32)
        if self.scores is not None:
            if self.scores.ndim != 2:
                raise ValueError(f"scores must be a (n_users, n_items) matrix, got shape {self.scores.shape}")
            self.n_items = self.scores.shape[1]

    @classmethod
    def from_factors(cls, users: np.ndarray, items: np.ndarray, name: str = "oracle",
                     parts: dict[str, slice] | None = None) -> FixedScoreRanker:
        """Scores ``users @ items.T`` (``(n_users, d)`` and ``(n_items, d)``), computed block by block;
        ``parts`` names column blocks whose products add up to the score (:meth:`part_slices`)."""
        users, items = np.asarray(users, np.float32), np.asarray(items, np.float32)
        if users.ndim != 2 or items.ndim != 2 or users.shape[1] != items.shape[1]:
            raise ValueError(f"factors must be (n_users, d) and (n_items, d), got {users.shape} and {items.shape}")
        ranker = cls(None, name=name)
        ranker._factors = (np.ascontiguousarray(users), np.ascontiguousarray(items))
        ranker.parts = dict(parts) if parts else None
        ranker.n_items = len(items)
        return ranker

    @property
    def shape(self) -> tuple[int, int]:
        if self._factors is not None:
            return len(self._factors[0]), len(self._factors[1])
        return self.scores.shape

    def fit(self, data: RankingData, *, callback: EpochCallback | None = None, validation=None) -> Self:
        if (data.n_users, data.n_items) != self.shape:
            raise ValueError(f"scores shape {self.shape} does not match the data ({data.n_users}, {data.n_items})")
        self._remember(data)
        return self

    def part_slices(self) -> dict[str, slice] | None:
        """The factor blocks given as ``parts`` (the oracle's kind, colour and pattern), else None."""
        return self.parts if self._factors is not None and self.parts else None

    def dot_vectors(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(users, items)`` with ``score = users @ items.T`` when built from factors, else None."""
        return self._factors

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        users = np.asarray(users)
        if self._factors is not None:
            u, v = self._factors
            return u[users] @ (v if items is None else v[np.asarray(items)]).T
        rows = self.scores[users]
        return rows.copy() if items is None else rows[:, np.asarray(items)]

    def score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        users, items = np.asarray(users), np.asarray(items)
        if self._factors is not None:
            u, v = self._factors
            return np.einsum("nd,nd->n", u[users], v[items])
        return self.scores[users, items]
