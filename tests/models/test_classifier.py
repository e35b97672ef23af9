"""Study B's rating classifier: architecture, class weights, Keras-like schedule, learning floor."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
import torch
from torch import nn

from mmrec_core.config import ClassifierConfig
from mmrec_core.losses import balanced_class_weights, weighted_cross_entropy
from mmrec_core.models.classifier import RatingClassifier, rating_labels, train_classifier
from mmrec_core.models.nets import RatingNet

FAST = ClassifierConfig(epochs=15, device="cpu")


def separable(n: int = 400, dim: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ratings = rng.integers(1, 6, n).astype(float)
    X = rng.normal(0, 0.5, (n, dim)).astype(np.float32)
    X[np.arange(n), ratings.astype(int) - 1] += 3.0
    return X, ratings


def test_architecture_is_study_b():
    layers = list(RatingNet(2816).layers)
    kinds = [type(m).__name__ for m in layers]
    assert kinds == ["Linear", "ReLU", "BatchNorm1d", "Dropout", "Linear", "ReLU", "BatchNorm1d", "Dropout",
                     "Linear", "ReLU", "Dropout", "Linear"]  # fmt: skip
    linear = [(m.in_features, m.out_features) for m in layers if isinstance(m, nn.Linear)]
    assert linear == [(2816, 1024), (1024, 512), (512, 128), (128, 5)]
    assert [m.p for m in layers if isinstance(m, nn.Dropout)] == [0.4, 0.3, 0.2]
    assert [m.num_features for m in layers if isinstance(m, nn.BatchNorm1d)] == [1024, 512]


def test_balanced_weights_match_sklearn():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.array([0, 0, 0, 1, 2, 2, 3, 4, 4, 4, 4])
    expected = compute_class_weight("balanced", classes=np.arange(5), y=labels)
    np.testing.assert_allclose(balanced_class_weights(labels, 5), expected, rtol=1e-6)
    missing = np.array([0, 0, 1, 4])  # classes 2 and 3 absent
    present = compute_class_weight("balanced", classes=np.array([0, 1, 4]), y=missing)
    np.testing.assert_allclose(balanced_class_weights(missing, 5), [present[0], present[1], 0, 0, present[2]])


def test_weighted_loss_is_keras_reduction():
    logits, target = torch.randn(4, 5), torch.tensor([0, 1, 1, 4])
    w = torch.tensor([1.0, 2.0, 1.0, 1.0, 3.0])
    per = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    torch.testing.assert_close(weighted_cross_entropy(logits, target, w), (per * w[target]).sum() / 4)
    torch.testing.assert_close(weighted_cross_entropy(logits, target), per.mean())


def test_rating_labels_round_and_clip():
    np.testing.assert_array_equal(rating_labels([0.0, 1.4, 2.5, 3.6, 5.0, 6.0]), [0, 0, 1, 3, 4, 4])


def test_learns_a_separable_problem():
    X, ratings = separable()
    events: list[dict] = []
    run = train_classifier(X, ratings, FAST, callback=events.append)
    assert np.mean(run.y_pred == run.y_test) > 0.8  # chance is 0.2
    assert set(run.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert len(events) == len(run.history["loss"]) and events[0]["model"] == "classifier"
    assert run.proba.shape == (len(run.y_test), 5)
    np.testing.assert_allclose(run.proba.sum(1), 1, rtol=1e-5)
    assert set(run.y_pred) <= {1, 2, 3, 4, 5} and len(run.test_index) == 80
    assert not set(run.test_index) & set(run.train_index)
    # stratified: every class keeps its share in the test split
    full = np.bincount(rating_labels(ratings), minlength=5)
    assert np.all(np.abs(np.bincount(run.y_test - 1, minlength=5) - 0.2 * full) <= 1)


def _diverging() -> tuple[np.ndarray, ...]:
    """Validation labels contradict the training labels: validation loss rises as training proceeds."""
    X, ratings = separable(300)
    y = rating_labels(ratings)
    return X[:200], y[:200], X[200:], (y[200:] + 2) % 5


def test_early_stopping_restores_the_best_weights():
    Xt, yt, Xv, yv = _diverging()
    model = RatingClassifier(dataclasses.replace(FAST, epochs=40, patience=3)).fit(Xt, yt, Xv, yv)
    val = model.history["val_loss"]
    assert len(val) == model.best_epoch + 3 < 40
    assert model.best_epoch == int(np.argmin(val)) + 1
    restored, _ = model._evaluate(torch.as_tensor(Xv), torch.as_tensor(yv))
    assert restored == pytest.approx(min(val), rel=1e-5)


def test_lr_halves_on_plateau_down_to_min():
    Xt, yt, Xv, yv = _diverging()
    cfg = dataclasses.replace(FAST, epochs=10, patience=20, lr_patience=1, min_lr=2.5e-4)
    lrs = RatingClassifier(cfg).fit(Xt, yt, Xv, yv).history["lr"]
    assert lrs[0] == 1e-3 and 5e-4 in lrs and lrs[-1] == pytest.approx(2.5e-4)
    assert all(b <= a for a, b in zip(lrs, lrs[1:], strict=False))


def test_validation_split_and_errors(caplog):
    X, ratings = separable(200)
    run = train_classifier(X, ratings, dataclasses.replace(FAST, epochs=2, validation="split"))
    assert len(run.history["loss"]) == 2
    with pytest.raises(ValueError, match="validation"):
        train_classifier(X, ratings, dataclasses.replace(FAST, validation="nope"))
    ratings[0] = 5.0
    ratings[ratings == 5.0] = 4.0
    ratings[0] = 5.0  # a class with a single member cannot be stratified
    with caplog.at_level(logging.WARNING, logger="mmrec.classifier"):
        train_classifier(X, ratings, dataclasses.replace(FAST, epochs=1))
    assert "stratification" in caplog.text
    with pytest.raises(RuntimeError, match="fit"):
        RatingClassifier().predict(X)


def test_deterministic():
    X, ratings = separable(150)
    cfg = dataclasses.replace(FAST, epochs=3)
    a, b = train_classifier(X, ratings, cfg), train_classifier(X, ratings, cfg)
    np.testing.assert_array_equal(a.proba, b.proba)
