"""FREEDOM: frozen modality item-item graphs and a pruned user-item graph (Zhou & Shen, ACM MM 2023)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mmrec_core.models.base import RankingData
from mmrec_core.models.lightgcn import LightGCNRanker
from mmrec_core.models.neural import as_tensor


class FREEDOMRanker(LightGCNRanker):
    """LightGCN on a user-item graph pruned afresh each epoch, plus item ID embeddings smoothed over a frozen
    item-item graph: each modality's kNN graph of its vectors, fused (``image_weight`` for pictures). The loss
    adds, per modality, a BPR term of the user against the item's projected vectors (``align_weight``).

    Uses ``TrainConfig``: factors, layers (user-item propagation; FREEDOM's default 2), knn (neighbours per
    item, 10), edge_dropout (share of edges pruned each epoch, 0.8 or 0.9 in the paper), align_weight
    (FREEDOM's lambda), image_weight (0.1), epochs, lr, batch_size, weight_decay (0: FREEDOM has no L2 term),
    negatives, seed, device. Scoring uses the whole user-item graph, as FREEDOM's evaluation does.

    It reads ``RankingData.modalities`` (the setting's text and picture vectors unfused: one graph each) or,
    without them, the fused features as one modality.
    """

    name = "freedom"
    label = "FREEDOM"
    description = ("Multimodal graph model: LightGCN plus items smoothed over frozen text and picture kNN "
                   "graphs, with a pruned user-item graph (Zhou & Shen 2023).")
    needs_features = True

    def part_slices(self) -> dict[str, slice] | None:
        return None  # the two parts share one vector: :meth:`score_parts` computes them from the network

    def score_parts(self, users: np.ndarray, items: np.ndarray) -> dict[str, np.ndarray] | None:
        """``u . LightGCN(A)_i`` (collaborative, the user-item graph) and ``u . (S e)_i`` (the item's neighbours
        in the frozen text-picture kNN graph), which add up to the score."""
        import torch

        from mmrec_core.models.graph_nets import LightGCNNet

        if self.net is None:
            return None

        def tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            with torch.no_grad():
                u_all, i_graph = LightGCNNet.propagate(self.net)
                i_content = torch.sparse.mm(self.net.item_graph, self.net.item)
            return tuple(t.float().cpu().numpy() for t in (u_all, i_graph, i_content))

        u_all, i_graph, i_content = self._after_fit("parts", tables)
        u, i = u_all[np.asarray(users, np.int64)], np.asarray(items, np.int64)
        return {"collaborative (user-item graph)": np.einsum("nd,nd->n", u, i_graph[i]),
                "content neighbours (item-item graph)": np.einsum("nd,nd->n", u, i_content[i])}

    def _network(self, data: RankingData):
        import torch

        from mmrec_core.models.graph_nets import FREEDOMNet
        from mmrec_core.models.graphs import fused_item_graph, knn_adjacency, knn_edges

        cfg, dev = self.config, self.device
        modalities = data.modality_vectors()
        graphs = {name: knn_adjacency(*knn_edges(vectors, cfg.knn, has), data.n_items, dev)
                  for name, (vectors, has) in modalities.items()}
        item_graph = fused_item_graph(graphs, cfg.image_weight)
        tensors = {
            name: (as_tensor(vectors * has[:, None], dev, torch.float32), as_tensor(has, dev, torch.float32))
            for name, (vectors, has) in modalities.items()
        }  # fmt: skip
        return FREEDOMNet(data.n_users, data.n_items, cfg.factors, cfg.layers, self._graph(data), item_graph, tensors)

    def _epoch_hook(self, resample: Callable[[int], None] | None) -> Callable[[int], None]:
        import torch

        from mmrec_core.models.graphs import for_products, pruned_adjacency

        cfg = self.config
        users, items = self._graph_edges
        generator = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        n_users, n_items = self.net.n_users, self.net.n_items

        def before(epoch: int) -> None:
            if resample is not None:
                resample(epoch)
            pruned = pruned_adjacency(users, items, n_users, n_items, cfg.edge_dropout, generator)
            self._train_adjacency = for_products(pruned)

        return before

    def _extra_loss(self, final_users, users, pos, neg):
        import torch.nn.functional as F

        weight = self.config.align_weight
        if weight <= 0:
            return 0.0
        total = 0.0
        for k in range(len(self.net.names)):
            vec_pos, has_pos = self.net.project(k, pos)
            vec_neg, has_neg = self.net.project(k, neg)
            mask = has_pos * has_neg  # a pair whose item lacks this modality's vector says nothing about it
            margin = (final_users * vec_neg).sum(-1) - (final_users * vec_pos).sum(-1)
            total = total + (F.softplus(margin) * mask).sum() / mask.sum().clamp(min=1.0)
        return weight * total
