"""One contract, every ranker: shapes, exclude-seen, determinism, recommend == top-k of score, learning floors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import Synthetic, make_synthetic, ndcg_at_k

from mmrec_core.config import TrainConfig
from mmrec_core.models import RANKERS, FixedScoreRanker, create_ranker, default_config

FAST = {"bpr-mf": {"epochs": 10, "lr": 1e-2}, "vbpr": {"epochs": 10, "lr": 1e-2}}  # a step size that learns in 10 epochs


def _ranker(name: str, s: Synthetic):
    if name == "oracle":
        # the hidden truth knows the held-out items: an upper bound for every model
        truth = (s.user_cluster[:, None] == s.item_cluster[None, :]).astype(np.float32)
        for u, items in enumerate(s.test):
            truth[u, items] += 1.0
        return FixedScoreRanker(truth + 0.01 * np.random.default_rng(0).random(truth.shape))
    import dataclasses

    return create_ranker(name, dataclasses.replace(default_config(name), **FAST.get(name, {})))


NAMES = [*RANKERS, "oracle"]


@pytest.fixture(scope="module")
def fitted(synthetic) -> dict:
    return {name: _ranker(name, synthetic).fit(synthetic.data) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_shapes(fitted, synthetic, name):
    model, data = fitted[name], synthetic.data
    users = np.array([0, 3, 7])
    assert model.score(users).shape == (3, data.n_items)
    assert model.score(users, np.array([1, 2])).shape == (3, 2)
    np.testing.assert_allclose(model.score(users, np.array([5, 1])), model.score(users)[:, [5, 1]], rtol=1e-5)
    items, scores = model.recommend(users, k=7)
    assert items.shape == scores.shape == (3, 7)
    assert items.dtype == np.int64 and np.all(np.diff(scores, axis=1) <= 0)


@pytest.mark.parametrize("name", NAMES)
def test_exclude_seen(fitted, synthetic, name):
    model, seen = fitted[name], synthetic.data.seen()
    users = np.arange(synthetic.data.n_users)
    items, _ = model.recommend(users, k=10, exclude_seen=True)
    dense = seen.toarray().astype(bool)
    assert not np.take_along_axis(dense, items, 1).any()
    # without exclusion the list is the plain top-k of score, seen items included
    raw_items, raw_scores = model.recommend(users, k=10, exclude_seen=False)
    expected = -np.sort(-model.score(users), axis=1)[:, :10]
    np.testing.assert_allclose(raw_scores, expected, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_recommend_matches_score(fitted, synthetic, name):
    model = fitted[name]
    users = np.arange(0, synthetic.data.n_users, 5)
    scores = model.score(users).astype(np.float64)
    seen = synthetic.data.seen()[users].toarray().astype(bool)
    scores[seen] = -np.inf
    items, top = model.recommend(users, k=10)
    np.testing.assert_allclose(top, -np.sort(-scores, axis=1)[:, :10], rtol=1e-5)
    np.testing.assert_allclose(np.take_along_axis(scores, items, 1), top, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_score_pairs_is_diagonal(fitted, synthetic, name):
    model = fitted[name]
    rng = np.random.default_rng(1)
    users = rng.integers(0, synthetic.data.n_users, 50)
    items = rng.integers(0, synthetic.data.n_items, 50)
    full = model.score(users)
    np.testing.assert_allclose(
        model.score_pairs(users, items), full[np.arange(50), items], rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_with_seed(fitted, synthetic, name):
    again = _ranker(name, synthetic).fit(synthetic.data)
    np.testing.assert_array_equal(again.score(np.arange(20)), fitted[name].score(np.arange(20)))


@pytest.mark.parametrize("name", list(RANKERS))
def test_fit_reports_epochs(synthetic, name):
    events: list[dict] = []
    model = create_ranker(name, TrainConfig(epochs=2))
    assert model.fit(synthetic.data, callback=events.append) is model
    if model.trained:
        assert [e["epoch"] for e in events] == [1, 2] and len(model.history) == 2
        assert {"model", "epoch", "epochs", "loss"} <= set(events[0]) and events[0]["model"] == name
        assert np.isfinite(events[-1]["loss"]) and events[-1]["loss"] > 0
    else:
        assert events == [] and model.history == []


def test_learning_floors(fitted, synthetic):
    users = np.arange(synthetic.data.n_users)
    ndcg = {name: ndcg_at_k(m.recommend(users, 10)[0], synthetic.test) for name, m in fitted.items()}
    for name in ("dot", "mlp-bpr", "bpr-mf", "vbpr"):
        assert ndcg[name] > ndcg["popularity"] + 0.1, ndcg
    assert ndcg["oracle"] >= max(v for k, v in ndcg.items() if k != "oracle"), ndcg


@pytest.mark.parametrize("name", ["dot", "mlp-bpr"])
def test_pairwise_accuracy_on_held_out_pairs(fitted, synthetic, name):
    rng = np.random.default_rng(3)
    users = np.repeat(np.arange(synthetic.data.n_users), 4)
    pos = np.concatenate(synthetic.test)
    other = [np.flatnonzero(synthetic.item_cluster != c) for c in synthetic.user_cluster]
    neg = np.array([rng.choice(other[u]) for u in users])
    model = fitted[name]
    accuracy = np.mean(model.score_pairs(users, pos) > model.score_pairs(users, neg))
    assert accuracy > 0.8


def test_fixed_ranker_checks_shapes(synthetic):
    with pytest.raises(ValueError, match="matrix"):
        FixedScoreRanker(np.zeros(5))
    with pytest.raises(ValueError, match="does not match"):
        FixedScoreRanker(np.zeros((2, 2))).fit(synthetic.data)


def test_fixed_ranker_from_factors_scores_their_product(synthetic):
    rng = np.random.default_rng(3)
    data = synthetic.data
    users, items = rng.random((data.n_users, 4)), rng.random((data.n_items, 4))
    ranker = FixedScoreRanker.from_factors(users, items).fit(data)
    some = np.array([0, 2, 5])
    np.testing.assert_allclose(ranker.score(some), users[some] @ items.T, rtol=1e-5)
    np.testing.assert_allclose(ranker.score(some, np.array([1, 3])), (users[some] @ items.T)[:, [1, 3]], rtol=1e-5)
    np.testing.assert_allclose(ranker.score_pairs(some, np.array([1, 3, 4])),
                               (users[some] @ items.T)[[0, 1, 2], [1, 3, 4]], rtol=1e-5)
    dense = FixedScoreRanker(users @ items.T).fit(data)
    np.testing.assert_array_equal(ranker.recommend(some, 5)[0], dense.recommend(some, 5)[0])
    with pytest.raises(ValueError, match="factors"):
        FixedScoreRanker.from_factors(users, items[:, :3])


def test_learns_on_another_seed():
    """The floor is not an accident of one catalogue."""
    s = make_synthetic(seed=5)
    users = np.arange(s.data.n_users)
    pop = ndcg_at_k(create_ranker("popularity").fit(s.data).recommend(users, 10)[0], s.test)
    vbpr = ndcg_at_k(create_ranker("vbpr").fit(s.data).recommend(users, 10)[0], s.test)
    assert vbpr > pop + 0.1


DOT_SCORERS = ("popularity", "dot", "bpr-mf", "vbpr", "lightgcn", "freedom")


@pytest.mark.parametrize("name", NAMES)
def test_dot_vectors_reproduce_score(fitted, synthetic, name):
    model, data = fitted[name], synthetic.data
    vectors = model.dot_vectors()
    if name not in DOT_SCORERS:
        assert vectors is None
        return
    users, items = vectors
    assert users.dtype == items.dtype == np.float32
    assert users.shape[0] == data.n_users and items.shape == (data.n_items, users.shape[1])
    np.testing.assert_allclose(users @ items.T, model.score(np.arange(data.n_users)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", DOT_SCORERS)
def test_recommend_through_the_engine_equals_the_scored_path(fitted, synthetic, name):
    model = fitted[name]
    users = np.arange(synthetic.data.n_users)
    for exclude_seen in (True, False):
        engine = model.recommend(users, k=15, exclude_seen=exclude_seen)
        scored = model._recommend_scored(users, 15, exclude_seen, 64)
        np.testing.assert_array_equal(engine[0], scored[0])
        np.testing.assert_allclose(engine[1], scored[1], rtol=1e-5, atol=1e-6)


def test_users_with_fewer_eligible_items_than_k_get_the_scored_paths_tail():
    from mmrec_core.bench import _factor_ranker

    ranker = _factor_ranker(30, 12, 3, seen_per_user=10, seed=2)  # up to 10 of 12 items seen: short lists
    users = np.arange(30)
    items, scores = ranker.recommend(users, k=8)
    want_items, want_scores = ranker._recommend_scored(users, 8, True, 16)
    assert np.isinf(want_scores).any()  # the case is exercised: excluded items fill the tail at -inf
    np.testing.assert_array_equal(items, want_items)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5)


ADDITIVE = ("popularity", "dot", "bpr-mf", "vbpr", "lightgcn", "freedom")


@pytest.mark.parametrize("name", ADDITIVE)
def test_score_parts_add_up_to_the_score(fitted, synthetic, name):
    """Why this?: the named parts of every additive model sum to its score, pair by pair."""
    rng = np.random.default_rng(3)
    users = rng.integers(0, synthetic.data.n_users, 200)
    items = rng.integers(0, synthetic.data.n_items, 200)
    parts = fitted[name].score_parts(users, items)
    assert parts, name
    total = np.sum(list(parts.values()), axis=0)
    np.testing.assert_allclose(total, fitted[name].score_pairs(users, items), rtol=1e-4, atol=1e-4)
    if name in ("vbpr", "freedom"):
        assert len(parts) >= 2 and all(np.abs(v).max() > 0 for v in parts.values()), "collaborative and content"


def test_an_mlp_score_has_no_parts(fitted, synthetic):
    assert fitted["mlp-bpr"].score_parts(np.array([0]), np.array([1])) is None


def test_the_oracles_parts_are_its_factor_blocks():
    users = np.array([[1.0, 2.0, 0.5, -1.0]], np.float32)
    items = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]], np.float32)
    ranker = FixedScoreRanker.from_factors(users, items, parts={"kind": slice(0, 2), "colour": slice(2, 4)})
    parts = ranker.score_parts(np.array([0, 0]), np.array([0, 1]))
    np.testing.assert_allclose(parts["kind"], [1.0, 2.0])
    np.testing.assert_allclose(parts["colour"], [-0.5, -1.0])


def test_the_dot_rankers_history_shares_add_up_and_name_the_closest_liked_item(fitted, synthetic):
    from mmrec_core.explain import explain

    data = synthetic.data
    user = 0
    liked = data.train_items[(data.train_users == user) & (data.train_labels == 1)]
    item = int(synthetic.test[user][0])
    (why,) = explain(fitted["dot"], user, np.array([item]), liked, top=len(liked))
    assert why.pushes_add_up
    assert sum(v for _, v in why.pushes) == pytest.approx(why.score, rel=1e-4)
    feats = data.item_features
    closest = liked[np.argmax(feats[liked] @ feats[item])]
    assert why.pushes[0][0] == closest
    (mf,) = explain(fitted["bpr-mf"], user, np.array([item]), liked)
    assert not mf.pushes_add_up and len(mf.pushes) == 3 and "model's item vectors" in mf.push_basis
    assert sum(mf.parts.values()) == pytest.approx(mf.score, rel=1e-4, abs=1e-5)


def test_every_fitted_ranker_survives_the_disk_store(fitted, synthetic, tmp_path, monkeypatch):
    """Trained runs are kept on disk (mmrec_core.trained): what comes back recommends exactly the same."""
    from mmrec_core import trained

    monkeypatch.setenv("MMREC_CACHE_DIR", str(tmp_path))
    assert trained.save_run("ranking", "r" * 32, fitted) is not None
    back = trained.load_run("ranking", "r" * 32)
    users = np.arange(synthetic.data.n_users)
    for name, ranker in fitted.items():
        np.testing.assert_array_equal(back[name].recommend(users, 10)[0], ranker.recommend(users, 10)[0], name)
