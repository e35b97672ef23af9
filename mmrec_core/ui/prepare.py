"""**Prepare the demo**: one job that computes the whole walk before the class arrives (the data, the item
embeddings, the catalogue map, the rankers and the rating classifier), with the settings the session's
controls show, so that every page then opens on its results.

The job runs in a worker thread (:mod:`mmrec_core.ui.jobs`) and fills the same memo slots and disk store the
pages read, so a page's own button finds the run at once. The sidebar follows it without blocking the page
(a fragment redrawn every second: the step, its progress bar, Stop) and, when it ends, puts what it made
into the session. A step that fails is reported with what to do; the steps before it are kept, and the
steps that do not need it still run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from mmrec_core.config import DataConfig, EmbedConfig, SelectionConfig, SplitConfig, StudyConfig, TrainConfig
from mmrec_core.progress import Cancelled, ProgressEvent, check_cancelled
from mmrec_core.ui import components, controls, jobs, loaders, state

log = logging.getLogger(__name__)

JOB = "prepare"
PAGE = "Prepare the demo"
HINT = "press Prepare the demo again, or run that step on its own page to see its settings."
STEPS = ("loading the data", "embedding the products", "fitting the catalogue map", "training the rankers",
         "training the rating classifier")
ORIGIN = "Trained by **Prepare the demo** with these settings on this data (the run is kept on disk too)."
STORED = "Read by **Prepare the demo** from the disk cache: trained earlier with these settings on this data."
EARLIER = "Found by **Prepare the demo**: trained earlier on this server with these settings on this data."


@dataclass(frozen=True)
class Plan:
    """What the walk's pages would run now: built from the session's settings on the script thread, so the
    worker reads nothing from the session."""

    data: DataConfig
    embed: EmbedConfig
    models: tuple[str, ...]
    split: SplitConfig
    train: TrainConfig
    selection: SelectionConfig | None
    classifier: StudyConfig
    map_method: str


@dataclass
class Outcome:
    """What the job made so far (filled step by step, so a stop or a failure keeps the finished steps)."""

    plan: Plan
    step: int = 0  # index into STEPS of the step in progress (len(STEPS) once all ran)
    last: ProgressEvent | None = None  # the step's latest progress report (None before its first)
    summary: dict[str, Any] | None = None
    embedded: bool = False
    mapped: bool = False
    ranking: tuple[StudyConfig, Any] | None = None
    classifier: tuple[dict[str, Any], dict[str, Any]] | None = None
    origins: dict[str, str] = field(default_factory=dict)  # "ranking"/"classifier": the line under the results
    errors: list[tuple[str, str]] = field(default_factory=list)  # (step, message)
    stopped: bool = False
    seconds: float = 0.0


def plan() -> Plan:
    """The walk as the controls stand (defaults where a page was not opened yet)."""
    from mmrec_core.ui import classifier_view, rankers_view

    values = st.session_state
    names = [name for name, _needs in rankers_view.model_names()]
    models, split, train, selection = controls.ranker_settings(values, names)
    data = state.get(state.DATA) or state.default_data_config()
    embed = state.get(state.EMBED) or state.default_embed_config()
    return Plan(data=data, embed=embed, models=models, split=split, train=train, selection=selection,
                classifier=classifier_view.study_config(controls.classifier_settings(values), data, embed),
                map_method=values.get("w:map-method") or "umap")


def run(p: Plan, outcome: Outcome, progress: Any = None, on_epoch: Any = None) -> Outcome:
    """Every step of ``p`` in order, recorded in ``outcome`` as it goes (the follower reads it meanwhile)."""
    from mmrec_core.study import run_classifier, run_ranking
    from mmrec_core.ui import data_view, embed_view, rankers_view

    start = time.perf_counter()
    forward = progress

    def progress(event: ProgressEvent) -> None:  # the follower reads the step's own latest report
        outcome.last = event
        if forward is not None:
            forward(event)

    def begin(step: int) -> None:
        outcome.step, outcome.last = step, None

    def failed(exc: Exception) -> None:
        log.exception("prepare the demo: %s failed", STEPS[outcome.step])
        outcome.errors.append((STEPS[outcome.step], f"{exc.__class__.__name__}: {exc}"))

    try:
        ds = loaders.load_dataset(p.data, progress).value
        outcome.summary = ds.summary()
        check_cancelled()
        begin(1)
        emb = loaders.load_embeddings(p.data, ds, p.embed, progress=progress).value
        outcome.embedded = True
        fusion = rankers_view.usable_fusion(emb, p.embed.fusion)
        for step, work in ((2, lambda: embed_view.fit_map(p.data, p.embed, emb, fusion, p.map_method,
                                                          len(data_view.item_table(ds)))),
                           (3, lambda: _rank(p, ds, emb, fusion, outcome, progress, on_epoch, run_ranking)),
                           (4, lambda: _classify(p, ds, emb, outcome, progress, on_epoch, run_classifier))):
            check_cancelled()
            begin(step)
            try:
                work()
                outcome.mapped = outcome.mapped or step == 2
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - reported in the sidebar; the other steps still run
                failed(exc)
        outcome.step = len(STEPS)
    except Cancelled:
        outcome.stopped = True
    except Exception as exc:  # noqa: BLE001 - data or embeddings: nothing after them can run
        failed(exc)
    finally:
        outcome.seconds = time.perf_counter() - start
    return outcome


def _rank(p: Plan, ds: Any, emb: Any, fusion: str, outcome: Outcome, progress: Any, on_epoch: Any,
          run_ranking: Any) -> None:
    from mmrec_core.ui import rankers_view

    config = rankers_view.study_config(p.models, p.split, p.train, (fusion,), p.selection, p.data, p.embed)
    data = rankers_view.interactions(ds, config)
    slot = loaders.trained_slot("ranking", config, ds.fingerprint, emb.identity)
    outcome.origins["ranking"] = _origin(slot)
    result = loaders.fill(slot, lambda: run_ranking(config, data, emb, progress=progress, on_epoch=on_epoch,
                                                    keep_models=True), keep=rankers_view.complete).value
    if not result.results.empty:
        outcome.ranking = (config, result)
    if result.stopped:
        raise Cancelled
    if result.errors:
        outcome.errors.append((STEPS[3], "; ".join(f"{e.get('model', '?')}: {e['error']}" for e in result.errors)))


def _origin(slot: dict[str, Any]) -> str:
    """Where a run the job is about to fill comes from: trained now, this server's memory or the disk store."""
    if "value" not in slot:
        return ORIGIN
    return STORED if slot.get("from_disk") else EARLIER


def _classify(p: Plan, ds: Any, emb: Any, outcome: Outcome, progress: Any, on_epoch: Any,
              run_classifier: Any) -> None:
    from mmrec_core.ui import classifier_view

    config = p.classifier
    slot = loaders.trained_slot("classifier", config, ds.fingerprint, emb.identity)
    outcome.origins["classifier"] = _origin(slot)
    outputs, info = loaders.fill(slot, lambda: run_classifier(config, ds, emb, progress, on_epoch),
                                 keep=classifier_view.complete).value
    if info.get("error"):
        raise RuntimeError(info["error"])
    if any("error" not in o for o in outputs.values()):
        outcome.classifier = (outputs, info)
    if info.get("stopped"):
        raise Cancelled


def start() -> None:
    """Start the job with the settings the controls show now (nothing happens while one runs)."""
    job = jobs.get(JOB)
    if job is not None and job.running:
        return
    p = plan()
    outcome = Outcome(p)
    st.session_state["_prepare"] = outcome
    st.session_state.pop("_prepare_report", None)
    jobs.start(JOB, PAGE, "Preparing the demo",
               lambda progress, on_epoch: run(p, outcome, progress, on_epoch), HINT, script_context=True)


def button() -> None:
    """The sidebar's button, the running job's box (every second, without holding the page) or the last report."""
    running = jobs.get(JOB)
    if running is not None:
        _follow()
        return
    st.button("Prepare the demo", key="sidebar-prepare", icon=":material/rocket_launch:", on_click=start,
              help="Computes the whole walk now, with the settings the pages show (defaults where unchanged): the "
                   "data, the embeddings, the catalogue map, the rankers and the rating classifier. It runs in the "
                   "background (open any page meanwhile); each page then opens on its results.")
    report = st.session_state.get("_prepare_report")
    if report:
        (st.warning if report["problem"] else st.success)(report["text"], icon=report["icon"])


@st.fragment(run_every=1.0)
def _follow() -> None:
    job, outcome = jobs.get(JOB), st.session_state.get("_prepare")
    if job is None or outcome is None:
        return
    if job.running:
        step, last = min(outcome.step, len(STEPS) - 1), outcome.last
        text = f"Preparing the demo: step {step + 1} of {len(STEPS)}, {STEPS[step]}"
        st.progress(_fraction(step, last), text=text)
        if last is not None:
            st.caption(_event_text(last))
        if job.stop.is_set():
            st.caption("Stopping: the step in progress ends at its next batch ...")
        else:
            st.button("Stop", key="prepare-stop", icon=":material/stop_circle:", on_click=job.stop.set,
                      help="ends the job at the step's next batch (the map's UMAP fit runs to its end); "
                                 "the steps that finished are kept")
        return
    jobs.forget(JOB)
    apply(job.value if job.value is not None else outcome, job.error)
    st.rerun()


def _fraction(step: int, last: ProgressEvent | None) -> float:
    within = (last.fraction or 0.0) if last is not None else 0.0
    return min(1.0, (step + min(max(within, 0.0), 1.0)) / len(STEPS))


def _event_text(event: ProgressEvent) -> str:
    from mmrec_core.ui.progress import event_words

    return event_words(event)


def apply(outcome: Outcome, error: BaseException | None = None) -> None:
    """Put what the job made into the session, as if each page's button had been pressed, and say how it went."""
    from mmrec_core.ui import classifier_view, steps

    p = outcome.plan
    made = []
    if outcome.summary is not None:
        steps.use_data(p.data)  # another data set's results are put away (the same one's stay)
        steps.mark_loaded(p.data)
        state.put("data_summary", outcome.summary)
        st.session_state["data_load_note"] = "Loaded by **Prepare the demo**."
        made.append("data")
    if outcome.embedded:
        state.put(state.EMBED, p.embed)
        steps.mark_loaded(("emb", p.data, p.embed))
        st.session_state["embed_note"] = "Computed (or read from the cache) by **Prepare the demo**."
        made.append("embeddings")
    if outcome.mapped:
        made.append("map")
    if outcome.ranking is not None:
        config, result = outcome.ranking
        state.put(state.RANKING, {"result": result, "config": config, "origin": outcome.origins["ranking"]})
        made.append(f"{result.results['model'].nunique()} rankers")
    if outcome.classifier is not None:
        state.put(state.CLASSIFIER, {**classifier_view.run_of(outcome.classifier, p.classifier),
                                          "origin": outcome.origins["classifier"]})
        made.append("classifier")
    errors = list(outcome.errors) + ([("the job", f"{error.__class__.__name__}: {error}")] if error else [])
    done = ", ".join(made) or "nothing"
    if errors:
        text = f"Prepared {done}; " + "; ".join(f"{step} failed ({msg})" for step, msg in errors) + f". {HINT[0].upper()}{HINT[1:]}"
    elif outcome.stopped:
        text = f"Stopped after {outcome.seconds:.0f} s; kept: {done}."
    else:
        text = f"The demo is ready ({outcome.seconds:.0f} s): {done}. Every page opens on its results."
    st.session_state["_prepare_report"] = {"text": text, "problem": bool(errors or outcome.stopped),
                                           "icon": ":material/warning:" if errors else ":material/stop_circle:"
                                           if outcome.stopped else ":material/check_circle:"}
    components.clear_failure(PAGE)
