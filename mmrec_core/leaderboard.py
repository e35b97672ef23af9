"""The results table as a class reads it: metrics and settings in words, the best value of each column marked.

Pure (no streamlit): the dashboard styles the frame and the test checks which cell is best.
"""

from __future__ import annotations

import math

import pandas as pd

from mmrec_core.results import StudyResult

COLUMN_WORDS = {
    "setting": "item content", "model": "model", "n_seeds": "seeds", "lr": "learning rate",
    "train_accuracy": "train pair acc.", "test_accuracy": "test pair acc.", "auc": "AUC",
    "val_ndcg@10": "valid. NDCG@10", "ndcg@10": "NDCG@10", "hr@10": "HR@10", "mrr@10": "MRR@10",
    "recall@10": "Recall@10", "recall@20": "Recall@20", "ndcg@20": "NDCG@20", "precision@10": "Precision@10",
    "coverage@10": "coverage@10", "novelty@10": "novelty@10", "cold_auc": "cold-start AUC",
}
SETTING_WORDS = {"none": "ratings only", "concat": "text + picture", "mean": "mean of text and picture",
                 "text": "text", "image": "picture"}
DEFAULT_METRICS = ("test_accuracy", "auc", "val_ndcg@10", "ndcg@10", "recall@10", "hr@10")
CEILINGS = ("oracle",)  # the hidden taste itself: a ceiling to read against, never "the best model"


def words(column: str) -> str:
    """A result column in words: ``test_accuracy`` -> ``test pair acc.``, ``cold_ndcg@10`` -> ``cold-start NDCG@10``."""
    if column in COLUMN_WORDS:
        return COLUMN_WORDS[column]
    if column.startswith("cold_"):
        return "cold-start " + words(column.removeprefix("cold_"))
    return column.replace("_", " ")


def setting_words(setting: str) -> str:
    return SETTING_WORDS.get(setting, setting)


def leaderboard(result: StudyResult, metrics: tuple[str, ...] = DEFAULT_METRICS,
                digits: int = 3) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per (setting, model) with ``metrics`` in words, and the row of each column's best value.

    With one seed the cells are numbers (a table sorts them as numbers); with several, ``mean ± sd`` text
    (which sorts right too, every metric here having one digit before the point). Every metric here is
    better higher; the oracle and failed rows are never "best". A (setting, model) whose seeds all failed
    shows its error in the first metric column.
    """
    summary = result.summary()
    cols = [m for m in metrics if m in summary.columns]
    several = bool(len(summary)) and int(summary["n_seeds"].max()) > 1
    out = pd.DataFrame({words("setting"): [setting_words(s) for s in summary["setting"]],
                        words("model"): list(summary["model"])})
    best: dict[str, int] = {}
    learned = ~summary["model"].isin(CEILINGS)
    for m in cols:
        values = summary[m].astype(float)
        if several:
            out[words(m)] = [_cell(mu, sd, digits) for mu, sd in zip(values, summary[f"{m}_std"], strict=True)]
        else:
            out[words(m)] = values.round(digits)
        candidates = values[learned & values.notna()]
        if len(candidates):
            best[words(m)] = int(candidates.idxmax())
    failed = result.failures()
    if failed:
        first = words(cols[0]) if cols else words("model")
        rows = [{words("setting"): setting_words(s), words("model"): m, **({first: f"error: {e}"} if cols else {})}
                for s, m, e in failed]
        out = pd.concat([out.astype({c: object for c in out.columns[2:]}), pd.DataFrame(rows)], ignore_index=True)
    if out[words("setting")].nunique() == 1 and not result.results.empty:
        out = out.drop(columns=[words("setting")])  # one setting: the column says nothing (the caption does)
    return out, best


def _cell(mean: float, sd: float, digits: int) -> str:
    if mean is None or math.isnan(mean):
        return ""
    return f"{mean:.{digits}f} ± {float(sd):.{digits}f}"


def available(result: StudyResult, metrics: tuple[str, ...]) -> list[str]:
    """Those of ``metrics`` the result has values for (a run without selection has no validation column)."""
    summary = result.summary()
    return [m for m in metrics if m in summary.columns and summary[m].notna().any()]


def best_mask(frame: pd.DataFrame, best: dict[str, int]) -> pd.DataFrame:
    """True where a cell holds its column's best value (for styling)."""
    mask = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    for column, row in best.items():
        if column in mask.columns and row in mask.index:
            mask.loc[row, column] = True
    return mask


def chosen_settings(table: pd.DataFrame) -> pd.DataFrame:
    """:meth:`StudyResult.selection_table` narrowed for a screen: the chosen settings of each model in one
    line ("lr 0.001 · weight decay 0.01"), beside its epochs, validation value and the trials it took."""
    if table.empty:
        return table
    fixed = ["setting", "model", "epochs", "trials", "refit"]
    scores = [c for c in table.columns if c.startswith("validation ")]
    free = [c for c in table.columns if c not in fixed and c not in scores]
    out = pd.DataFrame({words("setting"): [setting_words(s) for s in table["setting"]], "model": table["model"]})
    out["chosen settings"] = [" · ".join(f"{words(c)} {_number(row[c])}" for c in free if pd.notna(row[c]))
                              for _, row in table.iterrows()]
    out["epochs"] = table["epochs"]
    for c in scores:
        out[c.replace("validation ", "valid. ").replace("ndcg", "NDCG")] = table[c].astype(float).round(4)
    out["trials"] = table["trials"]
    return out


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
