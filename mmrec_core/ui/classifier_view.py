"""The Rating classifier page's work: Study B training with live curves, and every figure it reports."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from mmrec_core import viz
from mmrec_core.config import ClassifierConfig, StudyConfig
from mmrec_core.ui import components, loaders, state, steps
from mmrec_core.ui.progress import CurveBridge

HINT = "try fewer epochs or only the text+image modality; recompute the embeddings if pictures are missing."


def split_epoch(row: dict[str, Any]) -> list[dict[str, Any]]:
    """One classifier epoch -> a train row and a validation row (same colour, validation dashed)."""
    base = {"epoch": row.get("epoch")}
    out = [{**base, "model": f"{row['model']} train", "loss": row.get("loss"), "accuracy": row.get("accuracy")}]
    if row.get("val_loss") is not None:
        out.append({**base, "model": f"{row['model']} val", "loss": row.get("val_loss"),
                    "accuracy": row.get("val_accuracy")})
    return out


def history_frame(outputs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for modality, out in outputs.items():
        hist = out.get("history") or {}
        for e in range(len(hist.get("loss", []))):
            rows.extend(split_epoch({"model": modality, "epoch": e + 1,
                                     **{k: v[e] for k, v in hist.items() if e < len(v)}}))
    return pd.DataFrame(rows)


def train(ds: Any, emb: Any, cc: ClassifierConfig, page: str = "Rating classifier") -> dict[str, Any] | None:
    from mmrec_core.study import run_classifier

    config = StudyConfig(name="dashboard-classifier", data=state.get(state.DATA),
                         embed=state.get(state.EMBED) or state.default_embed_config(), models=(), classifier=cc)
    curves = CurveBridge(st.container(), metrics=["loss", "accuracy"], transform=split_epoch)
    key = (config, ds.fingerprint, None if emb is None else emb.identity)  # trains once per server (see rankers)
    loaded = steps.run_step(page, f"Training the rating classifier ({', '.join(cc.modalities)})",
                            lambda progress: loaders.memo("classifier", key, lambda: run_classifier(
                                config, ds, emb, progress, curves)), HINT)
    curves.slot.empty()
    if loaded is None:
        return None
    outputs, info = loaded.value
    if info.get("error") or any("error" in o for o in outputs.values()):
        loaders.forget("classifier", key)
    if info.get("error") or all("error" in o for o in outputs.values()):
        message = info.get("error") or next(iter(outputs.values()))["error"]
        components.report_failure(page, RuntimeError(message), HINT)
        return None
    return {"outputs": outputs, "info": info, "config": config}


def summary_table(outputs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for modality, out in outputs.items():
        if "error" in out:
            rows.append({"modality": modality, "accuracy": None, "macro F1": None, "error": out["error"]})
            continue
        rows.append({"modality": modality, "accuracy": round(out["accuracy"], 4), "macro F1": round(out["macro_f1"], 4),
                     "best epoch": out.get("best_epoch"), "features": out.get("dim"), "train rows": out.get("n_train"),
                     "test rows": out.get("n_test"), "time": f"{out.get('seconds', 0.0):.1f} s"})
    return pd.DataFrame(rows)


def report_table(report: dict[str, Any]) -> pd.DataFrame:
    """scikit-learn's report dict as the study printed it: classes 1..5, then the averages; 3 digits."""
    rows = []
    for key, value in report.items():
        if isinstance(value, dict):
            rows.append({"class": key, **value})
        else:  # "accuracy" is a bare number
            rows.append({"class": key, "f1-score": value})
    frame = pd.DataFrame(rows)
    return frame.round(3)


def results(run: dict[str, Any]) -> None:
    outputs, info = run["outputs"], run["info"]
    st.caption(f"{info.get('rows', 0):,} reviews with an item picture (of {info.get('reviews', 0):,}; cap "
               f"{info.get('capped_at')}), 80/20 stratified split, seed 42, class weights "
               f"{run['config'].classifier.class_weight}; {info.get('validation', 'early stopping on validation')}.")
    table = summary_table(outputs)
    st.table(table, hide_index=True, border="horizontal")
    ok = [m for m, o in outputs.items() if "error" not in o]
    if len(ok) > 1:
        long = table[table["modality"].isin(ok)].melt(id_vars="modality", value_vars=["accuracy", "macro F1"],
                                                       var_name="measure", value_name="value")
        st.plotly_chart(viz.grouped_results(long, "value", group="modality", series="measure",
                                            title="Modality ablation"), key="clf-ablation")
    st.plotly_chart(viz.training_curves(history_frame({m: outputs[m] for m in ok}), ["loss", "accuracy"],
                                        title="Loss and accuracy per epoch (validation dashed)"), key="clf-curves")
    modality = st.selectbox("Details for", ok, key=state.widget_default("w:clf-modality", ok[0] if ok else None))
    if not modality or modality not in ok:
        return
    out = outputs[modality]
    c1, c2 = st.columns(2)
    c1.plotly_chart(viz.confusion_matrix(out["confusion_matrix"], out.get("labels", (1, 2, 3, 4, 5))), key="cm-counts")
    c2.plotly_chart(viz.confusion_matrix(out["confusion_matrix"], out.get("labels", (1, 2, 3, 4, 5)), normalise=True),
                    key="cm-norm")
    c1, c2 = st.columns([1, 1])
    with c1:
        st.markdown("**Classification report**")
        table = report_table(out["report"]).style.format(precision=3, na_rep="").format(
            "{:.0f}", subset=["support"], na_rep="")
        st.table(table, hide_index=True, border="horizontal")
    with c2:
        st.plotly_chart(viz.actual_vs_predicted(out["y_test"], out["y_pred"]), key="clf-avp")
