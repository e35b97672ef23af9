"""A training loop that knows nothing about the model (minGPT-style).

The caller supplies ``step(batch_indices) -> loss`` (a closure over its own tensors and network), the
optimizer and the modules whose weights early stopping should keep; the loop owns shuffling, batching,
seeding, per-epoch reporting, validation and early stopping, and returns the history.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from mmrec_core.progress import check_cancelled

if TYPE_CHECKING:
    import torch

log = logging.getLogger("mmrec.train")


def batches(
    n: int,
    batch_size: int,
    generator: torch.Generator | None = None,
    device: str = "cpu",
    shuffle: bool = True,
) -> Iterator[torch.Tensor]:
    """Yield index tensors covering ``0..n-1`` in (shuffled) mini-batches; the last one may be smaller."""
    import torch

    if shuffle:
        order = torch.randperm(n, generator=generator).to(device)
    else:
        order = torch.arange(n, device=device)
    for start in range(0, n, max(1, batch_size)):
        yield order[start : start + batch_size]


class EarlyStopping:
    """Tracks a monitored value, keeps a copy of the best weights, and says when to stop.

    Parameters
    ----------
    patience:
        Epochs without improvement before stopping (None = never stop, still keep the best weights).
    mode:
        ``"max"`` (e.g. NDCG) or ``"min"`` (e.g. a loss).
    min_delta:
        Smallest change that counts as an improvement.
    """

    def __init__(self, patience: int | None, mode: str = "max", min_delta: float = 0.0):
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.patience = patience
        self.mode = mode
        self.min_delta = min_delta
        self.best = -math.inf if mode == "max" else math.inf
        self.best_epoch = 0
        self.wait = 0
        self._state: list[dict[str, Any]] | None = None

    def improved(self, value: float) -> bool:
        if self.mode == "max":
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def update(self, value: float, epoch: int, modules: Sequence[torch.nn.Module] = ()) -> bool:
        """Record ``value`` at ``epoch``; returns True when training should stop."""
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            # state_dict tensors alias the live parameters: deep-copy so later steps cannot change them.
            self._state = [copy.deepcopy(m.state_dict()) for m in modules]
            return False
        self.wait += 1
        return self.patience is not None and self.wait >= self.patience

    def restore(self, modules: Sequence[torch.nn.Module]) -> bool:
        """Load the best weights back into ``modules``; False when none were recorded."""
        if self._state is None:
            return False
        for module, state in zip(modules, self._state, strict=True):
            module.load_state_dict(state)
        return True


def train_loop(
    step: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    batch_size: int,
    seed: int = 42,
    device: str = "cpu",
    name: str = "model",
    modules: Sequence[torch.nn.Module] = (),
    callback: Callable[[dict[str, Any]], None] | None = None,
    validation: Callable[[], dict[str, float]] | None = None,
    monitor: str | None = None,
    mode: str = "max",
    patience: int | None = None,
    before_epoch: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run ``epochs`` passes of mini-batch gradient descent over ``n`` training rows.

    Parameters
    ----------
    step:
        Maps a batch of row indices (an int64 tensor on ``device``) to a scalar loss tensor.
    n:
        Number of training rows (pairs, interactions...).
    modules:
        Networks whose weights early stopping saves and restores; also switched to train/eval mode.
    validation:
        Called after each epoch with the modules in eval mode; its dict is merged into the epoch record.
    monitor, mode, patience:
        Early stopping on ``validation()[monitor]`` (the first key when None), restoring the best weights.
        With a validation but no patience the metrics are only reported (curves): nothing is selected on
        them, so a caller may monitor held-out data without leaking it into the model.
    before_epoch:
        Called with the epoch number (1-based) before each epoch, e.g. to resample negatives.

    Returns
    -------
    list of dict
        One record per epoch: ``{"model", "epoch", "epochs", "loss", "seconds", ...validation metrics}``.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    stopper = EarlyStopping(patience, mode=mode)
    history: list[dict[str, Any]] = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        if before_epoch is not None:
            before_epoch(epoch)
        for m in modules:
            m.train()
        total = torch.zeros((), device=device)  # summed on device: no host sync per batch
        for idx in batches(n, batch_size, generator, device):
            check_cancelled()  # a Stop ends a long epoch (large: minutes) within one batch
            loss = step(idx)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(idx)
        record: dict[str, Any] = {
            "model": name,
            "epoch": epoch,
            "epochs": epochs,
            "loss": float(total) / max(n, 1),
            "seconds": time.perf_counter() - start,
        }
        stop = False
        if validation is not None:
            for m in modules:
                m.eval()
            with torch.no_grad():
                metrics = dict(validation())
            record.update(metrics)
            key = monitor or next(iter(metrics), None)
            if key is not None:
                stop = stopper.update(float(metrics[key]), epoch, modules)
        history.append(record)
        log.info("%s epoch %d/%d loss %.4f", name, epoch, epochs, record["loss"])
        if callback is not None:
            callback(dict(record))
        if stop:
            log.info("%s: early stop at epoch %d (best epoch %d)", name, epoch, stopper.best_epoch)
            break
    for m in modules:
        m.eval()
    if validation is not None and patience is not None and stopper.restore(modules):
        history[-1]["best_epoch"] = stopper.best_epoch
    return history


@contextlib.contextmanager
def cpu_threads(threads: int | None, device: str = "cpu") -> Iterator[None]:
    """Run the block with ``threads`` torch CPU threads, restoring the previous count after.

    Small training steps gain nothing from a second thread, and spinning OpenMP workers stall badly
    when other processes (a browser, another session) share the cores. No-op for None or on a GPU.
    """
    import torch

    if threads is None or device != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def seeded(seed: int):
    """A context in which torch's global RNG (weight initialisation, dropout) starts from ``seed``.

    ``fork_rng`` restores the caller's RNG state afterwards, so fitting a model has no global side effect.
    """
    import torch

    ctx = torch.random.fork_rng(
        devices=list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    )

    class _Seeded:
        def __enter__(self):
            ctx.__enter__()
            torch.manual_seed(seed)
            return self

        def __exit__(self, *exc):
            return ctx.__exit__(*exc)

    return _Seeded()
