"""What the trained rankers share: a torch ranker base (device, seeded training, scoring) and a sampler.

Subclasses build their network in ``_build`` and say how to score a batch; fitting, validation, early
stopping and conversion to numpy are written once here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from mmrec_core.models.base import EpochCallback, Ranker, RankingData

if TYPE_CHECKING:
    import torch

log = logging.getLogger("mmrec.models")


def as_tensor(array: np.ndarray, device: str, dtype=None) -> torch.Tensor:
    """A tensor copy of ``array`` on ``device`` (copy: pandas 3 hands out read-only arrays)."""
    import torch

    return torch.as_tensor(np.array(array, copy=True), dtype=dtype, device=device)


class NegativeSampler:
    """Uniform negatives for BPR: items that are not the user's train positives.

    Membership is a binary search in the sorted keys ``user * n_items + item`` of the positives, all on
    the device; a drawn positive is redrawn (a few rounds; the leftovers after that are so rare in sparse
    data that they are kept, which only adds a little label noise).
    """

    def __init__(self, users: np.ndarray, items: np.ndarray, n_items: int, device: str, seed: int = 42):
        import torch

        self.n_items = n_items
        keys = np.unique(np.asarray(users, np.int64) * n_items + np.asarray(items, np.int64))
        self.keys = as_tensor(keys, device, torch.int64)
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.device = device

    def is_positive(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        import torch

        if len(self.keys) == 0:
            return torch.zeros(len(users), dtype=torch.bool, device=users.device)
        query = users * self.n_items + items
        pos = torch.searchsorted(self.keys, query).clamp_(max=len(self.keys) - 1)
        return self.keys[pos] == query

    def sample(self, users: torch.Tensor, rounds: int = 5) -> torch.Tensor:
        """One negative item per entry of ``users``."""
        import torch

        neg = torch.randint(self.n_items, (len(users),), generator=self.generator, device=self.device)
        for _ in range(rounds):
            bad = self.is_positive(users, neg)
            n_bad = int(bad.sum())
            if n_bad == 0:
                break
            neg[bad] = torch.randint(self.n_items, (n_bad,), generator=self.generator, device=self.device)
        return neg


class _Adams:
    """Several optimizers stepped as one (``train_loop`` takes one ``zero_grad`` / ``step`` object)."""

    def __init__(self, *optimizers: Any):
        self.optimizers = [o for o in optimizers if o is not None]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for o in self.optimizers:
            o.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for o in self.optimizers:
            o.step()


class RowAdam:
    """Lazy Adam for tables with row-sparse gradients: only the rows a batch touched move, moments included.

    The update of ``torch.optim.SparseAdam`` (one step count per table for the bias correction), written
    with row gathers and scatters: SparseAdam's ``sparse_mask`` on the dense moments cost 1.6 ms a table a
    step here, more than the whole forward and backward of a BPR batch.
    """

    def __init__(self, params: list[Any], lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        import torch

        self.params, self.lr, self.betas, self.eps = list(params), lr, betas, eps
        self.state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in self.params]
        self.steps = 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        import torch

        b1, b2 = self.betas
        self.steps += 1
        c1, c2 = 1 - b1**self.steps, 1 - b2**self.steps
        with torch.no_grad():
            for p, (m, v) in zip(self.params, self.state, strict=True):
                if p.grad is None:
                    continue
                grad = p.grad.coalesce() if p.grad.is_sparse else p.grad.to_sparse(1).coalesce()
                at, g = grad.indices()[0], grad.values()
                m_rows = m.index_select(0, at).mul_(b1).add_(g, alpha=1 - b1)
                v_rows = v.index_select(0, at).mul_(b2).addcmul_(g, g, value=1 - b2)
                m.index_copy_(0, at, m_rows)
                v.index_copy_(0, at, v_rows)
                p.index_add_(0, at, m_rows.div_(v_rows.div_(c2).sqrt_().add_(self.eps)), alpha=-self.lr / c1)


def adam(net: Any, lr: float, device: str) -> Any:
    """Adam for ``net``: the fused dense kernel for ordinary weights, and a lazy row-wise Adam
    (:class:`RowAdam`) for the tables ``net.sparse_parameters()`` names, whose gradients are row-sparse. A
    lazy Adam moves only the rows a batch touched (their moments too), so a step costs what the batch reads,
    whatever the number of users and items; dense Adam also decays the moments of untouched rows.
    """
    import torch

    sparse = list(getattr(net, "sparse_parameters", lambda: [])())
    ids = {id(p) for p in sparse}
    dense = [p for p in net.parameters() if id(p) not in ids]
    # the fused kernel updates every parameter in one pass: 1.5-2x faster steps for these small models
    fused = device == "cpu" or device.startswith("cuda")
    return _Adams(
        torch.optim.Adam(dense, lr=lr, fused=fused) if dense else None,
        RowAdam(sparse, lr=lr) if sparse else None,
    )


Validation = Callable[[Ranker], dict[str, float]]
"""Caller-supplied ``validation(model) -> {"ndcg@10": ...}``; the first key drives early stopping."""


class TorchRanker(Ranker):
    """Base of the rankers trained with :func:`mmrec_core.train.train_loop`.

    Subclasses implement ``_prepare(data) -> (n_rows, step)`` (build ``self.net`` and tensors) and
    ``_score_tensor(users, items)``; they may set ``self._before_epoch``.
    """

    label: str = ""
    description: str = ""

    def __init__(self, config=None):
        super().__init__(config)
        self.net: Any = None
        self.device = "cpu"
        self.best_epoch: int | None = None
        self._before_epoch: Callable[[int], None] | None = None
        self._fitted = False
        self._memo: dict[str, Any] = {}

    def fit(
        self,
        data: RankingData,
        *,
        callback: EpochCallback | None = None,
        validation: Validation | None = None,
    ) -> Self:
        """Train on ``data``; ``validation(self)`` after each epoch drives early stopping when set."""

        from mmrec_core.encoders.base import pick_device
        from mmrec_core.train import cpu_threads, seeded, train_loop

        cfg = self.config
        self._fitted, self._memo = False, {}  # while the weights change, nothing derived from them is kept
        self.device = pick_device(cfg.device)
        self._remember(data)
        with seeded(cfg.seed):
            n, step = self._prepare(data)
        optimizer = adam(self.net, cfg.lr, self.device)
        if n == 0:
            log.warning("%s: no training rows; the model keeps its initial weights", self.name)
            self.history = []
            return self
        with cpu_threads(cfg.threads, self.device):
            self.history = train_loop(
                step, n, optimizer,
                epochs=cfg.epochs, batch_size=cfg.batch_size, seed=cfg.seed, device=self.device, name=self.name,
                modules=[self.net], callback=callback,
                validation=(lambda: validation(self)) if validation is not None else None,
                patience=cfg.early_stopping_patience, before_epoch=self._before_epoch,
            )  # fmt: skip
        self.best_epoch = self.history[-1].get("best_epoch") if self.history else None
        self._fitted = True
        return self

    def _after_fit(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, kept once the model is fitted: the final weights never change again, so the
        Recommendations page does not propagate a graph model's whole graph on every rerun. During ``fit``
        (validation between epochs) it is computed afresh each time."""
        if name in self._memo:
            return self._memo[name]
        value = compute()
        if self._fitted:
            self._memo[name] = value
        return value

    def __getstate__(self) -> dict[str, Any]:
        """A fitted ranker pickles (trained runs are kept on disk): the before-epoch hook, a closure over the
        training tensors that only ``fit`` calls, is left out."""
        state = self.__dict__.copy()
        state["_before_epoch"] = None
        state["_memo"] = {}  # derived from the weights: recomputed on first use
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"_fitted": True, "_memo": {}, **state})  # runs stored before these fields existed

    def _prepare(self, data: RankingData) -> tuple[int, Callable[[torch.Tensor], torch.Tensor]]:
        raise NotImplementedError

    def _score_tensor(self, users: torch.Tensor, items: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def _pair_tensor(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        import torch

        if self.net is None:
            raise RuntimeError(f"{self.name}: call fit() before score()")
        self.net.eval()
        with torch.no_grad():
            u = as_tensor(np.asarray(users, np.int64), self.device)
            i = None if items is None else as_tensor(np.asarray(items, np.int64), self.device)
            return self._score_tensor(u, i).float().cpu().numpy()

    def score_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        import torch

        if self.net is None:
            raise RuntimeError(f"{self.name}: call fit() before score_pairs()")
        self.net.eval()
        with torch.no_grad():
            u = as_tensor(np.asarray(users, np.int64), self.device)
            i = as_tensor(np.asarray(items, np.int64), self.device)
            return self._pair_tensor(u, i).float().cpu().numpy()
