"""The non-personalised baseline: most-liked items first."""

from __future__ import annotations

from typing import Self

import numpy as np

from mmrec_core.models.base import EpochCallback, Ranker, RankingData


class PopularityRanker(Ranker):
    """Scores each item by its number of positive train interactions, the same for every user.

    Ties are broken by the total number of train interactions (a fraction below 1 is added, so it never
    outranks one more positive).
    """

    name = "popularity"
    label = "Popularity"
    description = "Same list for everyone: items with the most positive train interactions."
    needs_features = False
    trained = False

    def fit(self, data: RankingData, *, callback: EpochCallback | None = None, validation=None) -> Self:
        self._remember(data)
        labels = np.asarray(data.train_labels).astype(bool)
        pos = np.bincount(np.asarray(data.train_items)[labels], minlength=data.n_items).astype(np.float64)
        total = np.bincount(np.asarray(data.train_items), minlength=data.n_items).astype(np.float64)
        self._scores = (pos + total / (total.max(initial=0) + 1.0)).astype(np.float32)
        self.history = []
        return self

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        row = self._scores if items is None else self._scores[np.asarray(items)]
        return np.broadcast_to(row, (len(users), len(row))).copy()

    def dot_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        # the same score for every user: a ones column against the item scores (exact products)
        return np.ones((self._seen.shape[0], 1), np.float32), self._scores[:, None].copy()

    def part_slices(self) -> dict[str, slice]:
        return {"popularity (train reviews)": slice(None)}

    def score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self._scores[np.asarray(items)].copy()
