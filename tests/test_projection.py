"""2-D projections: PCA exactly on known data; UMAP once, on 200 points, marked slow."""

import numpy as np
import pytest

from mmrec_core import projection


def test_pca_recovers_the_dominant_axes():
    rng = np.random.default_rng(0)
    x = np.zeros((100, 5))
    x[:, 2] = rng.normal(scale=10, size=100)
    x[:, 4] = rng.normal(scale=1, size=100)
    out = projection.project(x, method="pca")
    assert out.shape == (100, 2) and out.dtype == np.float32
    centred = x[:, 2] - x[:, 2].mean()
    assert abs(np.corrcoef(out[:, 0], centred)[0, 1]) == pytest.approx(1.0, abs=1e-6)
    assert out[:, 0].var() > out[:, 1].var()


def test_pca_is_deterministic_and_handles_tiny_inputs():
    x = np.random.default_rng(1).normal(size=(30, 8))
    np.testing.assert_array_equal(projection.pca_2d(x), projection.pca_2d(x.copy()))
    assert projection.project(np.ones((1, 4)), "pca").shape == (1, 2)
    assert projection.project(np.ones((3, 1)), "pca").shape == (3, 2)  # one dimension: second column zero


def test_project_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown projection"):
        projection.project(np.zeros((3, 2)), method="tsne")
    with pytest.raises(ValueError, match="2-D"):
        projection.project(np.zeros(3), method="pca")


@pytest.mark.slow
def test_umap_separates_two_clusters():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(100, 16)) + np.r_[5, np.zeros(15)]
    b = rng.normal(size=(100, 16)) + np.r_[0, 5, np.zeros(14)]
    x = np.vstack([a, b]).astype(np.float32)
    x[0] = 0  # a zero row (item with no embedding) must not produce NaN
    out = projection.project(x, method="umap", seed=0)
    assert out.shape == (200, 2) and np.isfinite(out).all()
    ca, cb = out[1:100].mean(axis=0), out[100:].mean(axis=0)
    spread = max(out[1:100].std(axis=0).max(), out[100:].std(axis=0).max())
    assert np.linalg.norm(ca - cb) > 2 * spread
    assert projection.umap_ready()


def test_nearest_neighbours_by_cosine_skipping_self_and_invalid():
    x = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0], [1, 0.01]], dtype=np.float32)
    idx, sims = projection.nearest_neighbours(x, 0, k=3)
    assert list(idx) == [4, 1, 2]
    assert sims[0] == pytest.approx(1.0, abs=1e-3) and sims[2] == pytest.approx(0.0, abs=1e-6)
    idx, _ = projection.nearest_neighbours(x, 0, k=10, valid=np.array([1, 0, 1, 1, 0], bool))
    assert list(idx) == [2, 3]


def test_audience_clusters_follow_the_raters():
    profiles = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1]], dtype=np.float32)
    users = np.array([0, 1, 2, 3, 0])
    items = np.array([0, 0, 1, 1, 2])
    out = projection.audience_clusters(profiles, users, items, n_items=4, n_clusters=2)
    assert out[0] == out[2] != out[1]
    assert out[3] == -1


def test_nearest_neighbours_equal_the_brute_force_cosine_with_every_engine():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 12)).astype(np.float32)
    x[7] = 0  # an item without a vector: similarity 0 to everything
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    sims = unit @ unit[3]
    sims[3] = -np.inf
    want = np.argsort(-sims, kind="stable")[:10]
    for engine in ("exact", "faiss-flat"):
        idx, got = projection.nearest_neighbours(x, 3, k=10, engine=engine)
        assert list(idx) == list(want)
        np.testing.assert_allclose(got, sims[want], rtol=1e-5, atol=1e-6)
    ties = np.ones((6, 2), np.float32)  # all equally similar: lower indices first
    assert list(projection.nearest_neighbours(ties, 2, k=3)[0]) == [0, 1, 3]
