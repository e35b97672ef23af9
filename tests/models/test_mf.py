"""BPR-MF and VBPR specifics, the negative sampler and the registry."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from conftest import make_synthetic

from mmrec_core.config import TrainConfig
from mmrec_core.models import DEFAULT_OVERRIDES, RANKERS, create_ranker, default_config, ranker_info
from mmrec_core.models.mf import BPRMFRanker
from mmrec_core.models.neural import NegativeSampler
from mmrec_core.models.vbpr import VBPRRanker


def test_sampler_never_returns_a_positive():
    users = np.repeat(np.arange(3), 4)
    items = np.array([0, 1, 2, 3, 1, 2, 3, 4, 5, 6, 7, 8])
    sampler = NegativeSampler(users, items, n_items=10, device="cpu", seed=0)
    query = torch.as_tensor(np.repeat(np.arange(3), 500))
    neg = sampler.sample(query, rounds=20).numpy()
    positives = {(u, i) for u, i in zip(users, items, strict=True)}
    assert not any((u, i) in positives for u, i in zip(query.numpy(), neg, strict=True))
    assert set(neg[query.numpy() == 0]) == {4, 5, 6, 7, 8, 9}
    again = NegativeSampler(users, items, n_items=10, device="cpu", seed=0).sample(query, rounds=20)
    np.testing.assert_array_equal(neg, again.numpy())


def test_explicit_negatives_train_on_study_pairs():
    s = make_synthetic(n_users=20)
    model = BPRMFRanker(TrainConfig(epochs=2, negatives="explicit")).fit(s.data)
    assert len(model.history) == 2 and model._before_epoch is None
    with pytest.raises(ValueError, match="negatives"):
        BPRMFRanker(TrainConfig(negatives="nope")).fit(s.data)


def test_weight_decay_shrinks_factors():
    s = make_synthetic(n_users=40)
    plain = BPRMFRanker(TrainConfig(epochs=10, lr=1e-2)).fit(s.data)
    reg = BPRMFRanker(TrainConfig(epochs=10, lr=1e-2, weight_decay=1.0)).fit(s.data)
    assert reg.net.user.norm() < plain.net.user.norm()


def test_vbpr_score_formula_and_missing_features():
    s = make_synthetic(n_users=20)
    has = np.ones(s.data.n_items, bool)
    has[:3] = False
    model = VBPRRanker(TrainConfig(epochs=2)).fit(dataclasses.replace(s.data, has_features=has))
    net = model.net
    assert torch.count_nonzero(net.features[:3]) == 0  # items without a vector use f_i = 0
    u, i = 4, 7
    f = net.features[i]
    expected = net.bias[i] + net.user[u] @ net.item[i] + net.theta[u] @ net.proj(f) + net.beta @ f
    assert model.score(np.array([u]), np.array([i]))[0, 0] == pytest.approx(
        float(expected.detach()), rel=1e-5
    )
    with pytest.raises(ValueError, match="item features"):
        VBPRRanker().fit(dataclasses.replace(s.data, item_features=None))


def test_registry():
    assert list(RANKERS) == ["popularity", "dot", "mlp-bpr", "bpr-mf", "vbpr", "lightgcn", "freedom"]
    info = {name: needs for name, _label, _desc, needs in ranker_info()}
    assert info == {"popularity": False, "dot": True, "mlp-bpr": True, "bpr-mf": False, "vbpr": True,
                    "lightgcn": False, "freedom": True}
    assert all(label and desc for _n, label, desc, _f in ranker_info())
    assert create_ranker("bpr-mf").config.epochs == DEFAULT_OVERRIDES["bpr-mf"]["epochs"]
    assert create_ranker("mlp-bpr").config == TrainConfig(batch_size=32)  # the study's settings, batches of 32
    assert create_ranker("dot").config == TrainConfig()
    given = TrainConfig(epochs=3)
    assert create_ranker("vbpr", given).config is given
    assert default_config("vbpr", given).epochs == DEFAULT_OVERRIDES["vbpr"]["epochs"]
    with pytest.raises(KeyError, match="known"):
        create_ranker("nope")
