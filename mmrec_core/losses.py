"""Pure loss functions of score tensors (no model state), Spotlight-style."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def bpr_loss(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """Bayesian personalised ranking loss ``-log(sigmoid(pos - neg))``, averaged.

    Written as ``softplus(neg - pos)``: the same value, but it never takes ``log(0)`` when the margin is large.
    """
    import torch.nn.functional as F

    return F.softplus(neg - pos).mean()


def l2_penalty(*tensors: torch.Tensor) -> torch.Tensor:
    """Sum of squared entries divided by the batch size (rows of the first tensor): BPR's per-batch regulariser."""
    total = sum((t.pow(2).sum() for t in tensors[1:]), tensors[0].pow(2).sum())
    return total / max(len(tensors[0]), 1)


def balanced_class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """``n_samples / (n_present_classes * bincount)`` per class, as scikit-learn's ``compute_class_weight``.

    scikit-learn counts only the classes present in ``labels``; absent classes get weight 0 here
    (they never occur in the loss, so the value is irrelevant, and 0 keeps it finite).
    """
    labels = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    present = int((counts > 0).sum())
    weights = np.zeros(n_classes, dtype=np.float64)
    mask = counts > 0
    weights[mask] = len(labels) / (present * counts[mask])
    return weights.astype(np.float32)


def weighted_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy with per-class sample weights, reduced as Keras does.

    Keras multiplies each sample's loss by its class weight and divides by the batch size
    (``sum_over_batch_size``); PyTorch's ``CrossEntropyLoss(weight=...)`` divides by the sum of the weights
    instead, which changes the effective learning rate. We follow Keras.
    """
    import torch.nn.functional as F

    losses = F.cross_entropy(logits, target, reduction="none")
    if weight is not None:
        losses = losses * weight[target]
    return losses.mean()
