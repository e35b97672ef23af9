"""The one ranker interface: ``fit`` / ``score`` / ``recommend``, plus the data every ranker trains on.

Users and items are dense integer indices (``0..n_users-1``, ``0..n_items-1``) built by
:mod:`mmrec_core.data.interactions`; rankers never see ids or DataFrames.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from mmrec_core.config import TrainConfig

EpochCallback = Callable[[dict[str, Any]], None]
"""Receives one dict per epoch: ``{"model", "epoch", "epochs", "loss", ...validation metrics}``."""


@dataclass
class RankingData:
    """Training data of a ranker, as index arrays (no copies of the review frame).

    Attributes
    ----------
    train_users, train_items, train_labels:
        Every train interaction; labels are 1 for positives (rating >= threshold) and 0 otherwise.
    pair_users, pair_pos, pair_neg:
        Study A's train pairs (explicit negatives from the user's own ratings).
    item_features:
        ``(n_items, d)`` float32 content vectors (fused embeddings) or None for pure collaborative data;
        rows of items without an embedding are zero and ``has_features`` False there.
    modalities:
        The same setting's vectors unfused, ``{"text": (vectors, has), "image": (vectors, has)}``, for rankers
        that treat each modality on its own (:meth:`modality_vectors`); None when only fused features exist.
    """

    n_users: int
    n_items: int
    train_users: np.ndarray
    train_items: np.ndarray
    train_labels: np.ndarray
    pair_users: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    pair_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    pair_neg: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    item_features: np.ndarray | None = None
    has_features: np.ndarray | None = None
    modalities: dict[str, tuple[np.ndarray, np.ndarray]] | None = None

    def modality_vectors(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per-modality ``(vectors, has)``: :attr:`modalities`, or the fused features as one modality
        (``"features"``) when the data carries no unfused vectors.

        Raises
        ------
        ValueError
            When the data has no item content at all.
        """
        if self.modalities:
            return {name: (np.asarray(v, np.float32), np.asarray(h, bool)) for name, (v, h) in self.modalities.items()}
        if self.item_features is None:
            raise ValueError("this model needs item features (choose an encoder and fusion first)")
        has = np.ones(self.n_items, bool) if self.has_features is None else np.asarray(self.has_features, bool)
        return {"features": (np.asarray(self.item_features, np.float32), has)}

    def seen(self) -> sp.csr_matrix:
        """Train interactions as a ``(n_users, n_items)`` 0/1 CSR matrix (for exclude-seen)."""
        ones = np.ones(len(self.train_users), dtype=np.float32)
        m = sp.csr_matrix((ones, (self.train_users, self.train_items)), shape=(self.n_users, self.n_items))
        m.data[:] = 1.0
        return m

    def positives(self) -> sp.csr_matrix:
        """Positive train interactions as a 0/1 CSR matrix."""
        keep = self.train_labels.astype(bool)
        u, i = self.train_users[keep], self.train_items[keep]
        m = sp.csr_matrix((np.ones(len(u), np.float32), (u, i)), shape=(self.n_users, self.n_items))
        m.data[:] = 1.0
        return m

    def user_profiles(self) -> np.ndarray:
        """Study A's user vectors: mean of the user's positive train item vectors (zeros if none)."""
        if self.item_features is None:
            raise ValueError("user profiles need item features (choose an encoder and fusion first)")
        pos = self.positives()
        if self.has_features is not None:
            pos = pos @ sp.diags(self.has_features.astype(np.float32))
        counts = np.asarray(pos.sum(axis=1)).ravel()
        sums = pos @ self.item_features
        return (sums / np.maximum(counts, 1.0)[:, None]).astype(np.float32)


class Ranker(ABC):
    """Base of every ranker: subclasses implement ``fit`` and ``score``; ``recommend`` is written once.

    Class attributes
    ----------------
    name: registry name; needs_features: True if the model reads ``item_features``;
    trained: False for models with nothing to learn (their ``fit`` only stores data).
    """

    name: ClassVar[str] = ""
    needs_features: ClassVar[bool] = False
    trained: ClassVar[bool] = True

    def __init__(self, config: TrainConfig | None = None):
        self.config = config or TrainConfig()
        self.history: list[dict[str, Any]] = []
        self._seen: sp.csr_matrix | None = None
        self.n_items = 0

    @abstractmethod
    def fit(self, data: RankingData, *, callback: EpochCallback | None = None) -> Self:
        """Learn from ``data``; report each epoch to ``callback``; return self."""

    @abstractmethod
    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """Scores ``(len(users), len(items))`` (all items when ``items`` is None), higher is better.

        Returns a new array: callers (``recommend``) may write into it.
        """

    def dot_vectors(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(users, items)`` float32 matrices with ``score(u, i) == users[u] @ items[i]`` (up to float error),
        for rankers whose score is an inner product; None otherwise (the default).

        Such rankers rank through :mod:`mmrec_core.retrieval` (blocks at the matmul's speed, or a FAISS index).
        """
        return None

    def item_vectors(self) -> np.ndarray | None:
        """``(n_items, d)`` vectors in which the model sees items (two items alike here are alike to the model):
        the item side of :meth:`dot_vectors` by default; None for a model with no item vectors."""
        vectors = self.dot_vectors()
        return None if vectors is None else vectors[1]

    def part_slices(self) -> dict[str, slice] | None:
        """Named column blocks of :meth:`dot_vectors` whose inner products add up to the score (e.g. BPR-MF's
        ``{"collaborative": factors, "item bias": last column}``); None when the score is not such a sum."""
        return None

    def score_parts(self, users: np.ndarray, items: np.ndarray) -> dict[str, np.ndarray] | None:
        """Named parts of the scores of (user, item) pairs that add up to :meth:`score_pairs` ("why this?"),
        from :meth:`part_slices`; None for a model whose score is not a sum of parts (an MLP)."""
        slices = self.part_slices()
        vectors = self.dot_vectors() if slices else None
        if vectors is None:
            return None
        u, v = vectors[0][np.asarray(users)], vectors[1][np.asarray(items)]
        return {name: np.einsum("nd,nd->n", u[:, s], v[:, s]).astype(np.float32) for name, s in slices.items()}

    def score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Elementwise scores of (user, item) pairs; subclasses override with a cheaper path."""
        users, items = np.asarray(users), np.asarray(items)
        out = np.empty(len(users), dtype=np.float32)
        for start in range(0, len(users), 4096):
            u, i = users[start : start + 4096], items[start : start + 4096]
            uniq, inv = np.unique(u, return_inverse=True)
            block = self.score(uniq)
            out[start : start + len(u)] = block[inv, i]
        return out

    def _remember(self, data: RankingData) -> None:
        """Subclasses call this in ``fit`` so ``recommend`` can exclude seen items."""
        self._seen = data.seen()
        self.n_items = data.n_items

    def recommend(
        self, users: np.ndarray, k: int = 10, exclude_seen: bool = True, chunk_size: int = 2048
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and scores per user, best first, in user chunks (bounded memory).

        Equal scores rank the lower item index first (:func:`mmrec_core.topk.stable_top_k`), so two
        identical runs recommend identical lists. Rankers with :meth:`dot_vectors` go through the exact
        engine of :mod:`mmrec_core.retrieval` (same lists, no users x items matrix); the rest score
        ``chunk_size`` users at a time.
        """
        users = np.asarray(users, dtype=np.int64)
        k = min(k, self.n_items)
        vectors = self.dot_vectors()
        if vectors is None:
            return self._recommend_scored(users, k, exclude_seen, chunk_size)
        from mmrec_core.retrieval import ItemIndex

        user_vecs, item_vecs = vectors
        exclude = self._seen[users] if exclude_seen and self._seen is not None else None
        top_items, top_scores = ItemIndex(item_vecs).search(user_vecs[users], k, exclude=exclude)
        # a user with fewer than k eligible items: fill the tail as the scored path does (excluded items, -inf)
        short = np.flatnonzero((top_items < 0).any(axis=1))
        if len(short):
            tail = self._recommend_scored(users[short], k, exclude_seen, chunk_size)
            top_items[short], top_scores[short] = tail
        return top_items, top_scores

    def _recommend_scored(
        self, users: np.ndarray, k: int, exclude_seen: bool, chunk_size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """``recommend`` from ``score``: one ``(chunk_size, n_items)`` score block at a time."""
        from mmrec_core.topk import stable_top_k

        top_items = np.empty((len(users), k), dtype=np.int64)
        top_scores = np.empty((len(users), k), dtype=np.float32)
        for start in range(0, len(users), chunk_size):
            u = users[start : start + chunk_size]
            s = np.asarray(self.score(u), dtype=np.float32)
            if not (s.flags.writeable and s.flags.c_contiguous):
                s = np.array(s, dtype=np.float32, order="C")
            if exclude_seen and self._seen is not None:
                seen = self._seen[u]
                rows = np.repeat(np.arange(len(u)), np.diff(seen.indptr))
                s[rows, seen.indices] = -np.inf
            index, values = stable_top_k(s, k)
            top_items[start : start + len(u)] = index
            top_scores[start : start + len(u)] = values
        return top_items, top_scores
