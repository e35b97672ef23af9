"""The Rating classifier page's work: Study B training with live curves, and every figure it reports."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from mmrec_core import viz
from mmrec_core.config import ClassifierConfig, DataConfig, EmbedConfig, StudyConfig
from mmrec_core.ui import components, jobs, loaders, state
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
    """Start Study B as the page's job (followed by :func:`collect`), or return the run this server already
    trained on the same config, data and embeddings."""
    from mmrec_core.study import run_classifier

    config = study_config(cc)
    slot = loaders.trained_slot("classifier", config, ds.fingerprint, None if emb is None else emb.identity)
    if "value" in slot:
        from mmrec_core.ui.rankers_view import stored

        found = stored(slot)
        return {**run_of(found.value, config), "origin": found.origin}

    def fit(progress: Any, on_epoch: Any) -> dict[str, Any]:
        outputs, info = loaders.fill(slot, lambda: run_classifier(config, ds, emb, progress, on_epoch),
                                     keep=complete).value
        return run_of((outputs, info), config)

    jobs.start("classifier", page, f"Training the rating classifier ({', '.join(cc.modalities)})", fit, HINT,
               curves=lambda box: CurveBridge(box, metrics=["loss", "accuracy"], transform=split_epoch))
    return None


def complete(value: tuple[dict[str, Any], dict[str, Any]]) -> bool:
    """A classifier run worth serving again: it ran to the end and no modality failed."""
    outputs, info = value
    return not info.get("error") and not info.get("stopped") and not any("error" in o for o in outputs.values())


def study_config(cc: ClassifierConfig, data: DataConfig | None = None, embed: EmbedConfig | None = None) -> StudyConfig:
    """The study the page's controls describe: Study B alone, on the loaded data and the chosen encoder (or on
    ``data`` and ``embed``, reading nothing from the session)."""
    return StudyConfig(name="dashboard-classifier", data=data or state.get(state.DATA),
                       embed=embed or state.get(state.EMBED) or state.default_embed_config(), models=(), classifier=cc)


def run_of(value: tuple[dict[str, Any], dict[str, Any]], config: StudyConfig) -> dict[str, Any]:
    """The page's run entry of a trained value ``(outputs, info)``."""
    outputs, info = value
    return {"outputs": outputs, "info": info, "config": config}


def collect(page: str = "Rating classifier") -> dict[str, Any] | None:
    """Follow the classifier's job (also after leaving the page and coming back) to its end; the run, or None
    while there is none or when nothing trained (the error box or a warning says why)."""
    ended, run = jobs.follow("classifier")
    if not ended or run is None:
        return None
    outputs, info = run["outputs"], run["info"]
    if info.get("error") or (outputs and all("error" in o for o in outputs.values())):
        message = info.get("error") or next(iter(outputs.values()))["error"]
        components.report_failure(page, RuntimeError(message), HINT)
        return None
    if not outputs:
        st.warning(f"Training {info.get('stopped', 'ended')} before any modality finished: nothing to show.",
                   icon=":material/stop_circle:")
        return None
    return run


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
    if info.get("stopped"):
        st.warning(f"Training {info['stopped']}: below are the modalities that finished.",
                   icon=":material/stop_circle:")
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
