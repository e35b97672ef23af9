"""Progress reporting through callbacks: core code reports, the UI or the CLI renders.

A stage calls ``report(done, total)``; the callback receives a :class:`ProgressEvent` with the rate and
the time left, so the dashboard can show ``st.progress`` and the CLI a tqdm bar from the same events.

Stopping works the same way from any caller: ``with cancellable(event): run_ranking(...)`` makes every
progress report and every training batch inside check ``event``; once it is set they raise
:class:`Cancelled`, which the runners catch where finished work can be kept (whole models, whole modalities).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


class Cancelled(BaseException):  # noqa: N818 - reads as what happened: "the run was cancelled"
    """The run was stopped by its user. A BaseException, so the per-model ``except Exception`` that records
    a failed model and goes on does not swallow it: the whole run ends, keeping what finished."""


_STOP: ContextVar[threading.Event | None] = ContextVar("mmrec_stop", default=None)


@contextlib.contextmanager
def cancellable(stop: threading.Event) -> Iterator[None]:
    """Within the block, :func:`check_cancelled` raises :class:`Cancelled` once ``stop`` is set (from any thread)."""
    token = _STOP.set(stop)
    try:
        yield
    finally:
        _STOP.reset(token)


def check_cancelled() -> None:
    """Raise :class:`Cancelled` if the enclosing :func:`cancellable` block was asked to stop (cheap: a flag read)."""
    stop = _STOP.get()
    if stop is not None and stop.is_set():
        raise Cancelled


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report of a stage ("embed-images", "train mlp-bpr", ...)."""

    stage: str
    done: int
    total: int | None = None
    rate: float | None = None  # units per second since the stage began
    eta_s: float | None = None
    unit: str = "items"
    message: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)  # e.g. per-epoch loss for live curves

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)

    def describe(self) -> str:
        """A one-line human summary: ``embed-images 320/500 items, 41.2 items/s, 4 s left``."""
        parts = [self.stage, f"{self.done}/{self.total}" if self.total else str(self.done), self.unit]
        text = " ".join(parts)
        if self.rate:
            text += f", {self.rate:,.1f} {self.unit}/s"
        if self.eta_s is not None:
            text += f", {self.eta_s:,.0f} s left"
        if self.message:
            text += f" - {self.message}"
        return text


ProgressCallback = Callable[[ProgressEvent], None]


class Reporter:
    """Turns ``update(done)`` calls into :class:`ProgressEvent` s with rate and ETA.

    Parameters
    ----------
    callback:
        Receives the events; ``None`` makes every call a no-op.
    stage, total, unit:
        Describe what is being counted.
    """

    def __init__(self, callback: ProgressCallback | None, stage: str, total: int | None, unit: str = "items"):
        self.callback = callback
        self.stage = stage
        self.total = total
        self.unit = unit
        self.start = time.perf_counter()
        self.done = 0

    def update(self, done: int, *, message: str = "", metrics: dict[str, Any] | None = None) -> None:
        check_cancelled()  # every reporting loop is a place where a stopped run ends
        self.done = done
        if self.callback is None:
            return
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        rate = done / elapsed if done else None
        eta = (self.total - done) / rate if rate and self.total else None
        self.callback(
            ProgressEvent(self.stage, done, self.total, rate, eta, self.unit, message, dict(metrics or {}))
        )

    def advance(self, n: int = 1, **kwargs: Any) -> None:
        self.update(self.done + n, **kwargs)
