"""The sparse graphs of the graph rankers: the normalised user-item graph, its degree-sensitive pruning, and
the item-item kNN graphs built from each modality's vectors.

Every graph is built as a coalesced ``torch.sparse_coo_tensor`` and multiplied with ``torch.sparse.mm`` (in
the layout :func:`for_products` picks): memory and time follow the number of edges, never users x items or
items x items.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

EPS = 1e-7  # added to degrees before the inverse square root, as LightGCN's and FREEDOM's code do


def for_products(adjacency: torch.Tensor) -> torch.Tensor:
    """The graph in the layout ``torch.sparse.mm`` multiplies fastest: CSR on the CPU (forward and backward of
    two layers on medium's graph took 26 ms against COO's 44 ms here), COO on an accelerator."""
    if adjacency.device.type != "cpu":
        return adjacency
    with warnings.catch_warnings():  # "sparse CSR support is in beta": the product and its gradient are tested
        warnings.simplefilter("ignore", UserWarning)
        return adjacency.to_sparse_csr()


def unique_edges(users: np.ndarray, items: np.ndarray, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (user, item) pairs of a list of interactions, sorted by user then item."""
    keys = np.unique(np.asarray(users, np.int64) * n_items + np.asarray(items, np.int64))
    return keys // n_items, keys % n_items


def edge_weights(users: torch.Tensor, items: torch.Tensor, n_users: int, n_items: int) -> torch.Tensor:
    """``1 / sqrt(d_u d_i)`` for each edge of a bipartite graph, with degrees counted over these edges."""
    import torch

    du = torch.bincount(users, minlength=n_users).float() + EPS
    di = torch.bincount(items, minlength=n_items).float() + EPS
    return du[users].rsqrt() * di[items].rsqrt()


def bipartite_adjacency(users: torch.Tensor, items: torch.Tensor, n_users: int, n_items: int) -> torch.Tensor:
    """The symmetrically normalised user-item graph ``D^-1/2 A D^-1/2``, ``A = [[0, R], [R^T, 0]]``.

    Nodes ``0..n_users-1`` are users and ``n_users..n_users+n_items-1`` items; ``(users, items)`` are the edges
    of ``R``, each listed once (:func:`unique_edges`). LightGCN's propagation matrix (He et al. 2020, eq. 7).
    """
    import torch

    w = edge_weights(users, items, n_users, n_items)
    rows = torch.cat([users, items + n_users])
    cols = torch.cat([items + n_users, users])
    n = n_users + n_items
    return torch.sparse_coo_tensor(torch.stack([rows, cols]), torch.cat([w, w]), (n, n), check_invariants=False).coalesce()


def pruned_adjacency(
    users: torch.Tensor, items: torch.Tensor, n_users: int, n_items: int, dropout: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """FREEDOM's degree-sensitive edge pruning (Zhou & Shen 2023, sec. 3.2): keep ``(1 - dropout)`` of the
    edges, drawn without replacement with probability proportional to ``1 / sqrt(d_u d_i)`` (edges between
    high-degree nodes go first), then normalise the kept graph afresh."""
    import torch

    if dropout <= 0:
        return bipartite_adjacency(users, items, n_users, n_items)
    keep = max(1, int(len(users) * (1.0 - dropout)))
    weights = edge_weights(users, items, n_users, n_items)
    # torch.multinomial draws from at most 2**24 categories; beyond that, exponential keys give the same draw
    if len(weights) < 1 << 24:
        idx = torch.multinomial(weights, keep, replacement=False, generator=generator)
    else:
        keys = torch.empty_like(weights).exponential_(generator=generator) / weights
        idx = torch.topk(keys, keep, largest=False).indices
    return bipartite_adjacency(users[idx], items[idx], n_users, n_items)


def knn_edges(vectors: np.ndarray, k: int, has: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each item's ``k`` nearest items by cosine similarity, the item itself included (as FREEDOM's code).

    Items whose ``has`` is False (no vector in this modality) get no edges and are nobody's neighbour. The
    search runs through the exact top-K engine (:mod:`mmrec_core.retrieval`): blocks of items, never an
    items x items matrix.

    Returns
    -------
    (rows, cols):
        int64 edge lists, ``k`` edges per item with a vector (fewer when fewer items have one).
    """
    from mmrec_core.retrieval import ItemIndex

    x = np.asarray(vectors, np.float32)
    valid = np.ones(len(x), bool) if has is None else np.asarray(has, bool)
    at = np.flatnonzero(valid)
    if len(at) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    v = x[at]
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    k = min(k, len(at))
    top, _ = ItemIndex(v).search(v, k)
    rows = np.repeat(at, k)
    return rows, at[top.ravel()]


def knn_adjacency(rows: np.ndarray, cols: np.ndarray, n_items: int, device: str = "cpu") -> torch.Tensor:
    """The kNN graph normalised as FREEDOM's ``compute_normalized_laplacian``: edge ``(i, j)`` weighs
    ``1 / sqrt(r_i r_j)`` with ``r`` the row degrees (``k`` for every item with a vector)."""
    import torch

    r = torch.as_tensor(rows, dtype=torch.int64, device=device)
    c = torch.as_tensor(cols, dtype=torch.int64, device=device)
    deg = torch.bincount(r, minlength=n_items).float() + EPS
    values = deg[r].rsqrt() * deg[c].rsqrt()
    return torch.sparse_coo_tensor(torch.stack([r, c]), values, (n_items, n_items), check_invariants=False).coalesce()


def fused_item_graph(graphs: dict[str, torch.Tensor], image_weight: float) -> torch.Tensor:
    """FREEDOM's frozen item-item graph: ``image_weight * S_image + (1 - image_weight) * S_text``.

    With one modality (text only, image only, or fused features) its own graph is used as it is; other
    modality names share the non-image weight equally.
    """
    if len(graphs) == 1:
        return next(iter(graphs.values()))
    rest = (1.0 - image_weight if "image" in graphs else 1.0) / sum(name != "image" for name in graphs)
    total = None
    for name, g in graphs.items():
        w = image_weight if name == "image" else rest
        total = g * w if total is None else total + g * w
    return total.coalesce()
