"""Bridges from core callbacks to Streamlit: progress bars with rate and time left, live training curves."""

from __future__ import annotations

import re
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


_TRAIN = re.compile(r"^train (?P<setting>[^/ ]+)/(?P<model>\S+)(?: trial (?P<trial>\d+))?(?P<refit> refit)?$")
_WORDS = {"embed-texts": "embedding titles", "embed-images": "embedding pictures", "load images": "loading pictures",
          "rank users": "ranking every item for the test users", "AUC": "scoring the test users (AUC)",
          "read reviews": "reading reviews", "read meta": "reading products",
          "study: ranking": "fitting and evaluating"}


def stage_words(stage: str) -> str:
    """A core stage name as a class reads it: ``train none/bpr-mf trial 2`` -> ``training bpr-mf, settings 2``."""
    found = _TRAIN.match(stage)
    if found:
        setting = found["setting"]
        text = f"training {found['model']}" + ("" if setting == "none" else f" on {setting} vectors")
        if found["trial"]:
            text += f", settings {found['trial']}"
        return text + (", final fit on train + validation" if found["refit"] else "")
    if stage.startswith("classifier "):
        return f"training the rating classifier on {stage.removeprefix('classifier ')}"
    return _WORDS.get(stage, stage)


def event_words(event: ProgressEvent) -> str:
    """The bar's line: ``training bpr-mf: epoch 7/100, 12.5 epochs/s, about 8 s left``."""
    unit = event.unit[:-1] if event.unit.endswith("s") and event.total else event.unit
    count = f"{unit} {event.done:,}/{event.total:,}" if event.total else f"{event.done:,} {event.unit}"
    if event.total and event.unit == "runs":  # the box's label names the run in progress ("run 6 of 8")
        count = f"{event.done:,} of {event.total:,} runs done"
    text = f"{stage_words(event.stage)}: {count}"
    if event.rate:
        text += f", {event.rate:,.1f} {event.unit}/s"
    if event.eta_s is not None:
        text += f", about {event.eta_s:,.0f} s left"
    return text


class ProgressBridge:
    """A :data:`mmrec_core.progress.ProgressCallback` that draws ``st.progress`` with items/s and time left.

    Redraws at most every ``min_interval`` seconds (each redraw is a websocket message) and always on the
    last event of a stage. ``status`` (an ``st.status`` container) also gets the stage as its label.
    """

    def __init__(self, container: Any = None, status: Any = None, min_interval: float = 0.15, label: str = ""):
        self.container = container if container is not None else st.container()
        self.status = status
        self.label = label  # the step's own label stays in front of the stage: "Training 7 models: training ..."
        self._runs: ProgressEvent | None = None  # the study's run count, for "run 3 of 16"
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
            self.bar.progress(frac if frac is not None else 0.0, text=event_words(event))
            if event.stage == "study: ranking":
                self._runs = event
            if self.status is not None and (event.stage != self._stage or event is self._runs):
                runs = self._runs
                where = (f" · run {min(runs.done + 1, runs.total):,} of {runs.total:,}"
                         if runs is not None and runs.total else "")
                head = f"{self.label}: " if self.label else ""
                # expanded again on every label: an update without it folds the box, hiding the bar and Stop
                self.status.update(label=f"{head}{stage_words(event.stage)}{where} ...", expanded=True)
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
