"""The graph rankers' parts on graphs small enough to work out by hand: normalisation, propagation, pruning,
the kNN item graph, and LightGCN with no layers being matrix factorisation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from conftest import make_synthetic

from mmrec_core.models import RankingData, create_ranker, default_config
from mmrec_core.models.graph_nets import LightGCNNet
from mmrec_core.models.graphs import (
    bipartite_adjacency,
    fused_item_graph,
    knn_adjacency,
    knn_edges,
    pruned_adjacency,
    unique_edges,
)
from mmrec_core.models.nets import MFNet

# 3 users x 3 items: u0-i0, u0-i1, u1-i1, u2-i1, u2-i2. Degrees: users 2, 1, 2; items 1, 3, 1.
USERS = torch.tensor([0, 0, 1, 2, 2])
ITEMS = torch.tensor([0, 1, 1, 1, 2])


def hand_adjacency() -> np.ndarray:
    """``D^-1/2 A D^-1/2`` of the 3x3 graph, entry by entry (nodes: u0 u1 u2 i0 i1 i2)."""
    a = np.zeros((6, 6))
    for (u, i), w in {(0, 0): 1 / np.sqrt(2 * 1), (0, 1): 1 / np.sqrt(2 * 3), (1, 1): 1 / np.sqrt(1 * 3),
                      (2, 1): 1 / np.sqrt(2 * 3), (2, 2): 1 / np.sqrt(2 * 1)}.items():
        a[u, 3 + i] = a[3 + i, u] = w
    return a


def test_the_normalised_graph_of_a_hand_built_3x3_graph():
    adj = bipartite_adjacency(USERS, ITEMS, 3, 3)
    assert adj.is_sparse and adj.shape == (6, 6) and adj._nnz() == 10  # each edge twice, nothing else
    np.testing.assert_allclose(adj.to_dense().numpy(), hand_adjacency(), rtol=1e-6)
    # a normalised adjacency of a connected bipartite graph has eigenvalues in [-1, 1], both ends reached
    eig = np.linalg.eigvalsh(hand_adjacency())
    np.testing.assert_allclose([eig.min(), eig.max()], [-1, 1], atol=1e-6)


def test_duplicate_interactions_are_one_edge():
    u, i = unique_edges(np.array([2, 0, 0, 2, 0]), np.array([1, 1, 1, 1, 0]), n_items=3)
    np.testing.assert_array_equal(u, [0, 0, 2])
    np.testing.assert_array_equal(i, [0, 1, 1])


def test_propagation_is_the_mean_of_the_layers():
    adj = bipartite_adjacency(USERS, ITEMS, 3, 3)
    net = LightGCNNet(3, 3, 4, layers=2, adjacency=adj)
    e0 = torch.cat([net.user, net.item]).detach().numpy()
    a = hand_adjacency()
    want = (e0 + a @ e0 + a @ a @ e0) / 3
    users, items = net.propagate()
    np.testing.assert_allclose(torch.cat([users, items]).detach().numpy(), want, rtol=1e-5, atol=1e-6)
    # the gradient through the sparse products (CSR on the CPU) is the dense one: d sum(W * out) / d E0
    weights = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    (torch.cat([users, items]) * weights).sum().backward()
    w = weights.numpy()
    np.testing.assert_allclose(torch.cat([net.user.grad, net.item.grad]).numpy(), (w + a @ w + a @ a @ w) / 3,
                               rtol=1e-5, atol=1e-6)


def test_lightgcn_with_no_layers_is_matrix_factorisation():
    s = make_synthetic()
    cfg = dataclasses.replace(default_config("lightgcn"), layers=0, epochs=3)
    model = create_ranker("lightgcn", cfg).fit(s.data)
    users, items = model.net.propagate()
    assert torch.equal(users, model.net.user) and torch.equal(items, model.net.item)  # no propagation at all
    p, q = model.net.user.detach().numpy(), model.net.item.detach().numpy()
    np.testing.assert_allclose(model.score(np.arange(s.data.n_users)), p @ q.T, rtol=1e-5, atol=1e-6)

    # and one BPR step moves the tables exactly as it moves matrix factorisation's (with its item bias at 0)
    from mmrec_core.losses import bpr_loss

    net = LightGCNNet(3, 3, 4, layers=0, adjacency=bipartite_adjacency(USERS, ITEMS, 3, 3))
    mf = MFNet(3, 3, 4)
    mf.user.data.copy_(net.user.data)
    mf.item.data.copy_(net.item.data)
    u, i, j = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]), torch.tensor([2, 0, 1])
    fu, fi = net.propagate()
    bpr_loss((fu[u] * fi[i]).sum(-1), (fu[u] * fi[j]).sum(-1)).backward()
    bpr_loss(mf(u, i), mf(u, j)).backward()
    torch.testing.assert_close(net.user.grad, mf.user.grad.to_dense())
    torch.testing.assert_close(net.item.grad, mf.item.grad.to_dense())


def test_knn_graph_finds_the_known_neighbours():
    # three tight groups of four items along three axes; item 12 has no vector in this modality
    rng = np.random.default_rng(0)
    group = np.repeat(np.arange(3), 4)
    vectors = np.eye(3, 8, dtype=np.float32)[group] * 5 + rng.normal(0, 0.05, (12, 8)).astype(np.float32)
    vectors = np.vstack([vectors, np.ones((1, 8), np.float32)])
    has = np.r_[np.ones(12, bool), False]
    rows, cols = knn_edges(vectors, k=4, has=has)
    assert len(rows) == 12 * 4 and 12 not in rows and 12 not in cols
    for item in range(12):
        assert sorted(cols[rows == item]) == list(np.flatnonzero(group == group[item]))  # itself included
    adj = knn_adjacency(rows, cols, 13).to_dense().numpy()
    np.testing.assert_allclose(adj.sum(1), np.r_[np.ones(12), 0], rtol=1e-5)  # k edges of 1/k: a mean
    assert np.all(adj[12] == 0) and np.all(adj[:, 12] == 0)


def test_knn_graph_asks_for_no_more_neighbours_than_there_are_items():
    rows, cols = knn_edges(np.eye(3, dtype=np.float32), k=10)
    assert len(rows) == 9 and set(cols) == {0, 1, 2}


def test_fused_item_graph_weighs_pictures_by_image_weight():
    text = knn_adjacency(np.array([0, 1]), np.array([1, 0]), 2)
    image = knn_adjacency(np.array([0, 1]), np.array([0, 1]), 2)
    fused = fused_item_graph({"text": text, "image": image}, image_weight=0.1).to_dense().numpy()
    np.testing.assert_allclose(fused, [[0.1, 0.9], [0.9, 0.1]], rtol=1e-6)
    assert fused_item_graph({"text": text}, image_weight=0.1) is text


def test_pruning_keeps_the_share_asked_and_prefers_low_degree_edges():
    # user 0 rated items 0..19 (a busy user); users 1..20 each rated one item of their own (quiet edges)
    users = torch.tensor([0] * 20 + list(range(1, 21)))
    items = torch.tensor(list(range(20)) + list(range(20, 40)))
    gen = torch.Generator().manual_seed(0)
    kept_busy, kept_quiet = 0, 0
    for _ in range(200):
        adj = pruned_adjacency(users, items, 21, 40, dropout=0.5, generator=gen)
        assert adj._nnz() == 2 * 20  # half of the 40 edges, each stored twice
        rows = adj.indices()[0]
        kept_busy += int((rows == 0).sum())
        kept_quiet += int(((rows >= 1) & (rows <= 20)).sum())
        dense = adj.to_dense()
        torch.testing.assert_close(dense, dense.T)
    # weights 1/sqrt(20 * 1) against 1/sqrt(1 * 1): the quiet users' edges are kept far more often
    assert kept_quiet > 2 * kept_busy
    full = pruned_adjacency(users, items, 21, 40, dropout=0.0)
    torch.testing.assert_close(full.to_dense(), bipartite_adjacency(users, items, 21, 40).to_dense())


def test_freedom_builds_one_graph_per_modality():
    s = make_synthetic()
    text, image = s.data.item_features, s.data.item_features[:, ::-1].copy()
    has_image = np.ones(s.data.n_items, bool)
    has_image[:10] = False
    data = dataclasses.replace(s.data, modalities={"text": (text, np.ones(s.data.n_items, bool)),
                                                   "image": (image, has_image)})
    cfg = dataclasses.replace(default_config("freedom"), epochs=2, knn=5)
    model = create_ranker("freedom", cfg).fit(data)
    assert model.net.names == ["text", "image"]
    graph = model.net.item_graph.to_dense().numpy()  # CSR on the CPU
    # items without a picture keep only their text neighbours, weighted 0.9
    np.testing.assert_allclose(graph[:10].sum(1), 0.9, rtol=1e-5)
    np.testing.assert_allclose(graph[10:].sum(1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="item features"):
        create_ranker("freedom", cfg).fit(RankingData(s.data.n_users, s.data.n_items, s.data.train_users,
                                                      s.data.train_items, s.data.train_labels))
