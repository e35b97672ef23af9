"""Study A's MLP ranker trained with BPR on the study's explicit-negative pairs.

User vectors are the study's profiles (mean of the user's positive train item vectors), items their
content vectors; the network (:class:`~mmrec_core.models.nets.MLPScorer`) scores ``concat(user, item)``.

Batching note: the original trained one triple at a time (Adam on each pair = batch size 1). Our default
``TrainConfig.batch_size`` (256) averages the BPR loss over a mini-batch, which changes the optimisation
trajectory (fewer, smoother Adam steps per epoch); ``TrainConfig(batch_size=1)`` reproduces the original
schedule exactly (and as slowly, less the DataFrame lookups).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from mmrec_core.models.base import RankingData
from mmrec_core.models.neural import TorchRanker, as_tensor

if TYPE_CHECKING:
    import torch


def pair_step(
    net, users: torch.Tensor, items: torch.Tensor, pu, pp, pn
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The BPR step over rows of the pair arrays: gathers vectors by index, scores with the user-half trick."""
    import torch

    from mmrec_core.losses import bpr_loss

    def step(idx: torch.Tensor) -> torch.Tensor:
        u = users.index_select(0, pu[idx])
        pos, neg = net.pair_scores(u, items.index_select(0, torch.cat([pp[idx], pn[idx]])))
        return bpr_loss(pos, neg)

    return step


class MLPBPRRanker(TorchRanker):
    """``concat(user_profile, item_vector) -> Linear(2d, hidden) -> ReLU -> Linear(hidden, 1)`` with BPR.

    Uses ``TrainConfig``: epochs (5), lr (Adam 1e-3), batch_size, hidden (128), seed, device,
    early_stopping_patience. Pairs whose positive or negative item has no content vector are skipped
    (the study skipped them too).
    """

    name = "mlp-bpr"
    label = "MLP ranker (Study A)"
    description = (
        "Study A's MLP on concat(user profile, item vector), trained with BPR on explicit negatives."
    )
    needs_features = True
    trained = True

    def _prepare(self, data: RankingData):
        import torch

        from mmrec_core.models.nets import MLPScorer

        profiles, feats = data.user_profiles(), data.item_features
        pu, pp, pn = (np.asarray(a, np.int64) for a in (data.pair_users, data.pair_pos, data.pair_neg))
        if data.has_features is not None:
            keep = data.has_features[pp] & data.has_features[pn]
            pu, pp, pn = pu[keep], pp[keep], pn[keep]
        dev = self.device
        self._users = as_tensor(profiles, dev, torch.float32)
        self._items = as_tensor(feats, dev, torch.float32)
        self.net = MLPScorer(feats.shape[1], self.config.hidden).to(dev)
        idx = [as_tensor(a, dev, torch.int64) for a in (pu, pp, pn)]
        return len(pu), pair_step(self.net, self._users, self._items, *idx)

    def item_vectors(self) -> np.ndarray | None:
        """The content vectors the MLP reads (it has no item vectors of its own)."""
        return None if self.net is None else self._items.float().cpu().numpy()

    def _score_tensor(self, users, items):
        item_vecs = self._items if items is None else self._items[items]
        return self.net.score_matrix(self._users[users], item_vecs)

    def _pair_tensor(self, users, items):
        return self.net(self._users[users], self._items[items])
