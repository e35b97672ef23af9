"""Study A's MLP ranker: the architecture, the user-half trick, the study's training settings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from conftest import make_synthetic

from mmrec_core.config import TrainConfig
from mmrec_core.models.mlp_bpr import MLPBPRRanker
from mmrec_core.models.nets import MLPScorer


def test_architecture_is_the_study_network():
    net = MLPScorer(dim=12)
    w1, b1 = net.first_layer
    assert tuple(w1.shape) == (128, 24) and tuple(b1.shape) == (128,)
    assert (net.fc2.in_features, net.fc2.out_features) == (128, 1)
    x = torch.randn(3, 24)
    expected = net.fc2(torch.relu(torch.nn.functional.linear(x, w1, b1))).squeeze(-1)
    torch.testing.assert_close(net(x[:, :12], x[:, 12:]), expected)
    # initialised as one Linear(24, 128): uniform within 1/sqrt(24)
    torch.manual_seed(0)
    big = MLPScorer(dim=200, hidden=256)
    w1, b1 = big.first_layer
    bound = 1 / 400**0.5
    assert w1.abs().max() <= bound and w1.abs().max() > 0.95 * bound and b1.abs().max() <= bound


def test_user_half_trick_equals_naive_forward():
    torch.manual_seed(0)
    net = MLPScorer(dim=8, hidden=16)
    u, pos, neg = torch.randn(5, 8), torch.randn(5, 8), torch.randn(5, 8)
    s_pos, s_neg = net.pair_scores(u, torch.cat([pos, neg]))
    torch.testing.assert_close(s_pos, net(u, pos))
    torch.testing.assert_close(s_neg, net(u, neg))
    items = torch.randn(7, 8)
    full = net.score_matrix(u, items, budget=16 * 7)  # forces one user per chunk
    naive = torch.stack([net(u[i].expand(7, 8), items) for i in range(5)])
    torch.testing.assert_close(full, naive)


def test_trains_on_user_profiles_and_item_vectors():
    s = make_synthetic()
    model = MLPBPRRanker(TrainConfig(epochs=1)).fit(s.data)
    np.testing.assert_allclose(model._users.numpy(), s.data.user_profiles())
    np.testing.assert_allclose(model._items.numpy(), s.data.item_features)


def test_batch_size_one_reproduces_the_per_pair_schedule():
    s = make_synthetic(n_users=8)
    steps: list[int] = []
    model = MLPBPRRanker(TrainConfig(epochs=1, batch_size=1))
    model.fit(s.data, callback=lambda e: steps.append(e["epoch"]))
    assert steps == [1] and np.isfinite(model.history[0]["loss"])


def test_pairs_without_item_vectors_are_skipped():
    s = make_synthetic(n_users=10)
    has = np.ones(s.data.n_items, bool)
    has[np.unique(s.data.pair_pos)] = False  # every pair loses its positive: nothing to train on
    data = dataclasses.replace(s.data, has_features=has)
    model = MLPBPRRanker(TrainConfig(epochs=2)).fit(data)
    assert model.history == [] and model.score(np.arange(3)).shape == (3, data.n_items)


def test_early_stopping_keeps_best_weights():
    s = make_synthetic(n_users=30)
    script = iter([0.1, 0.5, 0.2, 0.1, 0.0, 0.0])
    best: dict[str, np.ndarray] = {}

    def validation(model):
        value = next(script)
        if value == 0.5:
            best["scores"] = model.score(np.arange(5))
            best["weights"] = {k: v.clone() for k, v in model.net.state_dict().items()}
        return {"ndcg@10": value}

    model = MLPBPRRanker(TrainConfig(epochs=6, early_stopping_patience=2)).fit(s.data, validation=validation)
    assert [h["epoch"] for h in model.history] == [1, 2, 3, 4] and model.best_epoch == 2
    assert model.history[-1]["ndcg@10"] == 0.1
    for name, weight in model.net.state_dict().items():
        torch.testing.assert_close(weight, best["weights"][name], rtol=0, atol=0)
    # scored with 1 torch thread during training and the default after it: equal up to float summation order
    np.testing.assert_allclose(model.score(np.arange(5)), best["scores"], rtol=1e-6, atol=1e-6)


def test_needs_item_features():
    s = make_synthetic(n_users=5)
    with pytest.raises(ValueError, match="item features"):
        MLPBPRRanker().fit(dataclasses.replace(s.data, item_features=None))
    with pytest.raises(RuntimeError, match="fit"):
        MLPBPRRanker().score(np.arange(2))
