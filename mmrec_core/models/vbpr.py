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

    def part_slices(self) -> dict[str, slice] | None:
        """``[gamma_u, theta_u, 1] . [gamma_i, E f_i, b_i + beta . f_i]``: collaborative, content, bias."""
        if self.net is None:
            return None
        f = int(self.net.user.shape[1])
        return {"collaborative": slice(0, f), "content (pictures and titles)": slice(f, 2 * f),
                "item bias": slice(2 * f, 2 * f + 1)}

    def score_parts(self, users: np.ndarray, items: np.ndarray) -> dict[str, np.ndarray] | None:
        """As :meth:`part_slices`, with the content bias ``beta . f_i`` moved from the bias to the content part."""
        import torch

        parts = super().score_parts(users, items)
        if parts is None:
            return None
        with torch.no_grad():
            f = self.net.features[as_tensor(np.asarray(items, np.int64), self.device)]
            content_bias = (f @ self.net.beta).float().cpu().numpy()
        parts["content (pictures and titles)"] = parts["content (pictures and titles)"] + content_bias
        parts["item bias"] = parts["item bias"] - content_bias
        return parts

    def _network(self, data: RankingData):
        import torch

        from mmrec_core.models.nets import VBPRNet

        if data.item_features is None:
            raise ValueError("vbpr needs item features (choose an encoder and fusion first)")
        feats = np.asarray(data.item_features, np.float32)
        if data.has_features is not None:
            feats = feats * np.asarray(data.has_features, np.float32)[:, None]
        return VBPRNet(data.n_users, as_tensor(feats, self.device, torch.float32), self.config.factors)
