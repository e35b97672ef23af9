"""One text-picture space learned from the catalogue itself, so ``mean`` fusion runs with no CLIP download.

Two linear maps (a text tower and a picture tower over an encoder's own vectors) are trained with CLIP's
objective, a symmetric InfoNCE loss, on the catalogue's title-picture pairs: in a batch, each title must
pick its own picture among the batch's pictures and each picture its own title. A fifth of the items with a
picture are held out; the maps kept are those of the epoch with the best held-out text-to-picture recall@10,
and that recall and the median rank (against chance) say how shared the space is. The maps are stored under
``cache_dir()/alignments/`` keyed by the vectors they were fitted on and the settings, so a catalogue is
aligned once.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmrec_core.cache import content_key
from mmrec_core.config import cache_dir
from mmrec_core.encoders.base import l2_normalise
from mmrec_core.progress import ProgressCallback, Reporter, check_cancelled

log = logging.getLogger("mmrec.alignment")

__all__ = ["AlignConfig", "Alignment", "align", "fit_alignment", "retrieval"]


@dataclass(frozen=True)
class AlignConfig:
    """How the two towers are fitted (the defaults are what the README's figures used)."""

    dim: int = 256  # the shared space's size
    epochs: int = 200  # at most; the best held-out epoch is kept
    patience: int = 20  # epochs without a better held-out recall@10 before stopping
    batch_size: int = 128  # pairs per InfoNCE batch: each title tells its picture from 127 others
    lr: float = 3e-3
    weight_decay: float = 1e-4
    temperature: float = 0.07  # CLIP's initial value
    holdout: float = 0.2  # share of the items with a picture kept out of training, for the figures
    seed: int = 0


@dataclass
class Alignment:
    """The fitted towers and what they achieve on the held-out items.

    ``recall_at_10``: share of held-out titles whose own picture is among the 10 nearest held-out pictures;
    ``median_rank``: the median rank of the own picture (1 = first); ``chance_*`` the same for a random
    ranking of the ``held_out`` pictures.
    """

    text_map: np.ndarray
    image_map: np.ndarray
    text_mean: np.ndarray
    image_mean: np.ndarray
    key: str
    held_out: int
    trained_on: int
    epochs: int
    recall_at_10: float
    median_rank: float
    chance_recall_at_10: float
    chance_median_rank: float

    @property
    def dim(self) -> int:
        return int(self.text_map.shape[1])

    def project_text(self, vectors: np.ndarray) -> np.ndarray:
        """Unit rows in the shared space (zero rows stay zero)."""
        return _project(vectors, self.text_mean, self.text_map)

    def project_image(self, vectors: np.ndarray) -> np.ndarray:
        return _project(vectors, self.image_mean, self.image_map)

    def summary(self) -> dict[str, Any]:
        """The figures, for the page, the results JSON and the README."""
        return {k: getattr(self, k) for k in ("key", "held_out", "trained_on", "epochs", "recall_at_10",
                                              "median_rank", "chance_recall_at_10", "chance_median_rank")}

    def save(self, path: Path) -> None:
        """Atomically (a unique temp file, then ``os.replace``); arrays and a JSON header, no pickle."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "wb") as f:
            np.savez(f, text_map=self.text_map, image_map=self.image_map, text_mean=self.text_mean,
                     image_mean=self.image_mean, header=np.frombuffer(json.dumps(self.summary()).encode(), np.uint8))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Alignment:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            return cls(text_map=z["text_map"], image_map=z["image_map"], text_mean=z["text_mean"],
                       image_mean=z["image_mean"], **header)


def _project(vectors: np.ndarray, mean: np.ndarray, weights: np.ndarray) -> np.ndarray:
    x = np.asarray(vectors, dtype=np.float32)
    zero = ~np.any(x, axis=1)
    out = l2_normalise((x - mean) @ weights)
    out[zero] = 0.0
    return out


def retrieval(text: np.ndarray, image: np.ndarray, k: int = 10) -> tuple[float, float]:
    """``(recall@k, median rank)`` of row i's picture among all pictures for title row i, by cosine.

    Ties count against the title (the own picture ranks after every picture scored the same), so a
    constant space scores chance or worse, never better.
    """
    if len(text) != len(image) or not len(text):
        raise ValueError(f"need as many titles as pictures (and at least one), got {len(text)} and {len(image)}")
    scores = l2_normalise(text) @ l2_normalise(image).T
    own = np.diag(scores)
    ranks = (scores >= own[:, None]).sum(axis=1)  # 1 when the own picture scores highest, alone
    return float(np.mean(ranks <= k)), float(np.median(ranks))


def _chance(n: int, k: int = 10) -> tuple[float, float]:
    return min(k, n) / n, (n + 1) / 2


def fit_alignment(text: np.ndarray, image: np.ndarray, ok: np.ndarray, config: AlignConfig = AlignConfig(),
                  key: str = "", progress: ProgressCallback | None = None) -> Alignment:
    """Fit the towers on the rows where ``ok`` (the items with a picture); see the module docstring.

    Raises
    ------
    ValueError
        With fewer than 20 items that have a picture (too few to hold any out).
    """
    import torch

    pairs = np.flatnonzero(np.asarray(ok, dtype=bool))
    if len(pairs) < 20:
        raise ValueError(f"aligning needs at least 20 items with a picture, got {len(pairs)}")
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(pairs)
    n_held = max(10, int(round(len(order) * config.holdout)))
    held, train = np.sort(order[:n_held]), np.sort(order[n_held:])
    t_mean = text[train].mean(axis=0).astype(np.float32)
    i_mean = image[train].mean(axis=0).astype(np.float32)
    gen = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    t_tower = torch.nn.Linear(text.shape[1], config.dim, bias=False)
    i_tower = torch.nn.Linear(image.shape[1], config.dim, bias=False)
    params = [*t_tower.parameters(), *i_tower.parameters()]
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    xt = torch.from_numpy(np.ascontiguousarray(text[train] - t_mean, dtype=np.float32))
    xi = torch.from_numpy(np.ascontiguousarray(image[train] - i_mean, dtype=np.float32))
    ht = np.ascontiguousarray(text[held] - t_mean, dtype=np.float32)
    hi = np.ascontiguousarray(image[held] - i_mean, dtype=np.float32)
    reporter = Reporter(progress, "align", config.epochs, "epochs")
    best: tuple[float, float, int, np.ndarray, np.ndarray] | None = None
    since = 0
    for epoch in range(1, config.epochs + 1):
        for batch in torch.randperm(len(train), generator=gen).split(config.batch_size):
            if len(batch) < 2:
                continue
            check_cancelled()
            zt = torch.nn.functional.normalize(t_tower(xt[batch]), dim=1)
            zi = torch.nn.functional.normalize(i_tower(xi[batch]), dim=1)
            logits = zt @ zi.T / config.temperature
            target = torch.arange(len(batch))
            loss = (torch.nn.functional.cross_entropy(logits, target)
                    + torch.nn.functional.cross_entropy(logits.T, target)) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
        wt = t_tower.weight.detach().numpy().T.copy()
        wi = i_tower.weight.detach().numpy().T.copy()
        recall, median = retrieval(ht @ wt, hi @ wi)
        if best is None or (recall, -median) > (best[0], -best[1]):
            best, since = (recall, median, epoch, wt, wi), 0
        else:
            since += 1
        reporter.update(epoch)
        if since >= config.patience:
            break
    if reporter.done < config.epochs:  # stopped early: the bar ends full
        reporter.update(config.epochs, message=f"best held-out epoch {best[2]}")
    recall, median, epoch, wt, wi = best
    chance_recall, chance_median = _chance(len(held))
    log.info("aligned %d titles and pictures in %d epochs: held-out recall@10 %.3f (chance %.3f), median rank %.0f "
             "of %d", len(train), epoch, recall, chance_recall, median, len(held))
    return Alignment(text_map=wt, image_map=wi, text_mean=t_mean, image_mean=i_mean, key=key, held_out=len(held),
                     trained_on=len(train), epochs=epoch, recall_at_10=recall, median_rank=median,
                     chance_recall_at_10=chance_recall, chance_median_rank=chance_median)


def alignments_root() -> Path:
    """``cache_dir()/alignments`` (follows ``MMREC_CACHE_DIR``)."""
    return cache_dir() / "alignments"


def align(text: np.ndarray, image: np.ndarray, ok: np.ndarray, identity: str,
          config: AlignConfig = AlignConfig(), progress: ProgressCallback | None = None) -> Alignment:
    """The towers for these vectors: read from the cache when fitted before, else fitted and stored.

    The key covers the vectors themselves (so another catalogue, or the same one re-embedded differently,
    gets its own towers), the encoder ``identity`` and ``config``. A stored file that does not load, or
    does not fit these vectors, is refitted with a warning, never used.
    """
    key = content_key("align-v1", identity, json.dumps(dataclasses.asdict(config), sort_keys=True),
                      np.ascontiguousarray(text, np.float32).tobytes(),
                      np.ascontiguousarray(image, np.float32).tobytes(), np.asarray(ok, bool).tobytes())
    path = alignments_root() / f"{key}.npz"
    if path.exists():
        try:
            found = Alignment.load(path)
            if found.key == key and found.text_map.shape == (text.shape[1], config.dim) \
                    and found.image_map.shape == (image.shape[1], config.dim):
                return found
            log.warning("alignment %s does not fit these vectors; fitting it again", path)
        except Exception as exc:  # noqa: BLE001 - a damaged file is refitted, never trusted
            log.warning("alignment %s is unreadable (%s); fitting it again", path, exc)
    fitted = fit_alignment(text, image, ok, config, key=key, progress=progress)
    fitted.save(path)
    return fitted
