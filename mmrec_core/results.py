"""What a study run produces, and its JSON form (the study's result file shape plus the new metrics).

A :class:`StudyResult` holds one tidy row per (setting, model, seed) and everything needed to show the
run again without recomputing it: training histories, the classifier's outputs, the protocol text,
the data set summary and load report, timings and the config. ``to_json(folder)`` writes::

    folder/results.json             {"settings": {"concat": {"mlp-bpr": {"test_accuracy": ..., ...}}},
                                     "classifier": {...}, "protocol": "...", "seeds": [...], ...}
    folder/results_<setting>.json   one file per ablation setting, as the original study wrote
    folder/config.json              the StudyConfig that produced it (config.save_config)

and ``StudyResult.from_json(folder)`` reads it back (the dashboard opens runs made by the CLI).

Setting ``none`` holds the models that do not read item content (``popularity``, ``bpr-mf``) and the
demo's ``oracle``: they are trained once per seed, not once per fusion mode, so the table never shows
the same numbers twice under different names.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmrec_core.config import ConfigError, StudyConfig, cache_dir, load_config, save_config
from mmrec_core.run_files import RunFileError, read_results

NO_CONTENT = "none"
"""Setting name of the rows that do not depend on the fusion mode (collaborative models, the oracle)."""

ID_COLUMNS = ("setting", "model", "seed")
COUNT_COLUMNS = ("n_train_pairs", "n_test_pairs")
NON_METRIC_COLUMNS = (*ID_COLUMNS, "error", "shared", "fit_seconds", "eval_seconds")
EMPTY = "—"  # a cell with no value (a plain "-" renders as a list bullet in Streamlit's markdown tables)
HEADLINE_METRICS = ("train_accuracy", "test_accuracy", "auc", "recall@10", "val_ndcg@10", "ndcg@10", "recall@20",
                    "coverage@10")


@dataclass
class StudyResult:
    """The outputs of one study run.

    Attributes
    ----------
    config:
        The :class:`StudyConfig` that produced it.
    results:
        Tidy table, one row per (setting, model, seed): pair counts, train/test pairwise accuracy,
        full-ranking metrics, cold-start metrics, seconds, and ``error`` (None when the row ran).
    histories:
        ``"setting/model"`` -> list of epoch dicts (each with ``seed``, ``epoch``, ``loss``, ...).
    classifier:
        Study B per modality (``text+image``, ``text``, ``image``): accuracy, macro_f1, confusion_matrix,
        report, history, y_test, y_pred ... ; ``classifier_info`` says which rows it used.
    protocol:
        The evaluation protocol in words (split, K, candidate set, seeds).
    selection:
        ``"setting/model"`` -> what model selection chose on the validation split: ``settings`` (with the
        chosen ``epochs``), ``metric``, ``validation`` (its value), ``refit`` and every trial.
    errors:
        Every requested job that failed or was skipped: ``{"step", "error"}``.
    stopped:
        Empty, or how a run its user stopped ended ("stopped by the user after 3 of 8 models"): the rows
        hold the models that finished, whole.
    per_user:
        ``(setting, model, seed)`` -> per-user metric arrays, when the evaluator provides them (kept in
        memory for paired tests; not written to JSON).
    models:
        ``(setting, model, seed)`` -> fitted ranker, when ``run_ranking(keep_models=True)`` (not written).
    """

    config: StudyConfig
    results: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ID_COLUMNS)))
    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    classifier: dict[str, dict[str, Any]] = field(default_factory=dict)
    classifier_info: dict[str, Any] = field(default_factory=dict)
    protocol: str = ""
    dataset: dict[str, Any] = field(default_factory=dict)
    load_report: dict[str, Any] = field(default_factory=dict)
    embeddings: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    selection: dict[str, dict[str, Any]] = field(default_factory=dict)
    stopped: str = ""
    per_user: dict[tuple[str, str, int], dict[str, np.ndarray]] = field(default_factory=dict, repr=False)
    models: dict[tuple[str, str, int], Any] = field(default_factory=dict, repr=False)
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))

    # --- tables ---------------------------------------------------------------------------------------

    def metric_columns(self) -> list[str]:
        """Numeric result columns (metrics and pair counts), in table order."""
        cols = [c for c in self.results.columns if c not in NON_METRIC_COLUMNS]
        return [c for c in cols if pd.api.types.is_numeric_dtype(self.results[c])]

    def ok_rows(self) -> pd.DataFrame:
        """Rows that ran without error."""
        if "error" not in self.results.columns:
            return self.results
        return self.results[self.results["error"].isna()]

    def failures(self) -> list[tuple[str, str, str]]:
        """``(setting, model, first error)`` of each pair whose every seed failed (no row in :meth:`summary`)."""
        if "error" not in self.results.columns:
            return []
        return [(s, m, str(group["error"].iloc[0]))
                for (s, m), group in self.results.groupby(["setting", "model"], sort=False) if group["error"].notna().all()]

    def summary(self) -> pd.DataFrame:
        """Mean and standard deviation over seeds per (setting, model): columns ``m`` and ``m_std``."""
        rows = self.ok_rows()
        metrics = self.metric_columns()
        if rows.empty or not metrics:
            return pd.DataFrame(columns=["setting", "model", "n_seeds"])
        grouped = rows.groupby(["setting", "model"], sort=False)[metrics]
        mean = grouped.mean()
        std = grouped.std(ddof=1).fillna(0.0).add_suffix("_std")
        out = pd.concat([mean, std], axis=1)
        out.insert(0, "n_seeds", grouped.size())
        return out.reset_index()

    def table(self, metrics: tuple[str, ...] = HEADLINE_METRICS, digits: int = 4) -> pd.DataFrame:
        """A display table: one row per (setting, model), ``mean ± std`` strings when seeds > 1.

        A (setting, model) whose every seed failed shows its error in the first metric column.
        """
        summ = self.summary()
        cols = [m for m in metrics if m in summ.columns]
        out = summ[["setting", "model"]].copy()
        for m in cols:
            out[m] = [
                _fmt(mu, sd, n, digits) for mu, sd, n in zip(summ[m], summ[f"{m}_std"], summ["n_seeds"], strict=True)
            ]
        failed = [{"setting": setting, "model": model, **{m: EMPTY for m in cols}, **({cols[0]: f"error: {error}"} if cols else {})}
                  for setting, model, error in self.failures()]
        return pd.concat([out, pd.DataFrame(failed)], ignore_index=True) if failed else out

    def to_markdown(self, metrics: tuple[str, ...] = HEADLINE_METRICS, digits: int = 4) -> str:
        """The display table as a GitHub markdown table (no extra dependency)."""
        return markdown_table(self.table(metrics, digits))

    def paired_tests(self, metric: str = "ndcg@10") -> pd.DataFrame:
        """Paired t-tests between the models of each setting (and against setting ``none``).

        Pairs over per-user values when the evaluator returned them (one seed), else over seeds
        (needs two or more). Columns: metric, setting_a, model_a, setting_b, model_b, over, n, mean_diff, t, p, wilcoxon_p ...
        """
        from mmrec_core.metrics import paired_test

        rows = self.ok_rows()
        if rows.empty or metric not in rows.columns:
            return pd.DataFrame()
        keys = list(rows.groupby(["setting", "model"], sort=False).groups)
        out = []
        for (sa, ma), (sb, mb) in itertools.combinations(keys, 2):
            if sa != sb and NO_CONTENT not in (sa, sb):
                continue  # compare within a setting, and every setting against the content-free rows
            a, b, over = self._paired_values(rows, sa, ma, sb, mb, metric)
            if a is None or len(a) < 2:
                continue
            test = paired_test(a, b)
            out.append({"metric": metric, "setting_a": sa, "model_a": ma, "setting_b": sb, "model_b": mb,
                        "over": over, **{k: _plain(v) for k, v in test.items()}})
        return pd.DataFrame(out)

    def _paired_values(
        self, rows: pd.DataFrame, sa: str, ma: str, sb: str, mb: str, metric: str
    ) -> tuple[np.ndarray | None, np.ndarray | None, str]:
        seeds = sorted(set(rows["seed"]))
        if len(seeds) == 1:
            ua = self.per_user.get((sa, ma, seeds[0]), {}).get(metric)
            ub = self.per_user.get((sb, mb, seeds[0]), {}).get(metric)
            if ua is not None and ub is not None and len(ua) == len(ub):
                return np.asarray(ua, float), np.asarray(ub, float), "users"
            return None, None, "seeds"
        a = rows[(rows.setting == sa) & (rows.model == ma)].set_index("seed")[metric]
        b = rows[(rows.setting == sb) & (rows.model == mb)].set_index("seed")[metric]
        common = sorted(set(a.index) & set(b.index))
        return a.loc[common].to_numpy(float), b.loc[common].to_numpy(float), "seeds"

    def selection_table(self) -> pd.DataFrame:
        """One row per selected (setting, model): the chosen settings, epochs, validation value, trials."""
        rows = []
        for key, sel in self.selection.items():
            setting, model = key.split("/", 1)
            settings = dict(sel.get("settings") or {})
            metric = sel.get("metric", "ndcg@10")
            rows.append({"setting": setting, "model": model, **settings,
                         f"validation {metric}": sel.get("validation"), "trials": len(sel.get("trials") or []),
                         "refit": sel.get("refit")})
        return pd.DataFrame(rows)

    def history_frame(self) -> pd.DataFrame:
        """Training histories as one tidy frame (setting, model, seed, epoch, loss, ...)."""
        rows = []
        for key, epochs in self.histories.items():
            setting, model = key.split("/", 1)
            rows.extend({"setting": setting, "model": model, **e} for e in epochs)
        return pd.DataFrame(rows)

    # --- JSON -----------------------------------------------------------------------------------------

    def settings_dict(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The study's shape: ``{setting: {model: {test_accuracy, train_accuracy, n_*_pairs, ...}}}``.

        Values are means over seeds; with several seeds each model also gets ``std`` and ``per_seed``.
        A model whose every seed failed appears with its ``error``.
        """
        out: dict[str, dict[str, dict[str, Any]]] = {}
        summ = self.summary().set_index(["setting", "model"]) if not self.results.empty else None
        metrics = self.metric_columns()
        for (setting, model), group in self.results.groupby(["setting", "model"], sort=False):
            entry: dict[str, Any] = {}
            if summ is not None and (setting, model) in summ.index:
                row = summ.loc[(setting, model)]
                entry = {m: _count(m, row[m]) for m in metrics}
                if len(group) > 1:
                    entry["std"] = {m: _plain(row[f"{m}_std"]) for m in metrics}
                    entry["per_seed"] = [_record(r, metrics) for r in group.to_dict("records")]
            errors = group["error"].dropna().tolist() if "error" in group.columns else []
            if errors:
                entry["error"] = errors[0]
            if "shared" in group.columns and bool(group["shared"].fillna(False).any()):
                entry["shared"] = True
            out.setdefault(str(setting), {})[str(model)] = entry
        return out

    def to_dict(self) -> dict[str, Any]:
        """Everything but the config, JSON-ready (NaN -> null)."""
        summ = self.summary()
        return _jsonable({
            "name": self.config.name,
            "created": self.created,
            "settings": self.settings_dict(),
            "classifier": self.classifier,
            "classifier_info": self.classifier_info,
            "protocol": self.protocol,
            "seeds": list(self.config.seeds),
            "rows": self.results.to_dict("records"),
            "summary": summ.to_dict("records"),
            "paired_tests": self.paired_tests().to_dict("records"),
            "histories": self.histories,
            "dataset": self.dataset,
            "load_report": self.load_report,
            "embeddings": self.embeddings,
            "timings": self.timings,
            "selection": self.selection,
            "errors": self.errors,
            "stopped": self.stopped,
        })

    def to_json(self, folder: str | Path) -> Path:
        """Write ``results.json``, one ``results_<setting>.json`` per setting and ``config.json``.

        Returns the path of ``results.json``. Safe to call on partial results (after a failure).
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        payload = self.to_dict()
        for setting, models in payload["settings"].items():
            per = {"setting": setting, "protocol": self.protocol, "seeds": payload["seeds"], "models": models}
            _write_json(folder / f"results_{_safe(setting)}.json", per)
        save_config(self.config, folder / "config.json")
        return _write_json(folder / "results.json", payload)

    @classmethod
    def from_json(cls, folder: str | Path) -> StudyResult:
        """Read a run written by :meth:`to_json` (``folder`` or its ``results.json``).

        Raises
        ------
        RunFileError
            A damaged ``results.json`` or ``config.json`` (one line naming the entry); OSError if missing.
        """
        folder = Path(folder)
        if folder.is_file():
            folder = folder.parent
        data = read_results(folder / "results.json")
        try:
            config = load_config(StudyConfig, folder / "config.json")
        except ConfigError as exc:
            raise RunFileError(f"damaged {folder / 'config.json'}: {exc}") from None
        results = pd.DataFrame(data.get("rows") or [], columns=None)
        if results.empty:
            results = pd.DataFrame(columns=list(ID_COLUMNS))
        return cls(
            config=config,
            results=results,
            histories=data.get("histories") or {},
            classifier=data.get("classifier") or {},
            classifier_info=data.get("classifier_info") or {},
            protocol=data.get("protocol", ""),
            dataset=data.get("dataset") or {},
            load_report=data.get("load_report") or {},
            embeddings=data.get("embeddings") or {},
            timings=data.get("timings") or {},
            errors=data.get("errors") or [],
            selection=data.get("selection") or {},
            stopped=data.get("stopped") or "",
            created=data.get("created", ""),
        )


def describe_error(exc: BaseException) -> str:
    """An exception as one line for ``errors`` and row ``error`` fields: ``"Type: message"``."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def markdown_table(frame: pd.DataFrame) -> str:
    """A frame as a GitHub markdown table (floats with 4 significant digits; no extra dependency)."""

    def cell(v: Any) -> str:
        v = _plain(v)
        return EMPTY if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)

    head = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def runs_dir() -> Path:
    """Where runs are written by default: ``cache_dir()/runs``."""
    path = cache_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


MAX_RUN_NAME = 80


def default_run_dir(name: str) -> Path:
    """A fresh folder name for a run: ``runs/<name>-<YYYYmmdd-HHMMSS>``, always inside :func:`runs_dir`.

    The name comes from a config anyone can write: separators, ``..``, leading dots and control characters
    are replaced and it is cut to :data:`MAX_RUN_NAME` characters, so ``/tmp/x`` or ``../../x`` stay here.
    """
    safe = _safe(str(name))[:MAX_RUN_NAME].lstrip(".") or "run"
    return runs_dir() / f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}"


def list_runs(root: str | Path | None = None) -> list[Path]:
    """Run folders holding a ``results.json``, newest first."""
    root = Path(root) if root is not None else runs_dir()
    found = [p.parent for p in root.glob("*/results.json")]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


# --- helpers ------------------------------------------------------------------------------------------


def _fmt(mean: float, std: float, n: int, digits: int) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return EMPTY
    if float(mean).is_integer() and float(std) == 0.0 and abs(mean) >= 1:
        return f"{int(mean)}"  # counts
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if n > 1 else f"{mean:.{digits}f}"


def _safe(name: str) -> str:
    return "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in name)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _count(name: str, value: Any) -> Any:
    """Pair and user counts as ints (pandas turns them into floats next to NaN rows)."""
    value = _plain(value)
    if isinstance(value, float) and name.startswith("n_") and value.is_integer():
        return int(value)
    return value


def _record(row: dict[str, Any], metrics: list[str]) -> dict[str, Any]:
    return {"seed": _plain(row["seed"]), **{m: _count(m, row.get(m)) for m in metrics}}


def _jsonable(obj: Any) -> Any:
    """Recursively turn numpy/pandas values into plain JSON values; NaN and inf become None."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, Path):
        return str(obj)
    if obj is pd.NA or obj is pd.NaT:
        return None
    return _plain(obj)


def _write_json(path: Path, payload: Any) -> Path:
    """Atomic write: a killed run never leaves a half results file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(_jsonable(payload), indent=2, allow_nan=False) + "\n")
    tmp.replace(path)
    return path
