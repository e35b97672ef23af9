"""Forward-only networks (the wrappers in ``mlp_bpr.py`` and ``classifier.py`` own training)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MLPScorer(nn.Module):
    """Study A's MLP ranker: ``concat(user, item) -> Linear(2d, h) -> ReLU -> Linear(h, 1)``.

    The first layer is stored as its two halves, ``W1 = [Wu | Wi]`` (``user_layer`` with the bias and
    ``item_layer``), so ``W1 [u; i] + b = (Wu u + b) + Wi i``: the same function and the same initial
    distribution as one ``Linear(2d, h)`` (uniform in +-1/sqrt(2d)). ``pair_scores`` computes the user half
    once per (user, pos, neg) triple, ``score_matrix`` scores every user against every item from ``Wu U``
    and ``Wi I`` alone, and the halves' gradients need no slicing of a shared weight (2x faster steps).
    """

    def __init__(self, dim: int, hidden: int = 128):
        super().__init__()
        self.dim = dim
        self.user_layer = nn.Linear(dim, hidden)
        self.item_layer = nn.Linear(dim, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, 1)
        bound = 1.0 / (2 * dim) ** 0.5  # nn.Linear(2d, h)'s default: fan-in 2d
        for p in (self.user_layer.weight, self.user_layer.bias, self.item_layer.weight):
            nn.init.uniform_(p, -bound, bound)

    @property
    def first_layer(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(W1, b1)`` of the study's ``Linear(2d, h)``: ``W1 = [Wu | Wi]``."""
        return torch.cat([self.user_layer.weight, self.item_layer.weight], 1), self.user_layer.bias

    def forward(self, user: torch.Tensor, item: torch.Tensor) -> torch.Tensor:
        """The study's forward on concatenated vectors; scores of shape ``(n,)``."""
        return self.head(self.user_half(user) + self.item_half(item))

    def user_half(self, user: torch.Tensor) -> torch.Tensor:
        return self.user_layer(user)

    def item_half(self, item: torch.Tensor) -> torch.Tensor:
        return self.item_layer(item)

    def head(self, hidden_pre: torch.Tensor) -> torch.Tensor:
        return F.linear(F.relu(hidden_pre), self.fc2.weight, self.fc2.bias).squeeze(-1)

    def pair_scores(self, user: torch.Tensor, items: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores of ``(user, pos)`` and ``(user, neg)`` sharing the user half of the first layer.

        ``items`` stacks the positives then the negatives, ``(2n, d)``: one gather and one matmul for both
        (better GEMM shapes, no concatenation copy).
        """
        a = self.user_half(user)
        b = self.item_half(items)
        n = len(user)
        return self.head(a + b[:n]), self.head(a + b[n:])

    def score_matrix(self, user: torch.Tensor, item: torch.Tensor, budget: int = 1 << 24) -> torch.Tensor:
        """All ``(len(user), len(item))`` scores, in user chunks of about ``budget`` hidden activations."""
        a, b = self.user_half(user), self.item_half(item)
        w2, b2 = self.fc2.weight.squeeze(0), self.fc2.bias
        rows = max(1, budget // max(1, b.numel()))
        out = [F.relu(a[s : s + rows, None, :] + b[None, :, :]) @ w2 + b2 for s in range(0, len(a), rows)]
        return torch.cat(out) if out else torch.zeros((0, len(item)), device=user.device)


class RatingNet(nn.Module):
    """Study B's classifier, layer for layer (Keras defaults where PyTorch's differ).

    Dense(1024) ReLU -> BatchNorm -> Dropout(0.4) -> Dense(512) ReLU -> BatchNorm -> Dropout(0.3) ->
    Dense(128) ReLU -> Dropout(0.2) -> Dense(5); softmax lives in the loss. BatchNorm uses Keras's
    momentum 0.99 (PyTorch momentum 0.01) and epsilon 1e-3; Dense layers use Glorot-uniform weights and
    zero biases as Keras does.
    """

    def __init__(self, in_dim: int, n_classes: int = 5):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_dim, 1024),
            nn.ReLU(),
            nn.BatchNorm1d(1024, eps=1e-3, momentum=0.01),
            nn.Dropout(0.4),
            nn.Linear(1024, 512),
            nn.ReLU(),
            nn.BatchNorm1d(512, eps=1e-3, momentum=0.01),
            nn.Dropout(0.3),
            nn.Linear(512, 128),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(128, n_classes),
        )
        for m in self.layers:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(n, n_classes)``."""
        return self.layers(x)


class MFNet(nn.Module):
    """Matrix factorisation: ``score(u, i) = b_i + p_u . q_i`` (BPR needs no user bias: it cancels)."""

    def __init__(self, n_users: int, n_items: int, factors: int, init_std: float = 0.1):
        super().__init__()
        self.user = nn.Parameter(torch.randn(n_users, factors) * init_std)
        self.item = nn.Parameter(torch.randn(n_items, factors) * init_std)
        self.bias = nn.Parameter(torch.zeros(n_items))

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Elementwise scores of (users[k], items[k])."""
        return self.bias[items] + (self.user[users] * self.item[items]).sum(-1)

    def score_matrix(self, users: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        q, b = (self.item, self.bias) if items is None else (self.item[items], self.bias[items])
        return torch.addmm(b, self.user[users], q.T)

    def dot_vectors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``[p_u, 1]`` and ``[q_i, b_i]``: the score as one inner product."""
        ones = torch.ones(len(self.user), 1, device=self.user.device)
        return torch.cat([self.user, ones], 1), torch.cat([self.item, self.bias[:, None]], 1)

    def penalised(self, users: torch.Tensor, *items: torch.Tensor) -> list[torch.Tensor]:
        """The rows a batch touches, for the per-batch L2 penalty."""
        return [self.user[users], *(self.item[i] for i in items)]


class VBPRNet(MFNet):
    """VBPR (He & McAuley 2016): ``b_i + gamma_u . gamma_i + theta_u . (E f_i) + beta . f_i``.

    ``features`` (the item content vectors f_i, zero rows where an item has none) is a non-persistent
    buffer: early stopping copies the learned weights only. Initialisation as the peer implementation
    (Cornac's VBPR): Xavier-uniform for every parameter (gamma_u, gamma_i, theta_u, E and the visual bias
    beta'), zero item biases.
    """

    def __init__(self, n_users: int, features: torch.Tensor, factors: int):
        super().__init__(n_users, features.shape[0], factors)
        dim = features.shape[1]
        self.register_buffer("features", features, persistent=False)
        self.theta = nn.Parameter(torch.empty(n_users, factors))
        self.proj = nn.Linear(dim, factors, bias=False)  # E
        self.beta = nn.Parameter(torch.empty(dim))  # beta': the visual bias
        for weight in (self.user, self.item, self.theta, self.proj.weight):
            nn.init.xavier_uniform_(weight)
        nn.init.xavier_uniform_(self.beta.data.view(dim, 1))

    def item_repr(self, items: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``[gamma_i, E f_i]`` and ``b_i + beta . f_i`` of ``items`` (all items when None)."""
        f = self.features if items is None else self.features[items]
        gamma = self.item if items is None else self.item[items]
        bias = self.bias if items is None else self.bias[items]
        return torch.cat([gamma, self.proj(f)], -1), bias + f @ self.beta

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        # no concatenation on the training path: two dot products (2x faster per step on the demo)
        f = self.features[items]
        return (
            self.bias[items] + f @ self.beta + (self.user[users] * self.item[items]).sum(-1)
            + (self.theta[users] * self.proj(f)).sum(-1)
        )

    def score_matrix(self, users: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        vec, bias = self.item_repr(items)
        return torch.addmm(bias, torch.cat([self.user[users], self.theta[users]], -1), vec.T)

    def dot_vectors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``[gamma_u, theta_u, 1]`` and ``[gamma_i, E f_i, b_i + beta . f_i]``: the whole score, one inner product."""
        vec, bias = self.item_repr()
        ones = torch.ones(len(self.user), 1, device=self.user.device)
        return torch.cat([self.user, self.theta, ones], 1), torch.cat([vec, bias[:, None]], 1)

    def penalised(self, users: torch.Tensor, *items: torch.Tensor) -> list[torch.Tensor]:
        return [*super().penalised(users, *items), self.theta[users]]
