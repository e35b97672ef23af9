"""Labels, k-core, the three split protocols and Study A's pair rule on hand-made data with known answers."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from mmrec_core.config import SplitConfig
from mmrec_core.data.interactions import (
    Interactions,
    kcore,
    label,
    make_pairs,
    ranking_data,
    split,
)
from mmrec_core.data.schema import Dataset, LoadReport


def make_inter(users, items, ratings, timestamps=None, n_items=None) -> Interactions:
    users = np.asarray(users, np.int64)
    items = np.asarray(items, np.int64)
    ratings = np.asarray(ratings, np.float32)
    ts = np.arange(len(users), dtype=np.int64) if timestamps is None else np.asarray(timestamps, np.int64)
    n_u, n_i = int(users.max()) + 1, n_items or int(items.max()) + 1
    return Interactions(
        user_ids=np.array([f"u{i}" for i in range(n_u)]),
        item_ids=np.array([f"i{i}" for i in range(n_i)]),
        users=users,
        items=items,
        ratings=ratings,
        timestamps=ts,
        labels=label(ratings),
    )


@pytest.fixture
def three_users() -> Interactions:
    # user 0: 6 rows, user 1: 5 rows, user 2: 4 rows (below the minimum of 5: dropped)
    users = [0] * 6 + [1] * 5 + [2] * 4
    items = [0, 1, 2, 3, 4, 5, 0, 2, 4, 6, 7, 1, 3, 5, 7]
    ratings = [5, 4, 2, 5, 1, 3, 5, 5, 5, 5, 2, 5, 1, 5, 2]
    return make_inter(users, items, ratings)


def test_label_threshold():
    assert label(np.array([1, 3.9, 4, 5])).tolist() == [0, 0, 1, 1]
    assert label(np.array([1, 3, 4]), threshold=3).dtype == np.int8


def test_from_dataset_item_order_and_users_sorted():
    reviews = pd.DataFrame(
        {
            "user_id": ["b", "a", "b", "c"],
            "item_id": ["X", "Y", "Z", "Q"],
            "rating": [5.0, 2.0, 4.0, 5.0],
            "timestamp": [3, 1, 2, 4],
        }
    )
    items = pd.DataFrame({"item_id": ["Z", "Y", "X"]})
    ds = Dataset("t", reviews, items, LoadReport(), fingerprint="x")
    inter = Interactions.from_dataset(ds)
    assert inter.item_ids.tolist() == ["Z", "Y", "X"]  # embedding rows align with dataset.items
    assert inter.user_ids.tolist() == ["a", "b"]  # sorted; "c" reviewed only the unknown item Q
    assert inter.items.tolist() == [2, 1, 0]
    assert inter.users.tolist() == [1, 0, 1]
    assert inter.labels.tolist() == [1, 0, 1]
    assert inter.review_rows.tolist() == [0, 1, 2]
    assert inter.timestamps.dtype == np.int64 and inter.ratings.dtype == np.float32


def reference_per_user_random(inter: Interactions, cfg: SplitConfig) -> tuple[set, set]:
    """The documented rule written as a plain loop: keys in row order, sort each user's rows by key."""
    counts = np.bincount(inter.users)
    kept = [r for r in range(len(inter)) if counts[inter.users[r]] >= cfg.min_interactions]
    keys = dict(zip(kept, np.random.default_rng(cfg.seed).random(len(kept)), strict=True))
    train, test = set(), set()
    for u in sorted(set(inter.users[kept].tolist())):
        rows = sorted((r for r in kept if inter.users[r] == u), key=lambda r: keys[r])
        n_train = int(cfg.train_frac * len(rows))  # the study's int(0.8 * n)
        train.update(rows[:n_train])
        test.update(rows[n_train:])
    return train, test


def test_per_user_random_is_study_a(three_users):
    cfg = SplitConfig()
    s = split(three_users, cfg)
    u_tr, u_te = three_users.users[s.train], three_users.users[s.test]
    assert np.bincount(u_tr, minlength=3).tolist() == [4, 4, 0]  # floor(0.8*6)=4, floor(0.8*5)=4, dropped
    assert np.bincount(u_te, minlength=3).tolist() == [2, 1, 0]
    assert not set(s.train) & set(s.test)
    assert np.all(np.diff(s.train) > 0) and np.all(np.diff(s.test) > 0)  # sorted index arrays
    ref_train, ref_test = reference_per_user_random(three_users, cfg)
    assert set(s.train.tolist()) == ref_train and set(s.test.tolist()) == ref_test
    assert s.protocol == "per-user-random" and s.seed == 42


def test_per_user_random_seeded(three_users):
    a, b = split(three_users, SplitConfig(seed=42)), split(three_users, SplitConfig(seed=42))
    assert np.array_equal(a.train, b.train) and np.array_equal(a.test, b.test)
    others = [split(three_users, SplitConfig(seed=s)).train for s in range(10)]
    assert any(not np.array_equal(o, a.train) for o in others)


def test_leave_last_out_takes_latest_timestamp():
    # user 0: latest is row 1 (ts 9); user 1: ts tie at 7 between rows 6 and 7 -> the later row (7)
    inter = make_inter(
        [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
        [0, 1, 2, 3, 4, 0, 1, 2, 3, 4],
        [5] * 10,
        [1, 9, 3, 4, 5, 1, 7, 7, 2, 3],
    )
    s = split(inter, SplitConfig(protocol="leave-last-out"))
    assert s.test.tolist() == [1, 7]
    assert len(s.train) == 8


def test_global_temporal_latest_share_and_cold_flags():
    # 10 rows of users with >= 2 rows; ts order puts rows 8 and 9 last; item 9 only appears in test,
    # user 2 only in test... but user 2 needs >= min_interactions rows, so min_interactions=1 here
    users = [0, 0, 0, 1, 1, 1, 0, 1, 0, 2]
    items = [0, 1, 2, 0, 1, 2, 3, 3, 9, 4]
    ts = [10, 11, 12, 13, 14, 15, 16, 17, 30, 40]
    inter = make_inter(users, items, [5] * 10, ts)
    s = split(inter, SplitConfig(protocol="global-temporal", global_test_frac=0.2, min_interactions=1))
    assert s.test.tolist() == [8, 9]
    assert s.test_cold_item.tolist() == [True, True]  # items 9 and 4 have no train row
    assert s.test_cold_user.tolist() == [False, True]  # user 2 has no train row
    assert s.summary()["test_cold_items"] == 2


def test_split_rejects_unknown_protocol(three_users):
    with pytest.raises(ValueError, match="unknown split protocol"):
        split(three_users, SplitConfig(protocol="random"))
    with pytest.raises(ValueError, match="train_frac"):
        split(three_users, SplitConfig(train_frac=1.0))


def test_kcore_iterates_until_stable():
    # 2-core: item 3 has one row -> dropped; then user 2 is left with one row -> dropped; then item 2
    # (rated by users 1 and 2) has one row -> dropped; then user 1 keeps items 0 and 1.
    users = [0, 0, 1, 1, 1, 2, 2]
    items = [0, 1, 0, 1, 2, 2, 3]
    inter = make_inter(users, items, [5] * 7)
    assert kcore(inter, 2).tolist() == [0, 1, 2, 3]
    assert kcore(inter, 1).tolist() == list(range(7))
    assert kcore(inter, 3).tolist() == []


def pair_fixture() -> Interactions:
    # user 0: items 0,1,3 positive, 2,4 negative -> 3 pairs
    # user 1: 7 positives (items 0..6), 1 negative (item 7) -> capped at 5 pairs, all with neg 7
    # user 2: only positives; user 3: only negatives -> no pairs
    users = [0] * 5 + [1] * 8 + [2] * 3 + [3] * 3
    items = [0, 1, 2, 3, 4] + list(range(8)) + [0, 1, 2] + [3, 4, 5]
    ratings = [5, 4, 2, 5, 1] + [5] * 7 + [1] + [5, 5, 4] + [1, 2, 3]
    return make_inter(users, items, ratings)


def test_make_pairs_follows_study_a():
    inter = pair_fixture()
    p = make_pairs(inter, np.arange(len(inter)), max_pairs_per_user=5, seed=42)
    assert np.bincount(p.users, minlength=4).tolist() == [3, 5, 0, 0]
    for u, i, j in zip(p.users, p.pos, p.neg, strict=True):
        own = inter.users == u
        assert i in inter.items[own & (inter.labels == 1)]
        assert j in inter.items[own & (inter.labels == 0)]
    assert sorted(p.pos[p.users == 0].tolist()) == [0, 1, 3]  # every positive of user 0 gets one pair
    assert set(p.neg[p.users == 1].tolist()) == {7}
    assert len(set(p.pos[p.users == 1].tolist())) == 5  # the cap samples without replacement


def test_make_pairs_uses_only_the_given_rows():
    inter = pair_fixture()
    # rows of user 0 without its negatives (rows 2, 4): no pair for user 0
    idx = np.array([0, 1, 3, 5, 6, 12])
    p = make_pairs(inter, idx)
    assert set(p.users.tolist()) == {1}
    assert sorted(p.pos.tolist()) == [0, 1] and p.neg.tolist() == [7, 7]
    assert len(make_pairs(inter, np.array([0, 1], np.int64))) == 0


def test_make_pairs_seeded_and_uniform():
    inter = pair_fixture()
    idx = np.arange(len(inter))
    a, b = make_pairs(inter, idx, seed=3), make_pairs(inter, idx, seed=3)
    assert all(
        np.array_equal(x, y) for x, y in zip((a.users, a.pos, a.neg), (b.users, b.pos, b.neg), strict=True)
    )
    # order of idx does not matter
    c = make_pairs(inter, idx[::-1].copy(), seed=3)
    assert np.array_equal(a.neg, c.neg) and np.array_equal(a.pos, c.pos)
    runs = [make_pairs(inter, idx, seed=s) for s in range(400)]
    assert any(not np.array_equal(r.neg, a.neg) for r in runs)
    # user 0's negatives 2 and 4 are drawn with equal chance; user 1 keeps each positive with p = 5/7
    negs = np.concatenate([r.neg[r.users == 0] for r in runs])
    assert abs(np.mean(negs == 2) - 0.5) < 0.05
    kept = np.concatenate([r.pos[r.users == 1] for r in runs])
    share = np.bincount(kept, minlength=7)[:7] / len(runs)
    assert np.all(np.abs(share - 5 / 7) < 0.08)
    assert len(make_pairs(inter, idx, max_pairs_per_user=None)) == 3 + 7


def test_ranking_data_has_train_rows_and_pairs(three_users):
    s = split(three_users, SplitConfig())
    feats = np.eye(three_users.n_items, dtype=np.float32)
    data = ranking_data(three_users, s, feats, np.ones(three_users.n_items, bool))
    assert len(data.train_users) == len(s.train) == 8
    assert data.n_items == 8 and data.item_features is feats
    assert len(data.pair_users) <= 10
    assert set(data.pair_users.tolist()) <= {0, 1}
    with pytest.raises(ValueError, match="rows"):
        ranking_data(three_users, s, feats[:3])


def test_vectorised_on_100k_rows_is_fast():
    rng = np.random.default_rng(0)
    n = 100_000
    users = rng.integers(0, 10_000, n)
    items = rng.integers(0, 5_000, n)
    ratings = rng.choice([1, 2, 3, 4, 5], n, p=[0.08, 0.06, 0.1, 0.16, 0.6])
    inter = make_inter(users, items, ratings, rng.integers(0, 10**12, n), n_items=5_000)
    t0 = time.perf_counter()
    s = split(inter, SplitConfig())
    tr, te = make_pairs(inter, s.train), make_pairs(inter, s.test)
    seconds = time.perf_counter() - t0
    assert seconds < 3.0
    assert len(tr) > 1000 and len(te) > 100
    assert np.bincount(tr.users).max() <= 5
    # each train pair's items are the user's own train rows with the right labels
    key = inter.users[s.train] * 5_000 + inter.items[s.train]
    pos_keys = set(key[inter.labels[s.train] == 1].tolist())
    neg_keys = set(key[inter.labels[s.train] == 0].tolist())
    assert all(k in pos_keys for k in (tr.users * 5_000 + tr.pos).tolist())
    assert all(k in neg_keys for k in (tr.users * 5_000 + tr.neg).tolist())


def _random_inter(n_users=60, n_items=40, per_user=(5, 15), seed=0) -> Interactions:
    rng = np.random.default_rng(seed)
    counts = rng.integers(per_user[0], per_user[1], n_users)
    users = np.repeat(np.arange(n_users), counts)
    items = rng.integers(0, n_items, len(users))
    ratings = rng.integers(1, 6, len(users)).astype(np.float32)
    timestamps = rng.integers(0, 10_000, len(users))
    return make_inter(users, items, ratings, timestamps, n_items=n_items)


@pytest.mark.parametrize("protocol", ["per-user-random", "leave-last-out", "global-temporal"])
def test_train_validation_and_test_never_overlap(protocol):
    inter = _random_inter()
    parts = split(inter, SplitConfig(protocol=protocol))
    train, val, test, fit = parts.train, parts.validation, parts.test, parts.fit_rows()
    assert len(val) > 0
    assert np.isin(val, train).all()  # validation is cut from train
    assert not np.intersect1d(train, test).size and not np.intersect1d(val, test).size
    assert not np.intersect1d(fit, val).size and len(fit) + len(val) == len(train)
    # the test rows are exactly those of the same split without validation
    assert np.array_equal(test, split(inter, SplitConfig(protocol=protocol, validation_frac=0.0)).test)
    view = parts.for_validation()
    assert np.array_equal(view.train, fit) and np.array_equal(view.test, val)
    assert parts.summary()["validation"] == len(val)


def test_validation_follows_each_protocols_rule():
    inter = _random_inter()
    per_user = split(inter, SplitConfig(validation_frac=0.25))
    n_train = np.bincount(inter.users[per_user.train], minlength=inter.n_users)
    n_val = np.bincount(inter.users[per_user.validation], minlength=inter.n_users)
    kept = n_train > 0
    assert np.array_equal(n_val[kept], n_train[kept] - np.maximum(np.floor(0.75 * n_train[kept]), 1))

    lol = split(inter, SplitConfig(protocol="leave-last-out"))
    for u in np.unique(inter.users[lol.validation]):
        rows = lol.train[inter.users[lol.train] == u]
        val = lol.validation[inter.users[lol.validation] == u]
        assert len(val) == 1 and inter.timestamps[val[0]] == inter.timestamps[rows].max()

    glob = split(inter, SplitConfig(protocol="global-temporal", validation_frac=0.1))
    assert len(glob.validation) == round(0.1 * len(glob.train))
    assert inter.timestamps[glob.validation].min() >= inter.timestamps[glob.fit_rows()].max()


def test_validation_is_seeded_and_keeps_a_fit_row_per_user():
    inter = _random_inter()
    a, b = split(inter, SplitConfig(seed=3)), split(inter, SplitConfig(seed=3))
    assert np.array_equal(a.validation, b.validation)
    assert not np.array_equal(a.validation, split(inter, SplitConfig(seed=4)).validation)
    heavy = split(inter, SplitConfig(validation_frac=0.99))
    fit_users = np.unique(inter.users[heavy.fit_rows()])
    assert np.array_equal(fit_users, np.unique(inter.users[heavy.train]))
