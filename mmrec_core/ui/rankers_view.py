"""The Rankers page's work: train (live curves), the results table, the fusion ablation, downloads.

Runs go through :func:`mmrec_core.study.run_ranking`, the same code the CLI's ``study`` command runs, with
a :class:`~mmrec_core.config.StudyConfig` built from the page's controls (downloadable as JSON).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from mmrec_core import viz
from mmrec_core.config import EvalConfig, SelectionConfig, SplitConfig, StudyConfig, TrainConfig, to_dict
from mmrec_core.ui import components, loaders, state, steps
from mmrec_core.ui.progress import CurveBridge

TABLE_METRICS = ("train_accuracy", "test_accuracy", "auc", "recall@10", "val_ndcg@10", "ndcg@10", "hr@10", "mrr@10",
                 "recall@20", "ndcg@20", "coverage@10", "novelty@10")
HINT = "try fewer models or epochs; if it persists, recompute the embeddings on the Embeddings page."


def model_names() -> list[tuple[str, bool]]:
    """``(name, needs_features)`` of every registered ranker."""
    from mmrec_core.models.registry import RANKERS

    return [(name, cls.needs_features) for name, cls in RANKERS.items()]


def usable_fusion(emb: Any, fusion: str) -> str:
    return "concat" if fusion == "mean" and emb is not None and not emb.shared_space else fusion


def study_config(models: tuple[str, ...], split: SplitConfig, train: TrainConfig, fusions: tuple[str, ...],
                 selection: SelectionConfig | None = None) -> StudyConfig:
    embed = state.get(state.EMBED) or state.default_embed_config()
    return StudyConfig(name="dashboard", data=state.get(state.DATA) or state.default_data_config(), split=split,
                       embed=embed, fusions=fusions, models=models, train=train, eval=EvalConfig(), classifier=None,
                       selection=selection)


def _interactions(ds: Any, config: StudyConfig) -> Any:
    from mmrec_core.study import prepare_interactions

    return loaders.memo("interactions", (config.data, ds.fingerprint, config.split),
                        lambda: prepare_interactions(ds, config)).value


def train(ds: Any, emb: Any, config: StudyConfig, label: str, page: str = "Rankers") -> Any | None:
    """Run the ranking step with a progress bar and live curves; None (and an error box) on failure."""
    from mmrec_core.study import run_ranking

    live = st.container()
    curves = CurveBridge(live, by_setting=len(config.fusions) > 1, transform=trial_lines)
    data = _interactions(ds, config)
    # the same config on the same data and embeddings trains once per server: a presenter's second
    # walk through the demo, or a return to earlier settings, shows the stored run at once
    key = (config, ds.fingerprint, None if emb is None else emb.identity)
    loaded = steps.run_step(page, label, lambda progress: loaders.memo("ranking", key, lambda: run_ranking(
        config, data, emb, progress=progress, on_epoch=curves, keep_models=True)), HINT)
    curves.slot.empty()
    if loaded is None:
        return None
    result = loaded.value
    if result.errors:
        loaders.forget("ranking", key)
    if result.errors and result.results.get("error", pd.Series()).notna().all():
        components.report_failure(page, RuntimeError(result.errors[0]["error"]), HINT)
        return None
    return result


def trial_lines(row: dict[str, Any]) -> list[dict[str, Any]]:
    """One live line per selection trial and one for the refit (their epochs restart at 1)."""
    tag = f" trial {row['trial']}" if row.get("trial") else " refit" if row.get("phase") == "refit" else ""
    return [{**row, "model": f"{row['model']}{tag}"}]


def results_table(result: Any) -> None:
    """The metrics table (mean ± std over seeds), the protocol it was measured under, per-row errors."""
    st.caption(f"Protocol: {result.protocol}")
    table = result.table(TABLE_METRICS)
    st.table(table, hide_index=True, border="horizontal")
    for err in result.errors:
        st.warning(f"{err['step']}: {err['error']}")
    chosen = result.selection_table()
    if not chosen.empty:
        st.markdown("**Selected settings** (chosen on the validation split; the test set is read once per model)")
        st.dataframe(chosen, hide_index=True, key=f"selected-{id(result)}")


def curves(result: Any, key: str) -> None:
    """Loss and validation metric per epoch of each selected model, with its test value at the chosen epoch."""
    history = result.history_frame()
    if history.empty:
        return
    several = history["setting"].nunique() > 1
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
