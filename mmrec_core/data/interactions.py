"""Interactions as dense index arrays: labels, k-core filtering, the three split protocols, Study A's pairs.

Everything here returns **index arrays** into one :class:`Interactions` (no copies of the review frame),
and every random step draws from one ``numpy.random.default_rng(seed)`` in a documented order, so a split
or a pair set is reproducible from ``(data, config)`` alone. All of it is vectorised (sorts, ``bincount``,
group offsets): 1 M interactions split and paired in well under a few seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from mmrec_core.config import SPLITS, SplitConfig
from mmrec_core.data.schema import Dataset
from mmrec_core.models.base import RankingData

log = logging.getLogger("mmrec.interactions")


@dataclass
class Interactions:
    """Every review as (user index, item index, rating, timestamp, label).

    ``user_ids[u]`` / ``item_ids[i]`` map indices back to ids. Item indices follow ``dataset.items`` row
    order (or the ``item_ids`` given), so row ``i`` of an item-embedding matrix is item ``i``. User indices
    follow the **sorted** user ids (independent of review order). ``review_rows[r]`` is the row of
    ``dataset.reviews`` that interaction ``r`` came from.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray
    labels: np.ndarray
    positive_threshold: float = 4.0
    review_rows: np.ndarray | None = None

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def __len__(self) -> int:
        return len(self.users)

    @classmethod
    def from_dataset(
        cls, dataset: Dataset, *, positive_threshold: float = 4.0, item_ids: np.ndarray | None = None
    ) -> Interactions:
        """Index the reviews of ``dataset``.

        Reviews whose item is not in ``item_ids`` (when given) are dropped and counted in the log.
        """
        import pandas as pd

        reviews = dataset.reviews
        ids = np.asarray(dataset.items["item_id"] if item_ids is None else item_ids).astype(str)
        item_idx = pd.Index(ids).get_indexer(reviews["item_id"].astype(str))
        keep = item_idx >= 0
        if not keep.all():
            log.warning("dropped %d reviews whose item is not in the item list", int((~keep).sum()))
        rows = np.flatnonzero(keep)
        users, user_ids = pd.factorize(reviews["user_id"].astype(str).to_numpy()[rows], sort=True)
        ratings = reviews["rating"].to_numpy(dtype=np.float32)[rows]
        return cls(
            user_ids=np.asarray(user_ids).astype(str),
            item_ids=ids,
            users=users.astype(np.int64),
            items=item_idx[rows].astype(np.int64),
            ratings=ratings.copy(),
            timestamps=reviews["timestamp"].to_numpy(dtype=np.int64)[rows].copy(),
            labels=label(ratings, positive_threshold),
            positive_threshold=positive_threshold,
            review_rows=rows.astype(np.int64),
        )


def label(ratings: np.ndarray, threshold: float = 4.0) -> np.ndarray:
    """Study A's label: 1 when ``rating >= threshold`` else 0, as int8."""
    return (np.asarray(ratings) >= threshold).astype(np.int8)


def kcore(inter: Interactions, k: int, idx: np.ndarray | None = None) -> np.ndarray:
    """Rows (sorted) of the iterative ``k``-core: every kept user and item has >= ``k`` kept interactions.

    Repeats "drop users with < k rows, drop items with < k rows" until nothing changes; ``k <= 1`` keeps all.
    """
    rows = np.arange(len(inter), dtype=np.int64) if idx is None else np.sort(np.asarray(idx, np.int64))
    if k <= 1:
        return rows
    while True:
        u, i = inter.users[rows], inter.items[rows]
        uc = np.bincount(u, minlength=inter.n_users)
        ic = np.bincount(i, minlength=inter.n_items)
        keep = (uc[u] >= k) & (ic[i] >= k)
        if keep.all():
            return rows
        rows = rows[keep]


@dataclass
class Split:
    """Train, validation and test rows (sorted int64 indices into an :class:`Interactions`).

    ``train`` holds **every** training row; ``validation`` is a subset of it, cut by the protocol's own rule
    (see :func:`split`), on which models are selected. A model is selected by fitting on :meth:`fit_rows`
    (train minus validation) and ranking ``validation``; the test rows are never read for that.
    ``test_cold_user`` / ``test_cold_item`` flag test rows whose user / item has no train row
    (possible in every protocol, common in global-temporal); evaluation handles cold items separately.
    """

    train: np.ndarray
    test: np.ndarray
    protocol: str
    seed: int
    test_cold_user: np.ndarray | None = None
    test_cold_item: np.ndarray | None = None
    validation: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def fit_rows(self) -> np.ndarray:
        """Train rows that are not validation rows (sorted): what a model is fitted on while it is selected."""
        return np.setdiff1d(self.train, self.validation, assume_unique=True)

    def for_validation(self) -> Split:
        """The split that selection evaluates: fit rows as train, validation rows as test (no test rows)."""
        return Split(train=self.fit_rows(), test=self.validation, protocol=f"{self.protocol} (validation)",
                     seed=self.seed)

    def summary(self) -> dict[str, int | str]:
        out: dict[str, int | str] = {
            "protocol": self.protocol,
            "train": len(self.train),
            "validation": len(self.validation),
            "test": len(self.test),
        }
        if self.test_cold_item is not None and self.test_cold_user is not None:
            out["test_cold_items"] = int(self.test_cold_item.sum())
            out["test_cold_users"] = int(self.test_cold_user.sum())
        return out


def _group_starts(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start offsets and sizes of the runs of equal values in a sorted array."""
    if len(sorted_keys) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_keys)) + 1].astype(np.int64)
    sizes = np.diff(np.r_[starts, len(sorted_keys)]).astype(np.int64)
    return starts, sizes


def _rank_in_group(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each element within its run of equal keys, and the size of that run."""
    starts, sizes = _group_starts(sorted_keys)
    return np.arange(len(sorted_keys)) - np.repeat(starts, sizes), np.repeat(sizes, sizes)


def split(inter: Interactions, config: SplitConfig = SplitConfig()) -> Split:
    """Split rows by ``config.protocol``; returns sorted index arrays.

    All protocols first apply ``config.kcore`` (when > 0), then keep only users with
    ``>= config.min_interactions`` rows (dropped users are in neither train nor test).

    - ``per-user-random`` (Study A step 3): one uniform key per kept row is drawn from
      ``default_rng(config.seed)`` in row order; each user's rows are sorted by key (a uniform shuffle of
      that user's rows), the first ``floor(train_frac * n_u)`` go to train, the rest to test.
    - ``leave-last-out``: each user's latest row (largest timestamp; ties: the later row) is test.
    - ``global-temporal``: rows sorted by (timestamp, row); the latest ``round(global_test_frac * n)`` are test.

    Validation is then cut from the train rows by the same rule (:func:`validation_rows`), so the test rows
    are exactly those of a split without validation.
    """
    if config.protocol not in SPLITS:
        raise ValueError(f"unknown split protocol {config.protocol!r}; choose one of {SPLITS}")
    if not 0.0 < config.train_frac < 1.0:
        raise ValueError(f"train_frac must be in (0, 1), got {config.train_frac}")
    rows = kcore(inter, config.kcore) if config.kcore > 0 else np.arange(len(inter), dtype=np.int64)
    counts = np.bincount(inter.users[rows], minlength=inter.n_users)
    rows = rows[counts[inter.users[rows]] >= config.min_interactions]
    u = inter.users[rows]

    if config.protocol == "per-user-random":
        keys = np.random.default_rng(config.seed).random(len(rows))
        order = np.lexsort((keys, u))
        rank, size = _rank_in_group(u[order])
        # floor(0.8 * n) in float arithmetic, the same number as the study's int(0.8 * len(rows))
        is_train = rank < np.floor(config.train_frac * size).astype(np.int64)
        train, test = rows[order][is_train], rows[order][~is_train]
    elif config.protocol == "leave-last-out":
        order = np.lexsort((rows, inter.timestamps[rows], u))
        rank, size = _rank_in_group(u[order])
        is_test = rank == size - 1
        train, test = rows[order][~is_test], rows[order][is_test]
    else:
        if not 0.0 < config.global_test_frac < 1.0:
            raise ValueError(f"global_test_frac must be in (0, 1), got {config.global_test_frac}")
        order = np.lexsort((rows, inter.timestamps[rows]))
        n_test = int(round(config.global_test_frac * len(rows)))
        cut = len(rows) - n_test
        train, test = rows[order][:cut], rows[order][cut:]

    train, test = np.sort(train), np.sort(test)
    validation = validation_rows(inter, train, config)
    in_train_u = np.bincount(inter.users[train], minlength=inter.n_users) > 0
    in_train_i = np.bincount(inter.items[train], minlength=inter.n_items) > 0
    out = Split(
        train=train,
        test=test,
        protocol=config.protocol,
        seed=config.seed,
        test_cold_user=~in_train_u[inter.users[test]],
        test_cold_item=~in_train_i[inter.items[test]],
        validation=validation,
    )
    log.info("split %s: %s", config.protocol, out.summary())
    return out


def validation_rows(inter: Interactions, train: np.ndarray, config: SplitConfig) -> np.ndarray:
    """Validation rows cut from the sorted ``train`` rows by the protocol's own rule (sorted int64).

    - ``per-user-random``: one uniform key per train row from ``default_rng((seed, 1))`` (a stream of its
      own, so the test rows do not move); each user's train rows sorted by key, the first
      ``floor((1 - validation_frac) * n_u)`` stay for fitting, the rest are validation.
    - ``leave-last-out``: each user's latest train row (ties: the later row).
    - ``global-temporal``: the latest ``round(validation_frac * n)`` train rows by (timestamp, row).

    A user always keeps at least one row for fitting (per-user protocols), and ``validation_frac = 0``
    gives no validation rows.
    """
    train = np.asarray(train, np.int64)
    if config.validation_frac <= 0 or len(train) == 0:
        return np.zeros(0, np.int64)
    u = inter.users[train]
    if config.protocol == "global-temporal":
        order = np.lexsort((train, inter.timestamps[train]))
        n_val = int(round(config.validation_frac * len(train)))
        return np.sort(train[order][len(train) - n_val :])
    if config.protocol == "leave-last-out":
        order = np.lexsort((train, inter.timestamps[train], u))
        rank, size = _rank_in_group(u[order])
        is_val = (rank == size - 1) & (size > 1)
    else:
        keys = np.random.default_rng((config.seed, 1)).random(len(train))
        order = np.lexsort((keys, u))
        rank, size = _rank_in_group(u[order])
        keep = np.maximum(np.floor((1.0 - config.validation_frac) * size).astype(np.int64), 1)
        is_val = rank >= keep
    return np.sort(train[order][is_val])


@dataclass
class Pairs:
    """Study A's (user, positive item, negative item) triples, as int64 index arrays."""

    users: np.ndarray
    pos: np.ndarray
    neg: np.ndarray

    def __len__(self) -> int:
        return len(self.users)


def make_pairs(
    inter: Interactions, idx: np.ndarray, *, max_pairs_per_user: int | None = 5, seed: int = 42
) -> Pairs:
    """Study A step 4 on the rows ``idx`` (call it once for train and once for test).

    For each user with at least one positive and one negative row in ``idx``: every positive row gets one
    negative drawn uniformly from that user's own negative rows (independently per positive, so with
    replacement); then at most ``max_pairs_per_user`` of the user's pairs are kept, chosen uniformly without
    replacement (``None`` keeps all). Users without both labels give no pairs.

    Randomness (``default_rng(seed)``), in this order: the rows are put in (user, row) order; one integer
    per positive picks its negative; then one uniform key per pair ranks the user's pairs and the
    ``max_pairs_per_user`` smallest keys are kept. The result is ordered by user, then by key.
    """
    idx = np.sort(np.asarray(idx, dtype=np.int64))
    u = inter.users[idx]
    order = np.argsort(u, kind="stable")
    u, it, lab = u[order], inter.items[idx][order], inter.labels[idx][order]
    is_pos = lab == 1
    pu, pi = u[is_pos], it[is_pos]
    nu, ni = u[~is_pos], it[~is_pos]
    n_neg = np.bincount(nu, minlength=inter.n_users)
    neg_start = np.cumsum(n_neg) - n_neg  # negatives are sorted by user, so each user's block is contiguous
    ok = n_neg[pu] > 0
    pu, pi = pu[ok], pi[ok]
    rng = np.random.default_rng(seed)
    if len(pu) == 0:
        empty = np.zeros(0, np.int64)
        return Pairs(empty, empty.copy(), empty.copy())
    draw = rng.integers(0, n_neg[pu])
    neg = ni[neg_start[pu] + draw]
    if max_pairs_per_user is not None:
        keys = rng.random(len(pu))
        o = np.lexsort((keys, pu))
        pu, pi, neg = pu[o], pi[o], neg[o]
        rank, _ = _rank_in_group(pu)
        keep = rank < max_pairs_per_user
        pu, pi, neg = pu[keep], pi[keep], neg[keep]
    return Pairs(pu.astype(np.int64), pi.astype(np.int64), neg.astype(np.int64))


def ranking_data(
    inter: Interactions,
    split: Split,
    item_features: np.ndarray | None = None,
    has_features: np.ndarray | None = None,
    *,
    max_pairs_per_user: int | None = 5,
    seed: int = 42,
    modalities: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> RankingData:
    """What a ranker trains on: every train row, Study A's train pairs, and the item content vectors
    (fused, and per modality when ``modalities`` is given: see :attr:`RankingData.modalities`)."""
    if item_features is not None and len(item_features) != inter.n_items:
        raise ValueError(f"item_features has {len(item_features)} rows for {inter.n_items} items")
    for name, (vectors, has) in (modalities or {}).items():
        if len(vectors) != inter.n_items or len(has) != inter.n_items:
            raise ValueError(f"{name} vectors have {len(vectors)} rows for {inter.n_items} items")
    pairs = make_pairs(inter, split.train, max_pairs_per_user=max_pairs_per_user, seed=seed)
    tr = split.train
    return RankingData(
        n_users=inter.n_users,
        n_items=inter.n_items,
        train_users=inter.users[tr],
        train_items=inter.items[tr],
        train_labels=inter.labels[tr],
        pair_users=pairs.users,
        pair_pos=pairs.pos,
        pair_neg=pairs.neg,
        item_features=item_features,
        has_features=has_features,
        modalities=modalities or None,
    )
