"""Long runs (training) in a worker thread the page follows, so a class can stop them and leave the page.

A page *starts* a job and then *follows* it: the follower draws the step box, a Stop button, the progress
bar and the live curves from what the worker recorded, polling until the worker ends. Any rerun (a click
anywhere, another page) ends only the follower; the worker goes on, and the next run of its page follows
it again from the events recorded so far. Stop sets the job's flag; core code inside
:func:`mmrec_core.progress.cancellable` checks it at every progress report and training batch and ends
the run keeping the models that finished. Jobs are per session; a job is collected by the first
follower that sees it end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from mmrec_core.progress import Cancelled, ProgressEvent, cancellable
from mmrec_core.ui import components
from mmrec_core.ui.progress import CurveBridge, ProgressBridge

POLL_S = 0.2  # how often the follower redraws: a Stop is seen by the worker within a batch of the next poll
CURVES_S = 1.0  # the live curves at most once a second: each redraw is a figure built under the GIL the
# training thread needs too


@dataclass
class Job:
    """One run in a worker thread: what it reported, and how it ended."""

    page: str  # whose error box reports a failure
    label: str
    hint: str
    curves: Callable[[Any], CurveBridge] | None = None  # builds the page's live-curve drawer in a container
    stop: threading.Event = field(default_factory=threading.Event)
    events: list[ProgressEvent] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    value: Any = None
    error: BaseException | None = None
    cancelled: bool = False
    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def _run(self, fn: Callable[..., Any]) -> None:
        try:
            with cancellable(self.stop):
                self.value = fn(progress=self.events.append, on_epoch=self.epochs.append)
        except Cancelled:
            self.cancelled = True  # stopped before anything finished (the runners keep finished models)
        except Exception as exc:  # noqa: BLE001 - shown by the follower as the page's error box
            self.error = exc
        finally:
            self.seconds = time.perf_counter() - self.started


def _jobs() -> dict[str, Job]:
    return st.session_state.setdefault("_jobs", {})


def start(name: str, page: str, label: str, fn: Callable[..., Any], hint: str,
          curves: Callable[[Any], CurveBridge] | None = None, script_context: bool = False) -> Job:
    """Run ``fn(progress=..., on_epoch=...)`` in a worker thread as job ``name`` (one at a time per name);
    ``script_context`` gives the thread the session's script context (``fn`` takes its own memo slots)."""
    old = _jobs().get(name)
    if old is not None and old.running:
        return old
    job = Job(page=page, label=label, hint=hint, curves=curves)
    job.thread = threading.Thread(target=job._run, args=(fn,), name=f"mmrec {name}", daemon=True)
    if script_context:  # the worker may then use Streamlit's caches (the memo slots) as the page does
        from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

        add_script_run_ctx(job.thread, get_script_run_ctx())
    _jobs()[name] = job
    job.thread.start()
    return job


def get(name: str) -> Job | None:
    """This session's job ``name`` (running, or ended and not yet collected)."""
    return _jobs().get(name)


def forget(name: str) -> None:
    """Drop job ``name`` once its follower took what it made (a follower other than :func:`follow`)."""
    _jobs().pop(name, None)


def stop_all() -> int:
    """Ask every running job of this session to stop (the runners keep what finished); how many were asked."""
    jobs = running()
    for job in jobs:
        job.stop.set()
    return len(jobs)


def running() -> list[Job]:
    """Jobs of this session that still run (the sidebar lists them, so a run left behind is not forgotten)."""
    return [job for job in _jobs().values() if job.running]


def follow(name: str) -> tuple[bool, Any]:
    """Follow job ``name`` until it ends: ``(True, value)`` once it has (value None after a failure or a stop
    before anything finished, with the box saying so); ``(False, None)`` when there is no such job."""
    job = _jobs().get(name)
    if job is None:
        return False, None
    page = job.page
    with st.status(f"{job.label} ...", expanded=True) as status:
        stop = st.empty()
        if job.running and not job.stop.is_set():
            stop.button("Stop", key=f"stop-{name}", icon=":material/stop_circle:", on_click=job.stop.set,
                        help="ends the run within a second or two; the models that finished are kept")
        bridge = ProgressBridge(status=status, label=job.label)
        curves = job.curves(st.container()) if job.curves is not None else None
        seen, drawn, last_draw = 0, 0, 0.0
        if curves is not None:
            curves.min_interval = float("inf")  # drawn here, on the follower's clock, not on every epoch
        while True:
            done = not job.running  # read before draining, so the last events are drawn
            for event in job.events[seen:]:
                bridge(event)
            seen = len(job.events)
            if curves is not None and len(job.epochs) > drawn:
                for epoch in job.epochs[drawn:]:
                    curves(epoch)
                drawn = len(job.epochs)
                if time.perf_counter() - last_draw >= CURVES_S:
                    curves.draw()
                    last_draw = time.perf_counter()
            if done:
                break
            if job.stop.is_set():
                stop.caption("Stopping: the model in training ends at its next batch ...")
            time.sleep(POLL_S)
        stop.empty()
        if curves is not None:
            curves.slot.empty()
        _jobs().pop(name, None)  # collected: the next run of the page starts clean
        if job.error is not None:
            status.update(label=f"{job.label} failed", state="error")
            components.report_failure(page, job.error, job.hint)
            return True, None
        if job.cancelled or job.stop.is_set():
            status.update(label=f"{job.label}: stopped after {job.seconds:.1f} s", state="complete", expanded=False)
            return True, job.value
        bridge.done(f"done in {job.seconds:.1f} s")
        status.update(label=f"{job.label}: done in {job.seconds:.1f} s", state="complete", expanded=False)
    components.clear_failure(page)
    return True, job.value
