"""The Rankers page's work: train (live curves), the results table, the fusion ablation, downloads.

Runs go through :func:`mmrec_core.study.run_ranking`, the same code the CLI's ``study`` command runs, with
a :class:`~mmrec_core.config.StudyConfig` built from the page's controls (downloadable as JSON).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, NamedTuple

import pandas as pd
import streamlit as st

from mmrec_core import viz
from mmrec_core.config import (
    DataConfig,
    EmbedConfig,
    EvalConfig,
    SelectionConfig,
    SplitConfig,
    StudyConfig,
    TrainConfig,
    to_dict,
)
from mmrec_core.ui import components, jobs, loaders, state
from mmrec_core.ui.progress import CurveBridge

TABLE_METRICS = ("test_accuracy", "auc", "val_ndcg@10", "ndcg@10", "recall@10", "hr@10", "mrr@10", "recall@20",
                 "ndcg@20", "train_accuracy", "coverage@10", "novelty@10")
HINT = "try fewer models or epochs; if it persists, recompute the embeddings on the Embeddings page."


def model_names() -> list[tuple[str, bool]]:
    """``(name, needs_features)`` of every registered ranker."""
    from mmrec_core.models.registry import RANKERS

    return [(name, cls.needs_features) for name, cls in RANKERS.items()]


def usable_fusion(emb: Any, fusion: str) -> str:
    return "concat" if fusion == "mean" and emb is not None and not emb.shared_space else fusion


def study_config(models: tuple[str, ...], split: SplitConfig, train: TrainConfig, fusions: tuple[str, ...],
                 selection: SelectionConfig | None = None, data: DataConfig | None = None,
                 embed: EmbedConfig | None = None) -> StudyConfig:
    """The study the Rankers page runs; ``data`` and ``embed`` default to the session's (given, nothing reads
    the session: a worker thread can build it)."""
    embed = embed or state.get(state.EMBED) or state.default_embed_config()
    data = data or state.get(state.DATA) or state.default_data_config()
    return StudyConfig(name="dashboard", data=data, split=split, embed=embed, fusions=fusions, models=models,
                       train=train, eval=EvalConfig(), classifier=None, selection=selection)


def interactions(ds: Any, config: StudyConfig) -> Any:
    """The labelled split of ``config`` on ``ds`` (memoised: every page and the prepare job share it)."""
    from mmrec_core.study import prepare_interactions

    return loaders.memo("interactions", (config.data, ds.fingerprint, config.split),
                        lambda: prepare_interactions(ds, config)).value


class Stored(NamedTuple):
    """A run trained before on the same config, data and embeddings, and where it came from (a line to show)."""

    value: Any
    origin: str


def train(ds: Any, emb: Any, config: StudyConfig, label: str, job: str = "rankers",
          page: str = "Rankers") -> Stored | None:
    """Start training ``config`` as the page's job (followed by :func:`collect`), or return the run this server
    already trained on the same config, data and embeddings (a second walk through the demo is instant)."""
    from mmrec_core.study import run_ranking

    data = interactions(ds, config)
    slot = loaders.trained_slot("ranking", config, ds.fingerprint, None if emb is None else emb.identity)
    if "value" in slot:
        return stored(slot)
    jobs.start(job, page, label, lambda progress, on_epoch: loaders.fill(slot, lambda: run_ranking(
        config, data, emb, progress=progress, on_epoch=on_epoch, keep_models=True), keep=complete).value, HINT,
        curves=lambda box: CurveBridge(box, by_setting=len(config.fusions) > 1, transform=trial_lines))
    return None


def stored(slot: dict[str, Any]) -> Stored:
    """The slot's run and where it came from; a toast when that is the disk store (trained before a restart).
    The origin line stays under the results (:func:`origin_note`): a toast is gone in four seconds."""
    if slot.get("from_disk"):
        origin = "Trained earlier with these settings on this data: read from the disk cache, nothing retrained."
        st.toast(origin, icon=":material/history:")
    else:
        origin = "Trained earlier on this server with these settings on this data: shown at once, nothing retrained."
    return Stored(slot["value"], origin)


def origin_note(run: dict[str, Any]) -> None:
    """Under a page's results: the line that says they were not trained just now, when they were not."""
    if run.get("origin"):
        st.caption(run["origin"], help="Finished runs are kept under the cache's `trained` folder, keyed by the "
                   "settings, the data's fingerprint and the embeddings; `python -m mmrec_core cache clear --what "
                   "trained` deletes them, and the next press trains again.")


def complete(result: Any) -> bool:
    """A run worth serving again from memory: it ran to the end and nothing in it failed."""
    return not result.stopped and not result.errors


def collect(job: str = "rankers", page: str = "Rankers") -> Any | None:
    """Follow the page's training job to its end; its result (also a stopped run's, with the models that
    finished), or None while there is none or when every model failed (the error box says why)."""
    ended, result = jobs.follow(job)
    if not ended or result is None:
        return None
    if result.results.empty:
        st.warning(f"Training {result.stopped or 'ended'} before any model finished: nothing to show.",
                   icon=":material/stop_circle:")
        return None
    if result.errors and result.results.get("error", pd.Series()).notna().all():
        components.report_failure(page, RuntimeError(result.errors[0]["error"]), HINT)
        return None
    return result


def trial_lines(row: dict[str, Any]) -> list[dict[str, Any]]:
    """One live line per selection trial and one for the refit (their epochs restart at 1)."""
    tag = f" trial {row['trial']}" if row.get("trial") else " refit" if row.get("phase") == "refit" else ""
    return [{**row, "model": f"{row['model']}{tag}"}]


def results_table(result: Any, key: str = "results") -> None:
    """The metrics table (mean ± std over seeds), the protocol it was measured under, per-row errors."""
    st.caption(f"Protocol: {result.protocol}")
    if result.stopped:
        st.warning(f"Training {result.stopped}: the table holds the models that finished.",
                   icon=":material/stop_circle:")
    leaderboard(result, key)
    for err in result.errors:
        st.warning(f"{err['step']}: {err['error']}")
    chosen = result.selection_table()
    if not chosen.empty:
        from mmrec_core.leaderboard import chosen_settings

        st.markdown("**Selected settings** (chosen on the validation split, then refit on train + validation "
                    "for the chosen epochs; the test set is read once per model)")
        st.dataframe(chosen_settings(chosen), hide_index=True, width="stretch", key=f"selected-{key}")


BEST = "background-color: #dcfce7; color: #14532d; font-weight: 600"


def leaderboard(result: Any, key: str) -> None:
    """The sortable table: headline columns in words (more on demand), each column's best value in green."""
    from mmrec_core import leaderboard as lb

    offered = lb.available(result, TABLE_METRICS)
    shown = st.multiselect("Columns", offered, format_func=lb.words, key=state.widget_default(
        f"w:{key}-columns", [m for m in lb.DEFAULT_METRICS if m in offered]), help="the download has every column")
    frame, best = lb.leaderboard(result, tuple(m for m in offered if m in shown))
    mask = lb.best_mask(frame, best)
    styled = frame.style.apply(lambda col: [BEST if hit else "" for hit in mask[col.name]]).format(precision=3, na_rep="—")
    st.dataframe(styled, hide_index=True, width="stretch", key=f"{key}-table")
    none = " None: nothing to measure (a model that learns nothing has no validation value)." if (
        frame.isna().any().any()) else ""
    st.caption("Green: each column's best (the oracle, the hidden taste itself, is the ceiling and never counted). "
               f"Click a column's name to sort by it.{none}")


def curves(result: Any, key: str) -> None:
    """Loss and validation metric per epoch of each selected model, with its test value at the chosen epoch."""
    history = result.history_frame()
    if history.empty:
        return
    several = bool(history.groupby("model")["setting"].nunique().max() > 1)  # a model in two settings (ablation)
    if several:
        history = history.assign(model=history["setting"] + "/" + history["model"])
    if "seed" in history and history["seed"].nunique() > 1:
        history = history.groupby(["model", "epoch"], as_index=False).mean(numeric_only=True)
    points = viz.test_points(result.ok_rows(), result.selection, by_setting=several)
    st.plotly_chart(viz.training_curves(history, title="Training curves", points=points), key=key)
    if not points.empty:
        st.caption("Lines: loss and validation metric per epoch of each model's selected settings. Star: the "
                   "final model's test value, at the chosen epoch.")


def downloads(result: Any, config: StudyConfig, stem: str) -> None:
    c1, c2, c3 = st.columns(3)
    c1.download_button("Download results JSON", json.dumps(result.to_dict(), indent=2, default=str),
                       file_name=f"{stem}-results.json", mime="application/json", key=f"dl-res-{stem}")
    c2.download_button("Download table CSV", result.summary().to_csv(index=False), file_name=f"{stem}-table.csv",
                       mime="text/csv", key=f"dl-csv-{stem}",
                       help="one row per setting and model: every metric's mean over seeds and its sd (_std)")
    c3.download_button("Download config JSON", json.dumps({"config_type": "StudyConfig", **to_dict(config)}, indent=2),
                       file_name=f"{stem}-config.json", mime="application/json", key=f"dl-cfg-{stem}",
                       help="re-run headless: python -m mmrec_core study --config FILE")


def ablation_chart(result: Any, key: str = "ablation") -> None:
    """Grouped bars of one chosen metric, fusion mode x model; ``key`` keeps two charts on a page apart."""
    rows = result.ok_rows()
    metrics = [m for m in result.metric_columns() if m in rows.columns and rows[m].notna().any()
               and not m.startswith("n_")]
    if rows.empty or not metrics:
        return
    default = "test_accuracy" if "test_accuracy" in metrics else metrics[0]
    metric = st.selectbox("Metric", metrics, key=state.widget_default(f"w:{key}-metric", default))
    metric = metric if metric in metrics else default
    st.plotly_chart(viz.grouped_results(rows, metric, title=f"{metric}: fusion mode x model"), key=f"{key}-bar")


def ablation_controls(emb: Any, models: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    from mmrec_core.config import FUSIONS

    options = [f for f in FUSIONS if f != "mean" or (emb is not None and emb.shared_space)]
    fusions = st.multiselect("Fusion modes", options, key=state.widget_default("w:ablation-fusions", options))
    content = [name for name, needs in model_names() if needs]
    chosen = st.multiselect("Models", [m for m, _ in model_names()],
                            key=state.widget_default("w:ablation-models", [m for m in models if m in content] or content))
    return tuple(f for f in fusions if f in options), tuple(chosen)


def with_fusions(config: StudyConfig, fusions: tuple[str, ...], models: tuple[str, ...]) -> StudyConfig:
    return replace(config, fusions=fusions, models=models, name="dashboard-ablation")
