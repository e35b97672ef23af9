"""LightGCN: collaborative filtering by graph convolution on the user-item graph (He et al., SIGIR 2020)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from mmrec_core.models.base import RankingData
from mmrec_core.models.mf import BPRMFRanker
from mmrec_core.models.neural import as_tensor

if TYPE_CHECKING:
    import torch


class LightGCNRanker(BPRMFRanker):
    """User and item embeddings propagated ``layers`` times over the normalised graph of the train positives,
    combined by their mean over layers 0..L, scored by inner product and trained with BPR.

    Uses ``TrainConfig``: factors, layers (0 = matrix factorisation without item biases), epochs, lr (Adam),
    batch_size, weight_decay (the L2 penalty on the layer-0 rows a batch touches, divided by the batch size,
    as LightGCN's code), negatives, seed, device. Each batch propagates the whole graph once (sparse
    products: cost in edges x factors x layers).
    """

    name = "lightgcn"
    label = "LightGCN"
    description = "Graph collaborative filtering: embeddings smoothed over the user-item graph (He et al. 2020)."
    needs_features = False

    def __init__(self, config=None):
        super().__init__(config)
        self._graph_edges: tuple[torch.Tensor, torch.Tensor] | None = None
        self._train_adjacency: torch.Tensor | None = None  # the graph training propagates over (FREEDOM prunes it)

    def _graph(self, data: RankingData) -> torch.Tensor:
        """The normalised graph of the distinct (user, item) train positives, on the device; its edges stay in
        ``_graph_edges`` (FREEDOM prunes them each epoch)."""
        import torch

        from mmrec_core.models.graphs import bipartite_adjacency, unique_edges

        keep = np.asarray(data.train_labels).astype(bool)
        u, i = unique_edges(np.asarray(data.train_users)[keep], np.asarray(data.train_items)[keep], data.n_items)
        users, items = self._graph_edges = (as_tensor(u, self.device, torch.int64), as_tensor(i, self.device, torch.int64))
        return bipartite_adjacency(users, items, data.n_users, data.n_items)

    def _network(self, data: RankingData):
        from mmrec_core.models.graph_nets import LightGCNNet

        return LightGCNNet(data.n_users, data.n_items, self.config.factors, self.config.layers, self._graph(data))

    def _prepare(self, data: RankingData):
        from mmrec_core.losses import bpr_loss, l2_penalty

        self.net = self._network(data).to(self.device)
        users, pos, neg, resample = self._triples(data)
        self._train_adjacency = self.net.adjacency
        self._before_epoch = self._epoch_hook(resample)
        net, reg = self.net, self.config.weight_decay

        def step(idx: torch.Tensor) -> torch.Tensor:
            u, i, j = users[idx], pos[idx], neg[idx]
            final_u, final_i = net.propagate(self._train_adjacency)
            fu = final_u[u]
            loss = bpr_loss((fu * final_i[i]).sum(-1), (fu * final_i[j]).sum(-1))
            loss = loss + self._extra_loss(fu, u, i, j)
            if reg > 0:
                loss = loss + reg * l2_penalty(net.user[u], net.item[i], net.item[j])
            return loss

        return len(users), step

    def part_slices(self) -> dict[str, slice] | None:
        return None if self.net is None else {"collaborative (user-item graph)": slice(None)}

    def _epoch_hook(self, resample: Callable[[int], None] | None) -> Callable[[int], None] | None:
        """What runs before each epoch: the negatives' redraw (FREEDOM adds its edge pruning)."""
        return resample

    def _extra_loss(self, final_users: torch.Tensor, users: torch.Tensor, pos: torch.Tensor,
                    neg: torch.Tensor) -> torch.Tensor | float:
        """Terms a subclass adds to the batch's BPR loss (none for LightGCN)."""
        return 0.0
