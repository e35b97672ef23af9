"""BPR matrix factorisation: the pure collaborative ranker (no content vectors)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mmrec_core.models.base import RankingData
from mmrec_core.models.neural import NegativeSampler, TorchRanker, as_tensor

if TYPE_CHECKING:
    import torch

NEGATIVES = ("sampled", "explicit")


class BPRMFRanker(TorchRanker):
    """Learned user and item factors plus an item bias, trained with BPR (Rendle et al. 2009).

    Uses ``TrainConfig``: factors, epochs, lr (Adam), batch_size, weight_decay (the L2 penalty on the
    factor rows a batch touches, divided by the batch size), negatives ("sampled": each train positive
    with one item drawn uniformly among the user's non-positives, redrawn every epoch; "explicit": the
    study's pairs), seed, device, early_stopping_patience.
    """

    name = "bpr-mf"
    label = "BPR-MF"
    description = "Pure collaborative filtering: learned user/item factors, BPR on sampled negatives."
    needs_features = False
    trained = True

    def _network(self, data: RankingData):
        from mmrec_core.models.nets import MFNet

        return MFNet(data.n_users, data.n_items, self.config.factors)

    def _prepare(self, data: RankingData):
        from mmrec_core.losses import bpr_loss, l2_penalty

        self.net = self._network(data).to(self.device)
        users, pos, neg, self._before_epoch = self._triples(data)
        net, reg = self.net, self.config.weight_decay

        def step(idx: torch.Tensor) -> torch.Tensor:
            u, i, j = users[idx], pos[idx], neg[idx]
            loss = bpr_loss(net(u, i), net(u, j))
            if reg > 0:
                loss = loss + reg * l2_penalty(*net.penalised(u, i, j))
            return loss

        return len(users), step

    def _triples(self, data: RankingData):
        """``(users, pos, neg)`` training tensors on the device, and the before-epoch hook that redraws the
        sampled negatives (None for the study's explicit pairs)."""
        import torch

        cfg, dev = self.config, self.device
        if cfg.negatives not in NEGATIVES:
            raise ValueError(f"negatives must be one of {NEGATIVES}, got {cfg.negatives!r}")
        if cfg.negatives == "explicit":
            users, pos, neg = (
                as_tensor(a, dev, torch.int64) for a in (data.pair_users, data.pair_pos, data.pair_neg)
            )
            return users, pos, neg, None
        keep = np.asarray(data.train_labels).astype(bool)
        u_np, i_np = np.asarray(data.train_users)[keep], np.asarray(data.train_items)[keep]
        users, pos = as_tensor(u_np, dev, torch.int64), as_tensor(i_np, dev, torch.int64)
        sampler = NegativeSampler(u_np, i_np, data.n_items, dev, seed=cfg.seed)
        neg = torch.zeros_like(pos)

        def resample(epoch: int) -> None:
            neg.copy_(sampler.sample(users))

        return users, pos, neg, resample

    def dot_vectors(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The network's augmented factors (:meth:`MFNet.dot_vectors`); None before ``fit``."""
        import torch

        if self.net is None:
            return None

        def compute() -> tuple[np.ndarray, np.ndarray]:
            with torch.no_grad():
                users, items = self.net.dot_vectors()
            return users.float().cpu().numpy(), items.float().cpu().numpy()

        return self._after_fit("dot_vectors", compute)

    def part_slices(self) -> dict[str, slice] | None:
        """``[p_u, 1] . [q_i, b_i]``: the factors (collaborative) and the item bias."""
        if self.net is None:
            return None
        f = int(self.net.user.shape[1])
        return {"collaborative": slice(0, f), "item bias": slice(f, f + 1)}

    def _score_tensor(self, users, items):
        return self.net.score_matrix(users, items)

    def _pair_tensor(self, users, items):
        return self.net(users, items)
