"""Study B's rating classifier in PyTorch, trained with Keras's semantics.

Matching the original Keras run: class weights "balanced" multiply the training loss only (Keras applies
``class_weight`` to training batches, never to ``val_loss``), the weighted loss is divided by the batch size
(Keras's ``sum_over_batch_size``), early stopping watches the unweighted validation loss (patience 12,
restoring the best weights), ReduceLROnPlateau halves the rate after 5 epochs without an improvement of
1e-4 (Keras's absolute ``min_delta``), Adam uses Keras's epsilon 1e-7, and training batches are
reshuffled every epoch. Features are fed raw, as the study did (the BatchNorm after the first layer takes
care of scale). A final training batch of one row is dropped: BatchNorm cannot normalise a single row.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np

from mmrec_core.config import ClassifierConfig
from mmrec_core.models.base import EpochCallback

log = logging.getLogger("mmrec.classifier")

N_CLASSES = 5


def rating_labels(ratings: np.ndarray) -> np.ndarray:
    """Class indices 0..4 of ratings rounded (half to even, as numpy/pandas) and clipped to 1..5."""
    return (np.clip(np.rint(np.asarray(ratings, np.float64)), 1, 5) - 1).astype(np.int64)


class RatingClassifier:
    """Dense 1024-512-128 network with BatchNorm and Dropout 0.4/0.3/0.2 over 5 rating classes.

    After ``fit``: ``history`` (dict of lists: loss, accuracy, val_loss, val_accuracy, lr), ``best_epoch``
    (1-based), ``net`` (the :class:`~mmrec_core.models.nets.RatingNet` with the best weights).
    """

    def __init__(self, config: ClassifierConfig | None = None):
        self.config = config or ClassifierConfig()
        self.net: Any = None
        self.device = "cpu"
        self.history: dict[str, list[float]] = {}
        self.best_epoch: int | None = None
        self.class_weights: np.ndarray | None = None

    def fit(
        self,
        X_train: np.ndarray,
        y_train: np.ndarray,
        X_val: np.ndarray,
        y_val: np.ndarray,
        callback: EpochCallback | None = None,
    ) -> Self:
        """Train on class indices ``y_train`` (0..4), validating on ``(X_val, y_val)`` after every epoch."""
        import torch

        from mmrec_core.encoders.base import pick_device
        from mmrec_core.losses import balanced_class_weights, weighted_cross_entropy
        from mmrec_core.models.nets import RatingNet
        from mmrec_core.models.neural import as_tensor
        from mmrec_core.train import EarlyStopping, batches, cpu_threads, seeded

        cfg = self.config
        self.device = dev = pick_device(cfg.device)
        X, Xv = as_tensor(X_train, dev, torch.float32), as_tensor(X_val, dev, torch.float32)
        y, yv = as_tensor(y_train, dev, torch.int64), as_tensor(y_val, dev, torch.int64)
        if len(X) < 2:
            raise ValueError("the classifier needs at least 2 training rows")
        weights = None
        if cfg.class_weight == "balanced":
            self.class_weights = balanced_class_weights(np.asarray(y_train), N_CLASSES)
            weights = as_tensor(self.class_weights, dev, torch.float32)
        with cpu_threads(cfg.threads, dev):
            with seeded(cfg.seed):
                self.net = net = RatingNet(X.shape[1], N_CLASSES).to(dev)
            opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, eps=1e-7)
            plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                opt, mode="min", factor=cfg.lr_factor, patience=cfg.lr_patience, min_lr=cfg.min_lr,
                threshold=1e-4, threshold_mode="abs",
            )  # fmt: skip
            stopper = EarlyStopping(cfg.patience, mode="min")
            generator = torch.Generator().manual_seed(cfg.seed)
            hist: dict[str, list[float]] = {k: [] for k in ("loss", "accuracy", "val_loss", "val_accuracy", "lr")}
            for epoch in range(1, cfg.epochs + 1):
                lr = opt.param_groups[0]["lr"]
                net.train()
                loss_sum, correct, seen = torch.zeros((), device=dev), torch.zeros((), device=dev), 0
                with seeded(cfg.seed * 1000 + epoch):  # dropout masks reproducible per epoch
                    for idx in batches(len(X), cfg.batch_size, generator, dev):
                        if len(idx) < 2:
                            continue
                        logits = net(X[idx])
                        loss = weighted_cross_entropy(logits, y[idx], weights)
                        opt.zero_grad(set_to_none=True)
                        loss.backward()
                        opt.step()
                        loss_sum += loss.detach() * len(idx)
                        correct += (logits.argmax(1) == y[idx]).sum()
                        seen += len(idx)
                val_loss, val_acc = self._evaluate(Xv, yv)
                plateau.step(val_loss)
                record = {
                    "loss": float(loss_sum) / max(seen, 1),
                    "accuracy": float(correct) / max(seen, 1),
                    "val_loss": val_loss,
                    "val_accuracy": val_acc,
                    "lr": lr,
                }
                for key, value in record.items():
                    hist[key].append(value)
                log.info("classifier epoch %d/%d %s", epoch, cfg.epochs, record)
                if callback is not None:
                    callback({"model": "classifier", "epoch": epoch, "epochs": cfg.epochs, **record})
                if stopper.update(val_loss, epoch, [net]):
                    log.info("classifier: early stop at epoch %d (best %d)", epoch, stopper.best_epoch)
                    break
            stopper.restore([net])  # Keras 3 restores the best weights whether or not it stopped early
        net.eval()
        self.history, self.best_epoch = hist, stopper.best_epoch or None
        return self

    def _evaluate(self, X, y) -> tuple[float, float]:
        import torch

        from mmrec_core.losses import weighted_cross_entropy

        if len(X) == 0:
            return math.nan, math.nan
        self.net.eval()
        with torch.no_grad():
            logits = torch.cat([self.net(X[s : s + 4096]) for s in range(0, len(X), 4096)])
            loss = weighted_cross_entropy(logits, y)  # unweighted, as Keras's val_loss
            return float(loss), float((logits.argmax(1) == y).float().mean())

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, 5)`` for ratings 1..5."""
        import torch

        from mmrec_core.models.neural import as_tensor

        if self.net is None:
            raise RuntimeError("call fit() before predict")
        self.net.eval()
        x = as_tensor(X, self.device, torch.float32)
        with torch.no_grad():
            out = [torch.softmax(self.net(x[s : s + 4096]), 1) for s in range(0, len(x), 4096)]
        return (torch.cat(out) if out else torch.zeros((0, N_CLASSES))).cpu().numpy()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted ratings 1..5."""
        return self.predict_proba(X).argmax(1) + 1


@dataclass
class ClassifierRun:
    """Output of :func:`train_classifier`; ratings are 1..5, indices refer to rows of the input ``X``."""

    y_test: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray
    history: dict[str, list[float]]
    best_epoch: int | None
    test_index: np.ndarray
    train_index: np.ndarray
    model: RatingClassifier | None = field(default=None, repr=False)


def _split(index: np.ndarray, labels: np.ndarray, test_size: float, seed: int):
    from sklearn.model_selection import train_test_split

    counts = np.bincount(labels, minlength=N_CLASSES)
    if (counts[counts > 0] < 2).any():
        log.warning("a rating class has fewer than 2 rows: splitting without stratification")
        return train_test_split(index, test_size=test_size, random_state=seed)
    return train_test_split(index, test_size=test_size, random_state=seed, stratify=labels)


def train_classifier(
    X: np.ndarray,
    ratings: np.ndarray,
    config: ClassifierConfig | None = None,
    callback: EpochCallback | None = None,
) -> ClassifierRun:
    """Study B end to end: labels, stratified 80/20 split (seed), fit, predictions on the test split.

    ``config.validation``: "split" (default) holds out 10 % of train (stratified, seeded) for early stopping and
    the learning-rate schedule; "test" watches the test split, as the original notebook did.
    """
    config = config or ClassifierConfig()
    X = np.asarray(X, np.float32)
    labels = rating_labels(ratings)
    train_idx, test_idx = _split(np.arange(len(labels)), labels, config.test_size, config.seed)
    if config.validation == "test":
        fit_idx, val_idx = train_idx, test_idx
    elif config.validation == "split":
        fit_idx, val_idx = _split(train_idx, labels[train_idx], 0.1, config.seed)
    else:
        raise ValueError(f"validation must be 'test' or 'split', got {config.validation!r}")
    model = RatingClassifier(config).fit(X[fit_idx], labels[fit_idx], X[val_idx], labels[val_idx], callback)
    proba = model.predict_proba(X[test_idx])
    return ClassifierRun(
        y_test=labels[test_idx] + 1, y_pred=proba.argmax(1) + 1, proba=proba, history=model.history,
        best_epoch=model.best_epoch, test_index=np.asarray(test_idx), train_index=np.asarray(train_idx),
        model=model,
    )  # fmt: skip
