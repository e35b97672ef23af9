"""Forward-only graph networks: LightGCN and FREEDOM (their wrappers in ``lightgcn.py`` and ``freedom.py``
own the graphs' construction and training).

Both score a user and an item by the inner product of their propagated embeddings, so a fitted model hands
the retrieval engine two matrices (:meth:`LightGCNNet.dot_vectors`) and is never scored as a dense users x
items matrix.
"""

from __future__ import annotations

import torch
from torch import nn

from mmrec_core.models.graphs import for_products


class _SymmetricProduct(torch.autograd.Function):
    """``A @ X`` for a symmetric sparse ``A``: the gradient is ``A @ G`` again, with no transpose."""

    @staticmethod
    def forward(ctx, adjacency: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ctx.adjacency = adjacency
        return torch.sparse.mm(adjacency, x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, torch.sparse.mm(ctx.adjacency, grad)


def symmetric_mm(adjacency: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``adjacency @ x`` for a symmetric sparse matrix (the user-item graph, pruned or not).

    Autograd's own backward of a CSR product transposes the matrix on every call: a two-layer forward and
    backward on a medium-sized graph took 22 ms that way and 13 ms this way here (the same gradient).
    """
    return _SymmetricProduct.apply(adjacency, x)


class LightGCNNet(nn.Module):
    """LightGCN (He et al., SIGIR 2020): ``E^(l+1) = A_hat E^(l)``, final embeddings the mean of layers 0..L.

    ``adjacency`` is the normalised user-item graph (:func:`~mmrec_core.models.graphs.bipartite_adjacency`,
    laid out by :func:`~mmrec_core.models.graphs.for_products`), a non-persistent buffer: early stopping keeps
    the learned tables only. With ``layers=0`` the final embeddings are the tables themselves: matrix
    factorisation without item biases. Tables start Xavier-uniform, as in LightGCN's and MMRec's code.
    """

    def __init__(self, n_users: int, n_items: int, factors: int, layers: int, adjacency: torch.Tensor):
        super().__init__()
        self.n_users, self.n_items, self.layers = n_users, n_items, layers
        self.user = nn.Parameter(torch.empty(n_users, factors))
        self.item = nn.Parameter(torch.empty(n_items, factors))
        nn.init.xavier_uniform_(self.user)
        nn.init.xavier_uniform_(self.item)
        self.register_buffer("adjacency", for_products(adjacency), persistent=False)

    def propagate(self, adjacency: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Final ``(user, item)`` embeddings over ``adjacency`` (the full graph when None)."""
        adj = self.adjacency if adjacency is None else adjacency
        layer = torch.cat([self.user, self.item])
        total = layer
        for _ in range(self.layers):
            layer = symmetric_mm(adj, layer)
            total = total + layer
        final = total / (self.layers + 1)
        return final[: self.n_users], final[self.n_users :]

    def dot_vectors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.propagate()

    def score_matrix(self, users: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        u, i = self.dot_vectors()
        return u[users] @ (i if items is None else i[items]).T

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Elementwise scores of (users[k], items[k]) on the full graph."""
        u, i = self.dot_vectors()
        return (u[users] * i[items]).sum(-1)


class FREEDOMNet(LightGCNNet):
    """FREEDOM (Zhou & Shen, ACM MM 2023): LightGCN on the (pruned) user-item graph, plus item ID embeddings
    smoothed over a frozen item-item graph built from the modalities' vectors.

    ``item_final = LightGCN(A)_i + S @ e_i`` (``S``: ``item_graph``, one layer, as the paper's default). Each
    modality ``m`` also has a projection ``W_m f_i`` of its vectors, used only by the alignment terms of the
    loss (BPR of the user against the projected item vectors). The modality vectors are frozen buffers here
    (FREEDOM's code fine-tunes them through the alignment terms at a weight of 1e-4 and less).
    """

    def __init__(self, n_users: int, n_items: int, factors: int, layers: int, adjacency: torch.Tensor,
                 item_graph: torch.Tensor, modalities: dict[str, tuple[torch.Tensor, torch.Tensor]]):
        super().__init__(n_users, n_items, factors, layers, adjacency)
        self.register_buffer("item_graph", for_products(item_graph), persistent=False)
        self.names = list(modalities)
        self.proj = nn.ModuleDict()
        for k, (vectors, has) in enumerate(modalities.values()):
            self.register_buffer(f"vectors_{k}", vectors, persistent=False)
            self.register_buffer(f"has_{k}", has, persistent=False)
            self.proj[str(k)] = nn.Linear(vectors.shape[1], factors)

    def propagate(self, adjacency: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        users, items = super().propagate(adjacency)
        return users, items + torch.sparse.mm(self.item_graph, self.item)

    def project(self, k: int, items: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(W_k f_i, has_k[i])`` of ``items``: modality ``k``'s projected vectors, and 1 where an item has one."""
        return self.proj[str(k)](getattr(self, f"vectors_{k}")[items]), getattr(self, f"has_{k}")[items]
