"""Evaluation protocols on a fixed-score ranker whose answers are known by construction."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmrec_core.config import EvalConfig, SelectionConfig, SplitConfig
from mmrec_core.data.interactions import Interactions, Pairs, Split, label
from mmrec_core.evaluate import (
    aggregate_seeds,
    cold_items,
    evaluate_cold_start,
    evaluate_pairs,
    evaluate_ranking,
    protocol_description,
    sample_users,
)
from mmrec_core.metrics import paired_test
from mmrec_core.models.base import Ranker, RankingData


class Fixed(Ranker):
    """Scores from a fixed (n_users, n_items) matrix."""

    name = "fixed"
    trained = False

    def __init__(self, scores: np.ndarray):
        super().__init__()
        self.scores = np.asarray(scores, np.float32)
        self.n_items = self.scores.shape[1]

    def fit(self, data: RankingData, *, callback=None) -> Fixed:
        self._remember(data)
        return self

    def score(self, users, items=None):
        s = self.scores[np.asarray(users)]
        return s if items is None else s[:, np.asarray(items)]


N_ITEMS = 30


def build() -> tuple[Interactions, Split]:
    """4 users. Train rows first, then test rows:

    user 0: train items 0, 1; test positives 2, 3, test negative 4
    user 1: train items 5, 6; test positive 7
    user 2: train item 8; test negative only (item 9) -> not evaluated
    user 3: train item 10; test positive 20 (item 20 never in train: cold)
    """
    rows = [  # (user, item, rating, is_test)
        (0, 0, 5, 0), (0, 1, 2, 0), (1, 5, 5, 0), (1, 6, 4, 0), (2, 8, 5, 0), (3, 10, 5, 0),
        (0, 2, 5, 1), (0, 3, 4, 1), (0, 4, 1, 1), (1, 7, 5, 1), (2, 9, 2, 1), (3, 20, 5, 1),
    ]  # fmt: skip
    a = np.array(rows)
    inter = Interactions(
        user_ids=np.array(["a", "b", "c", "d"]),
        item_ids=np.array([f"i{i}" for i in range(N_ITEMS)]),
        users=a[:, 0].astype(np.int64),
        items=a[:, 1].astype(np.int64),
        ratings=a[:, 2].astype(np.float32),
        timestamps=np.arange(len(a), dtype=np.int64),
        labels=label(a[:, 2]),
    )
    split = Split(np.flatnonzero(a[:, 3] == 0), np.flatnonzero(a[:, 3] == 1), "hand", 42)
    return inter, split


def perfect_scores(inter: Interactions, split: Split) -> np.ndarray:
    """Train items score highest (so exclude-seen matters), then test positives, then the rest."""
    s = np.zeros((inter.n_users, N_ITEMS), np.float32) - np.arange(N_ITEMS) / 100
    s[inter.users[split.train], inter.items[split.train]] = 10
    te = split.test[inter.labels[split.test] == 1]
    s[inter.users[te], inter.items[te]] = 5
    return s


def test_perfect_model_scores_one():
    inter, split = build()
    res = evaluate_ranking(Fixed(perfect_scores(inter, split)), inter, split, EvalConfig(ks=(2, 5)))
    assert res["n_users"] == 3  # user 2 has no positive test item
    for key in ("recall@2", "ndcg@2", "hr@2", "mrr@2", "recall@5", "ndcg@5"):
        assert res[key] == pytest.approx(1.0), key
    # precision@2: user 0 2/2, user 1 1/2, user 3 1/2 -> 2/3
    assert res["precision@2"] == pytest.approx(2 / 3)
    assert res["n_items"] == N_ITEMS
    assert res["auc"] == pytest.approx(1.0)


def test_auc_can_be_skipped_without_changing_the_ranking_metrics():
    inter, split = build()
    model = Fixed(perfect_scores(inter, split))
    full = evaluate_ranking(model, inter, split, EvalConfig(ks=(2, 5)))
    lean = evaluate_ranking(model, inter, split, EvalConfig(ks=(2, 5)), auc=False)
    assert np.isnan(lean.pop("auc")) and full.pop("auc") == pytest.approx(1.0)
    assert lean == full


def test_a_user_sample_ranks_the_same_users_for_every_model():
    inter, split = build()
    s = perfect_scores(inter, split)
    _, full = evaluate_ranking(Fixed(s), inter, split, EvalConfig(ks=(2,)), return_per_user=True)
    capped = EvalConfig(ks=(2,), max_users=2)
    res, per = evaluate_ranking(Fixed(s), inter, split, capped, return_per_user=True)
    _, other = evaluate_ranking(Fixed(-s), inter, split, capped, return_per_user=True)
    assert res["n_users"] == 2 and set(per["users"]) < set(full["users"])
    assert per["users"].tolist() == other["users"].tolist()  # another model, the same people
    for user, value in zip(per["users"], per["precision@2"], strict=True):  # each user's metric is unchanged
        assert value == full["precision@2"][full["users"].tolist().index(user)]
    assert sample_users(np.arange(5), None).tolist() == [0, 1, 2, 3, 4] == sample_users(np.arange(5), 5).tolist()
    drawn = sample_users(np.arange(1000), 10)
    assert len(set(drawn)) == 10 and drawn.tolist() == sorted(drawn) == sample_users(np.arange(1000), 10).tolist()
    assert "at most 2 test users, a seeded sample" in protocol_description(SplitConfig(), capped)


def test_reversed_model_scores_zero():
    inter, split = build()
    res = evaluate_ranking(Fixed(-perfect_scores(inter, split)), inter, split, EvalConfig(ks=(5,)))
    assert res["recall@5"] == 0.0 and res["ndcg@5"] == 0.0 and res["hr@5"] == 0.0 and res["mrr@5"] == 0.0
    assert res["auc"] == pytest.approx(0.0)


def test_exclude_seen_is_respected():
    inter, split = build()
    model = Fixed(perfect_scores(inter, split))
    _, per = evaluate_ranking(model, inter, split, EvalConfig(ks=(2,)), return_per_user=True)
    assert per["users"].tolist() == [0, 1, 3]
    # without exclusion the two train items of users 0 and 1 fill the top 2: no hits for them
    res = evaluate_ranking(model, inter, split, EvalConfig(ks=(2,), exclude_seen=False), return_per_user=True)
    assert res[1]["recall@2"].tolist() == [0.0, 0.0, 1.0]  # user 3 has one train item -> test item 2nd


def test_known_rank_gives_known_ndcg():
    inter, split = build()
    s = np.zeros((4, N_ITEMS), np.float32)
    s[1, 11], s[1, 7] = 2, 1  # user 1: an irrelevant item first, its test positive second
    _, per = evaluate_ranking(Fixed(s), inter, split, EvalConfig(ks=(3,)), return_per_user=True)
    assert per["ndcg@3"][1] == pytest.approx(1 / math.log2(3))
    assert per["mrr@3"][1] == pytest.approx(0.5)


def random_interactions(rng: np.random.Generator, n_users: int, n_items: int, n: int) -> Interactions:
    """``n`` random (user, item, rating 1-5) rows, in time order."""
    ratings = rng.integers(1, 6, n).astype(np.float32)
    return Interactions(
        np.array([str(u) for u in range(n_users)]), np.array([str(i) for i in range(n_items)]),
        rng.integers(0, n_users, n), rng.integers(0, n_items, n), ratings,
        np.arange(n, dtype=np.int64), label(ratings),
    )  # fmt: skip


def test_chunked_equals_unchunked():
    rng = np.random.default_rng(0)
    n_users, n_items, n = 300, 80, 4000
    inter = random_interactions(rng, n_users, n_items, n)
    perm = rng.permutation(n)
    split = Split(np.sort(perm[:3000]), np.sort(perm[3000:]), "random", 0)
    model = Fixed(rng.random((n_users, n_items)))
    a = evaluate_ranking(model, inter, split, EvalConfig(ks=(5, 10), chunk_size=7), return_per_user=True)
    b = evaluate_ranking(model, inter, split, EvalConfig(ks=(5, 10), chunk_size=10_000), return_per_user=True)
    assert a[0] == b[0]
    assert all(np.array_equal(a[1][k], b[1][k], equal_nan=True) for k in a[1])
    assert 0 < a[0]["coverage@10"] <= 1 and a[0]["novelty@10"] > 0
    # per-user AUC = scikit-learn's over the candidates left after excluding the user's train items
    from sklearn.metrics import roc_auc_score

    for j in (0, 5, 17):
        u = a[1]["users"][j]
        seen = set(inter.items[split.train][inter.users[split.train] == u].tolist())
        te = split.test[(inter.users[split.test] == u) & (inter.labels[split.test] == 1)]
        rel = set(inter.items[te].tolist()) - seen
        cand = np.array([i for i in range(n_items) if i not in seen])
        y = np.isin(cand, list(rel))
        assert a[1]["auc"][j] == pytest.approx(roc_auc_score(y, model.scores[u, cand]))
    # the per-user vectors of two models line up for a paired test
    c = evaluate_ranking(
        Fixed(rng.random((n_users, n_items))), inter, split, EvalConfig(ks=(10,)), return_per_user=True
    )
    assert paired_test(a[1]["ndcg@10"], c[1]["ndcg@10"])["n"] == len(a[1]["users"])


def test_cold_start_track_ranks_cold_items_only():
    inter, split = build()
    assert cold_items(inter, split).tolist() == [2, 3, 4, 7, 9, 20]
    # a content model that likes item 20 for user 3 finds it among the cold items
    s = np.zeros((4, N_ITEMS), np.float32)
    s[3, 20] = 1
    s[:, 25] = 9  # item 25 is not a cold test item, so it is no candidate however high it scores
    res, per = evaluate_cold_start(Fixed(s), inter, split, EvalConfig(ks=(1,)), return_per_user=True)
    assert res["n_items"] == 6 and res["n_users"] == 3  # users 0, 1, 3 have cold test positives
    assert per["recall@1"][per["users"] == 3][0] == 1.0
    assert res["coverage@1"] <= 1.0


def test_cold_start_without_cold_items():
    inter, split = build()
    split2 = Split(split.train, split.test[inter.items[split.test] == 99], "hand", 42)
    res = evaluate_cold_start(Fixed(np.zeros((4, N_ITEMS))), inter, split2, EvalConfig(ks=(10,)))
    assert res["n_users"] == 0 and math.isnan(res["recall@10"])


def test_evaluate_pairs_skips_items_without_embedding():
    s = np.zeros((2, 4), np.float32)
    s[0] = [3, 1, 2, 0]
    s[1] = [0, 1, 2, 3]
    pairs = Pairs(np.array([0, 0, 1, 1]), np.array([0, 2, 0, 3]), np.array([1, 3, 3, 2]))
    # user 0: 3>1 yes, 2>0 yes; user 1: 0>3 no, 3>2 yes -> 3/4
    res = evaluate_pairs(Fixed(s), pairs)
    assert res == {"accuracy": 0.75, "n_pairs": 4, "n_skipped": 0}
    # item 1 has no embedding: the first pair is skipped -> 2/3
    res = evaluate_pairs(Fixed(s), pairs, has_features=np.array([True, False, True, True]))
    assert res["n_pairs"] == 3 and res["n_skipped"] == 1 and res["accuracy"] == pytest.approx(2 / 3)
    empty = evaluate_pairs(Fixed(s), Pairs(*(np.zeros(0, np.int64),) * 3))
    assert empty["n_pairs"] == 0 and math.isnan(empty["accuracy"])


def test_aggregate_seeds():
    agg = aggregate_seeds([{"recall@10": 0.1, "n_users": 5.0}, {"recall@10": 0.3, "n_users": 5.0}])
    assert agg["recall@10"]["mean"] == pytest.approx(0.2)
    assert agg["recall@10"]["std"] == pytest.approx(np.std([0.1, 0.3], ddof=1))
    assert aggregate_seeds([{"x": 1.0}])["x"] == {"mean": 1.0, "std": 0.0, "n": 1.0}


def test_protocol_description():
    text = protocol_description(SplitConfig(), EvalConfig(), (42,), n_items=512)
    assert text == (
        "per-user random 80/20 split (users with >= 5 interactions, seed 42), validation = 20 % of each user's "
        "train rows (seeded); trained models run fixed epochs (no selection); full ranking over all 512 items "
        "excluding train items; relevant = test items rated >= 4; K = 10, 20; seeds 42"
    )
    selected = protocol_description(SplitConfig(), EvalConfig(), (42,), selection=SelectionConfig())
    assert "trained models selected on validation ndcg@10 (early stopping, patience 10, up to 4 settings each, " \
           "then refit on train + validation)" in selected
    text = protocol_description(
        SplitConfig(protocol="global-temporal", kcore=5), EvalConfig(ks=(20,)), (1, 2)
    )
    assert text.startswith("5-core, global temporal split, latest 20 % of interactions as test")
    assert text.endswith("K = 20; seeds 1, 2")
    assert "leave-last-out" in protocol_description(SplitConfig(protocol="leave-last-out"), EvalConfig())
    assert "validation = each user's last train row" in protocol_description(
        SplitConfig(protocol="leave-last-out"), EvalConfig())
    assert "validation = the latest 20 % of train" in text


class FixedDot(Fixed):
    """``scores = users @ items.T`` that also exposes the vectors (the exact top-K engine's path)."""

    def __init__(self, users: np.ndarray, items: np.ndarray):
        super().__init__(users @ items.T)
        self.vectors = (users, items)

    def dot_vectors(self):
        return self.vectors

    def score(self, users, items=None):
        raise AssertionError("an inner-product scorer ranks without a users x items score block")


def test_dot_scorers_rank_through_the_engine_with_the_same_metrics():
    rng = np.random.default_rng(3)
    n_users, n_items, n = 200, 90, 3000
    inter = random_interactions(rng, n_users, n_items, n)
    perm = rng.permutation(n)
    split = Split(np.sort(perm[:2200]), np.sort(perm[2200:]), "random", 0)
    # small integers: many equal scores, so the tie rule is exercised too
    users = rng.integers(-1, 2, (n_users, 3)).astype(np.float32)
    items = rng.integers(-1, 2, (n_items, 3)).astype(np.float32)
    dot, plain = FixedDot(users, items), Fixed(users @ items.T)
    config = EvalConfig(ks=(5, 20), chunk_size=64)
    for kwargs in ({}, {"candidate_items": np.arange(0, n_items, 3)}):
        a = evaluate_ranking(dot, inter, split, config, auc=False, return_per_user=True, **kwargs)
        b = evaluate_ranking(plain, inter, split, config, auc=False, return_per_user=True, **kwargs)
        assert a[0].keys() == b[0].keys()
        assert all(a[0][k] == b[0][k] or (math.isnan(a[0][k]) and math.isnan(b[0][k])) for k in a[0])
        assert all(np.array_equal(a[1][k], b[1][k], equal_nan=True) for k in a[1])
    events = []
    evaluate_ranking(dot, inter, split, config, auc=False, progress=events.append)
    assert events[-1].stage == "rank users" and events[-1].done == events[-1].total
