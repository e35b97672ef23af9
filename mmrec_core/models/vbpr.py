"""VBPR: BPR-MF plus a learned projection of the item content vectors (He & McAuley, AAAI 2016)."""

from __future__ import annotations

import numpy as np

from mmrec_core.models.base import RankingData
from mmrec_core.models.mf import BPRMFRanker
from mmrec_core.models.neural import as_tensor


class VBPRRanker(BPRMFRanker):
    """``score(u, i) = b_i + gamma_u . gamma_i + theta_u . (E f_i) + beta . f_i``, trained like BPR-MF.

    ``f_i`` are the item content vectors (``RankingData.item_features``; items without one use 0, so they
    are scored by their collaborative part alone). ``E`` maps ``d -> factors``; theta has ``factors`` too.
    Same ``TrainConfig`` fields as :class:`BPRMFRanker`.
    """

    name = "vbpr"
    label = "VBPR"
    description = "Hybrid: BPR-MF plus a learned projection of the item content vectors (He & McAuley 2016)."
    needs_features = True

    def _network(self, data: RankingData):
        import torch

        from mmrec_core.models.nets import VBPRNet

        if data.item_features is None:
            raise ValueError("vbpr needs item features (choose an encoder and fusion first)")
        feats = np.asarray(data.item_features, np.float32)
        if data.has_features is not None:
            feats = feats * np.asarray(data.has_features, np.float32)[:, None]
        return VBPRNet(data.n_users, as_tensor(feats, self.device, torch.float32), self.config.factors)
