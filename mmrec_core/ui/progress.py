"""Bridges from core callbacks to Streamlit: progress bars with rate and time left, live training curves."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from mmrec_core import viz
from mmrec_core.progress import ProgressEvent


def _on_script_thread() -> bool:
    # Core code may report from worker threads (image downloads); Streamlit can only draw from the script thread.
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return get_script_run_ctx(suppress_warning=True) is not None


class ProgressBridge:
    """A :data:`mmrec_core.progress.ProgressCallback` that draws ``st.progress`` with items/s and time left.

    Redraws at most every ``min_interval`` seconds (each redraw is a websocket message) and always on the
    last event of a stage. ``status`` (an ``st.status`` container) also gets the stage as its label.
    """

    def __init__(self, container: Any = None, status: Any = None, min_interval: float = 0.15):
        self.container = container if container is not None else st.container()
        self.status = status
        self.bar = self.container.progress(0.0, text="starting ...")
        self.min_interval = min_interval
        self._last = 0.0
        self._stage = ""
        self._lock = threading.Lock()
        self.events: list[ProgressEvent] = []

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            self.events.append(event)
            now = time.perf_counter()
            final = event.total is not None and event.done >= event.total
            if not _on_script_thread() or (now - self._last < self.min_interval and not final
                                           and event.stage == self._stage):
                return
            self._last = now
            frac = event.fraction
            self.bar.progress(frac if frac is not None else 0.0, text=event.describe())
            if self.status is not None and event.stage != self._stage:
                self.status.update(label=f"{event.stage} ...")
            self._stage = event.stage

    def done(self, text: str) -> None:
        self.bar.progress(1.0, text=text)


class CurveBridge:
    """An epoch callback that appends each epoch dict and redraws the loss/metric curves live.

    Parameters
    ----------
    metrics:
        Columns to plot (those that never appear are skipped); ``None`` = every numeric one.
    prefix:
        Prepended to the model name.
    transform:
        Turns one epoch dict into plotted rows (e.g. split train and validation into two lines).
    by_setting:
        Label lines ``setting/model`` (during a fusion ablation the same model trains once per setting).
    """

    def __init__(self, container: Any = None, metrics: list[str] | None = None, prefix: str = "",
                 min_interval: float = 0.3, by_setting: bool = False,
                 transform: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None):
        self.slot = (container if container is not None else st.container()).empty()
        self.metrics = metrics
        self.prefix = prefix
        self.by_setting = by_setting
        self.transform = transform
        self.rows: list[dict[str, Any]] = []
        self.min_interval = min_interval
        self._last = 0.0
        self._n = 0

    def __call__(self, epoch: dict[str, Any]) -> None:
        row = dict(epoch)
        name = str(row.get("model", "model"))
        if self.by_setting and row.get("setting"):
            name = f"{row['setting']}/{name}"
        row["model"] = f"{self.prefix}{name}"
        self.rows.extend(self.transform(row) if self.transform else [row])
        now = time.perf_counter()
        if _on_script_thread() and now - self._last >= self.min_interval:
            self._last = now
            self.draw()

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def draw(self) -> None:
        if not self.rows:
            return
        self._n += 1
        fig = viz.training_curves(self.frame(), self.metrics, title="Training curves (live)")
        self.slot.plotly_chart(fig, width="stretch", key=f"live-curves-{id(self)}-{self._n}")
