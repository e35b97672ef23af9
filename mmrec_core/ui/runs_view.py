"""Saved runs: open what ``python -m mmrec_core study`` wrote, or run a config file as the CLI would.

The dashboard and the CLI share :class:`~mmrec_core.config.StudyConfig` and
:class:`~mmrec_core.results.StudyResult`, so a run made in either place can be read in the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from mmrec_core.config import StudyConfig, parse_config
from mmrec_core.ui import components, rankers_view, state, steps

SAVED = "saved_run"
CHECKED = "_run-config-checked"  # file_id of the last uploaded config checked
OPEN_HINT = "pick a folder that holds results.json and config.json, as written by `python -m mmrec_core study`."
RUN_HINT = "check the config against `python -m mmrec_core study --write-default FILE`; unknown fields are named above."


def section(page: str = "Saved runs") -> None:
    """Open a run folder or run an uploaded config; the chosen run is shown below and kept in the session.

    Its failures have their own box, here beside these controls (not the page's, far above them).
    """
    st.subheader("Saved runs")
    st.caption("Runs of `python -m mmrec_core study` (or of a config downloaded here) open in the same tables.")
    components.error_box(page)
    tab_open, tab_run = st.tabs(["Open a run folder", "Run a config file"])
    with tab_open:
        _open(page)
    with tab_run:
        _run(page)
    saved = state.get(SAVED)
    if saved is not None:
        try:
            show(saved["result"], saved["source"])
        except Exception as exc:  # noqa: BLE001 - a run that reads but cannot be drawn must not break every rerun
            state.put(SAVED, None)
            components.report_failure(page, exc, OPEN_HINT)


def _open(page: str) -> None:
    from mmrec_core.results import StudyResult, list_runs

    runs = [str(p) for p in list_runs()]
    picked = st.selectbox("Runs in the cache", runs, index=None, key="w:run-folder",
                          placeholder="no runs yet" if not runs else f"{len(runs)} runs, newest first")
    typed = st.text_input("...or a run folder", key="w:run-path", placeholder="/path/to/run (holds results.json)")
    folder = typed.strip() or picked
    if st.button("Open run", key="open-run", disabled=not folder):
        try:
            result = StudyResult.from_json(Path(folder).expanduser())
        except (OSError, ValueError, KeyError) as exc:
            components.report_failure(page, exc, OPEN_HINT)
            return
        state.put(SAVED, {"result": result, "source": str(folder)})
        components.clear_failure(page)


def _run(page: str) -> None:
    from mmrec_core.results import default_run_dir
    from mmrec_core.study import run_study, validate_config

    upload = st.file_uploader("StudyConfig JSON", type=["json"], key="run-config-upload")
    if upload is None:
        return
    new = state.get(CHECKED) != upload.file_id  # a file is reported once: a later good action clears its box
    state.put(CHECKED, upload.file_id)
    try:
        config = parse_config(StudyConfig, upload.getvalue())  # the CLI's rules: one line naming the field
        validate_config(config)
    except ValueError as exc:  # ConfigError, StudyConfigError
        if new:
            components.report_failure(page, exc, RUN_HINT)
        return
    if new:
        components.clear_failure(page)
    st.caption(f"**{config.name}**: {config.data.source} data, encoder {config.embed.encoder}, fusions "
               f"{', '.join(config.fusions)}, models {', '.join(config.models)}, seeds {list(config.seeds)}.")
    if st.button("Run this config", key="run-config", type="primary"):
        out = default_run_dir(config.name)  # the CLI's folder: the name is sanitised, never a path
        result = steps.run_step(page, f"Running {config.name}",
                                lambda progress: run_study(config, progress=progress, out_dir=out), RUN_HINT)
        if result is not None:
            state.put(SAVED, {"result": result, "source": str(out)})


def show(result: Any, source: str) -> None:
    """A saved run's ranking table, ablation chart and classifier summary."""
    st.markdown(f"**{result.config.name}** from `{source}`")
    if not result.results.empty:
        rankers_view.results_table(result, key="saved")
        rankers_view.ablation_chart(result, key="saved")
    if result.classifier:
        st.markdown("**Rating classifier**")
        st.table(classifier_summary(result.classifier), hide_index=True, border="horizontal")


def classifier_summary(classifier: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per modality: accuracy, macro-F1, best epoch (3 digits, as the study reports)."""
    rows = [{"modality": m, "accuracy": out.get("accuracy"), "macro F1": out.get("macro_f1"),
             "best epoch": out.get("best_epoch")} for m, out in classifier.items() if "accuracy" in out]
    return pd.DataFrame(rows).round(3)
