"""Benchmarks run tiny: the numbers exist and are positive (speed is measured elsewhere, not asserted)."""

from __future__ import annotations

import numpy as np
import pytest

from mmrec_core.bench import _factor_ranker, bench_rank, bench_train, pair_flops


def test_bench_train_tiny():
    out = bench_train(pairs=3000, dim=16, naive_pairs=20, device="cpu", peak_n=256)
    for key in ("pairs_per_s", "naive_pairs_per_s", "speedup", "gflops", "peak_gflops"):
        assert out[key] > 0, key
    assert out["batch_size"] in (256, 1024, 4096, 16384) and len(out["batch_rates"]) == 4
    assert out["dim"] == 16 and out["device"] == "cpu" and out["threads"] >= 1 and out["machine"]
    fixed = bench_train(pairs=500, dim=8, naive_pairs=5, device="cpu", batch_size=64, peak_n=128)
    assert fixed["batch_size"] == 64 and fixed["batch_rates"] == {}


def test_pair_flops():
    d, h = 512, 128
    assert pair_flops(d, h) == 2 * (6 * d * h + 4 * h)


def test_bench_rank_tiny():
    engines = ("exact", "faiss-flat", "faiss-hnsw")
    out = bench_rank(n_users=300, n_items=500, dim=8, k=5, engines=engines, sample_users=100, peak_n=128)
    assert out["seconds"] > 0 and out["path"].startswith("Ranker.recommend")
    assert (out["n_users"], out["n_items"], out["k"]) == (300, 500, 5)
    for key in ("gflops", "peak_gflops", "peak_fraction"):
        assert out[key] > 0, key
    assert out["gflops"] == pytest.approx(2 * 8 * 300 * 500 / out["seconds"] / 1e9)
    assert set(out["engines"]) == {"faiss-flat", "faiss-hnsw"}
    flat, hnsw = out["engines"]["faiss-flat"], out["engines"]["faiss-hnsw"]
    assert flat["users"] == hnsw["users"] == 100
    assert flat["recall@5"] == 1.0  # exact inner products: the same lists (random scores have no ties)
    assert 0.9 <= hnsw["recall@5"] <= 1.0 and hnsw["speedup"] > 0 and hnsw["build_s"] > 0


def test_bench_rank_refuses_an_unknown_engine():
    with pytest.raises(ValueError, match="faiss-hnsw"):
        bench_rank(n_users=10, n_items=10, dim=2, k=2, engines=("annoy",))


def test_recommend_equals_a_full_sort_with_seen_items_masked():
    ranker = _factor_ranker(50, 80, 4, seen_per_user=5, seed=1)
    users = np.arange(50)
    items, scores = ranker.recommend(users, 10, chunk_size=16)
    full = ranker.score(users)
    full[ranker._seen.nonzero()] = -np.inf
    expected = np.argsort(-full, axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(items, expected)
    np.testing.assert_allclose(scores, np.take_along_axis(full, expected, axis=1), rtol=1e-5)
