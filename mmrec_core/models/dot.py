"""Study A's untrained baseline: user profile . item vector."""

from __future__ import annotations

from typing import Self

import numpy as np

from mmrec_core.models.base import EpochCallback, Ranker, RankingData


class DotRanker(Ranker):
    """Dot product of the user's profile (mean of positive train item vectors) with each item vector.

    Nothing is learned: ``fit`` stores the profiles and the item vectors. Items without a vector score 0.
    """

    name = "dot"
    label = "Dot product (Study A)"
    description = "Untrained: user profile (mean of liked item vectors) dot item vector."
    needs_features = True
    trained = False

    def fit(self, data: RankingData, *, callback: EpochCallback | None = None, validation=None) -> Self:
        self._remember(data)
        self._profiles = data.user_profiles()
        self._features = np.asarray(data.item_features, dtype=np.float32)
        self.history = []
        return self

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        feats = self._features if items is None else self._features[np.asarray(items)]
        return self._profiles[np.asarray(users)] @ feats.T

    def dot_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        return self._profiles, self._features

    def part_slices(self) -> dict[str, slice]:
        return {"content: like the liked items": slice(None)}

    def history_shares(self, liked: np.ndarray, item: int) -> np.ndarray:
        """Each liked train item's share of ``score(user, item)`` (``f_h . f_i / n``, the profile being the mean
        of the user's liked item vectors): they add up to the score when ``liked`` is the user's whole list of
        positives."""
        liked = np.asarray(liked, np.int64)
        vectors = self._features[liked]
        counted = int(np.any(vectors, axis=1).sum())  # the profile averages the liked items that have a vector
        return (vectors @ self._features[item]) / max(counted, 1)

    def score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.einsum("nd,nd->n", self._profiles[np.asarray(users)], self._features[np.asarray(items)])
