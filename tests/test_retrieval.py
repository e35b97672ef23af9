"""Top-K retrieval: the exact engine is stable_top_k (ties, exclusion, block edges); FAISS agrees or nearly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mmrec_core.retrieval import ENGINES, ItemIndex, RetrievalConfig, build_index, recall_at_k
from mmrec_core.topk import stable_top_k


def _expected(queries, items, k, exclude=None):
    """stable_top_k of the dense scores, -inf (excluded) entries as -1 padding."""
    scores = queries.astype(np.float64) @ items.T.astype(np.float64)
    scores = scores.astype(np.float32)
    if exclude is not None:
        scores[exclude.nonzero()] = -np.inf
    top, vals = stable_top_k(scores, k)
    return np.where(vals == -np.inf, -1, top), vals


def _integer_problem(n_queries, n_items, dim, seed=0):
    # small integers: exact float products and many equal scores
    rng = np.random.default_rng(seed)
    return (rng.integers(-2, 3, (n_queries, dim)).astype(np.float32),
            rng.integers(-2, 3, (n_items, dim)).astype(np.float32))  # fmt: skip


@pytest.mark.parametrize(("block", "item_block"), [(16, 64), (64, 96), (1000, 10_000)])
def test_exact_equals_stable_top_k_with_ties_and_exclusion(block, item_block):
    queries, items = _integer_problem(150, 1001, 6)  # 1001: no tile or chunk size divides it
    exclude = sp.random(150, 1001, density=0.05, format="csr", random_state=3)
    index = build_index(items, "exact", block=block, item_block=item_block)
    top, vals = index.search(queries, 12, exclude=exclude)
    want, want_vals = _expected(queries, items, 12, exclude)
    assert top.dtype == np.int64 and vals.dtype == np.float32
    np.testing.assert_array_equal(top, want)
    np.testing.assert_array_equal(vals, want_vals)
    assert not np.take_along_axis(exclude.toarray() > 0, top, 1).any()


def test_all_scores_equal_gives_the_lowest_indices():
    items = np.ones((500, 3), np.float32)
    top, vals = build_index(items, block=4, item_block=64).search(np.ones((9, 3), np.float32), 5)
    np.testing.assert_array_equal(top, np.tile(np.arange(5), (9, 1)))
    np.testing.assert_array_equal(vals, np.full((9, 5), 3.0, np.float32))


def test_rows_with_too_few_eligible_items_are_padded():
    items = np.eye(4, dtype=np.float32)
    queries = np.array([[1, 2, 3, 4], [4, 3, 2, 1]], np.float32)
    exclude = sp.csr_matrix(np.array([[1, 1, 1, 0], [0, 0, 0, 0]]))
    top, vals = build_index(items).search(queries, 6, exclude=exclude)
    np.testing.assert_array_equal(top, [[3, -1, -1, -1, -1, -1], [0, 1, 2, 3, -1, -1]])
    np.testing.assert_array_equal(vals[0], [4, -np.inf, -np.inf, -np.inf, -np.inf, -np.inf])
    np.testing.assert_array_equal(vals[1, :4], [4, 3, 2, 1])


def test_nan_scores_rank_last_like_stable_top_k():
    items = np.array([[1.0], [np.nan], [3.0], [2.0]], np.float32)
    top, vals = build_index(items).search(np.ones((1, 1), np.float32), 3)
    np.testing.assert_array_equal(top, [[2, 3, 0]])


def test_exact_on_random_floats_matches_a_full_sort():
    rng = np.random.default_rng(1)
    items = rng.standard_normal((3000, 16), dtype=np.float32)
    queries = rng.standard_normal((70, 16), dtype=np.float32)
    top, vals = build_index(items, block=32, item_block=500).search(queries, 20)
    scores = queries @ items.T
    np.testing.assert_array_equal(top, np.argsort(-scores, axis=1, kind="stable")[:, :20])
    np.testing.assert_allclose(vals, np.take_along_axis(scores, top, 1), rtol=1e-5)


def test_faiss_flat_equals_exact_on_distinct_scores():
    rng = np.random.default_rng(2)
    items = rng.standard_normal((2000, 8), dtype=np.float32)
    queries = rng.standard_normal((40, 8), dtype=np.float32)
    exclude = sp.random(40, 2000, density=0.01, format="csr", random_state=4)
    exact = build_index(items).search(queries, 10, exclude=exclude)
    flat = build_index(items, "faiss-flat", block=16).search(queries, 10, exclude=exclude)
    np.testing.assert_array_equal(flat[0], exact[0])
    np.testing.assert_allclose(flat[1], exact[1], rtol=1e-5)


def _clustered(n_items, n_queries, dim, seed):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, dim)).astype(np.float32)
    items = centres[rng.integers(0, 40, n_items)] + 0.3 * rng.standard_normal((n_items, dim))
    queries = centres[rng.integers(0, 40, n_queries)] + 0.3 * rng.standard_normal((n_queries, dim))
    return items.astype(np.float32), queries.astype(np.float32)


def test_hnsw_recall_at_its_default_setting():
    items, queries = _clustered(5000, 200, 16, seed=5)
    exclude = sp.random(200, 5000, density=0.002, format="csr", random_state=6)
    exact, _ = build_index(items).search(queries, 20, exclude=exclude)
    found, _ = build_index(items, "faiss-hnsw").search(queries, 20, exclude=exclude)
    assert recall_at_k(found, exact) >= 0.99
    assert not np.take_along_axis(exclude.toarray() > 0, np.maximum(found, 0), 1)[found >= 0].any()


@pytest.mark.parametrize("engine", ENGINES)
def test_bytes_round_trip(engine):
    items, queries = _clustered(600, 30, 8, seed=7)
    index = build_index(items, engine, hnsw_m=8, block=10)
    back = ItemIndex.from_bytes(index.to_bytes())
    assert back.config == index.config and (back.n_items, back.dim) == (600, 8)
    for a, b in zip(index.search(queries, 7), back.search(queries, 7), strict=True):
        np.testing.assert_array_equal(a, b)


def test_from_bytes_refuses_other_data():
    with pytest.raises(ValueError, match="magic"):
        ItemIndex.from_bytes(b"\x80\x04not an index")


def test_recall_at_k_by_hand():
    exact = np.array([[1, 2, 3], [4, 5, -1]])
    found = np.array([[3, 9, 1], [5, -1, -1]])
    assert recall_at_k(found, exact) == pytest.approx(3 / 5)  # rows: {1, 3} of 3, {5} of 2
    assert np.isnan(recall_at_k(found[:, :0], np.full((2, 2), -1)))


def test_bad_engine_name_lists_the_engines():
    with pytest.raises(ValueError, match="faiss-flat"):
        build_index(np.zeros((3, 2), np.float32), "annoy")
    with pytest.raises(ValueError, match="exact"):
        ItemIndex(np.zeros((3, 2), np.float32), RetrievalConfig(engine="nope"))


def test_shapes_are_checked():
    index = build_index(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="queries"):
        index.search(np.zeros((1, 3), np.float32), 2)
    with pytest.raises(ValueError, match="exclude"):
        index.search(np.zeros((1, 2), np.float32), 2, exclude=sp.csr_matrix((1, 4)))


def test_progress_reaches_every_query():
    events = []
    build_index(np.eye(3, dtype=np.float32), block=2).search(
        np.eye(3, dtype=np.float32), 1, progress=events.append
    )
    assert [e.done for e in events] == [2, 3] and events[-1].total == 3
