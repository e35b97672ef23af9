"""Study A's ranking ablation: every (setting, model, seed) fitted, selected on validation and evaluated once.

:func:`run_ranking` is the step :func:`mmrec_core.study.run_study` (and the dashboard's Rankers page) runs
for the ranking part of a study. Models that read no item content (``popularity``, ``bpr-mf``) and the
demo's ``oracle`` are fitted once per seed under setting ``none``; content models once per fusion. A
setting whose features cannot tell items apart is skipped with its reason; a failure in one model or
setting is logged and recorded (a row with ``error``, an entry in ``result.errors``) and the run goes on.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mmrec_core.config import StudyConfig, TrainConfig
from mmrec_core.progress import Cancelled, ProgressCallback, Reporter
from mmrec_core.results import NO_CONTENT, StudyResult, describe_error

log = logging.getLogger("mmrec.ranking")

ORACLE = "oracle"
COLD_KEYS = ("recall", "ndcg", "hr")

EpochHook = Callable[[dict[str, Any]], None]


def embedding_summary(emb) -> dict[str, Any]:
    """What the results file says about the item embeddings."""
    return {
        "encoder": emb.encoder, "identity": emb.identity, "shared_space": bool(emb.shared_space),
        "text_dim": int(emb.text.shape[1]), "image_dim": int(emb.image.shape[1]), "items": len(emb.item_ids),
        "images_ok": int(emb.image_ok.sum()), "missing_images": dict(emb.missing_reasons),
        "cache_hits": dict(emb.cache_hits), "computed": dict(getattr(emb, "computed", {})),
        "untitled": int(getattr(emb, "untitled", 0)), "seconds": float(emb.seconds),
        **({"alignment": emb.alignment.summary()} if getattr(emb, "alignment", None) is not None else {}),
    }  # fmt: skip


def model_train_config(name: str, base: TrainConfig, seed: int) -> TrainConfig:
    """``base`` with ``seed``, plus the model's registry defaults for every field ``base`` leaves at default.

    So a config that sets ``epochs=2`` trains every model 2 epochs, while an untouched config gives
    ``bpr-mf`` and ``vbpr`` their own epochs and learning rate (``models.registry.DEFAULT_OVERRIDES``).
    """
    from mmrec_core.models.registry import DEFAULT_OVERRIDES

    plain = TrainConfig()
    extra = {k: v for k, v in DEFAULT_OVERRIDES.get(name, {}).items() if getattr(base, k) == getattr(plain, k)}
    return dataclasses.replace(base, seed=seed, **extra)


def jobs(config: StudyConfig, has_truth: bool) -> list[tuple[str, str]]:
    """(setting, model) in table order: content-free models first, then each fusion's content models."""
    from mmrec_core.models.registry import RANKERS

    content = [m for m in config.models if m in RANKERS and RANKERS[m].needs_features]
    free = [m for m in config.models if m in RANKERS and not RANKERS[m].needs_features]
    if has_truth:
        free.append(ORACLE)
    return [(NO_CONTENT, m) for m in free] + [(f, m) for f in config.fusions for m in content]


def run_ranking(
    config: StudyConfig,
    data: Any,
    emb: Any = None,
    progress: ProgressCallback | None = None,
    on_epoch: EpochHook | None = None,
    *,
    result: StudyResult | None = None,
    keep_models: bool = False,
    checkpoint: Callable[[StudyResult], None] | None = None,
) -> StudyResult:
    """Fit and evaluate every (setting, model, seed) of ``config``; rows are appended to ``result``.

    ``data`` is the :class:`~mmrec_core.study.StudyData` of :func:`~mmrec_core.study.prepare_interactions`;
    ``emb`` (from :func:`embed_catalogue`) is needed by the content models; without it their rows carry
    an error. ``keep_models`` keeps the fitted rankers in ``result.models`` (for the dashboard's
    recommendation views). ``checkpoint(result)`` is called after each setting (partial results on disk).
    """
    from mmrec_core.evaluate import protocol_description

    result = result or StudyResult(config=config)
    truth = getattr(data.dataset, "truth", None)
    todo = jobs(config, truth is not None)
    result.protocol = protocol_description(config.split, config.eval, config.seeds, n_items=data.inter.n_items,
                                           selection=config.selection)
    result.dataset = data.summary()
    result.load_report = data.dataset.report.to_dict()
    if emb is not None:
        result.embeddings = {**embedding_summary(emb), "fusions": {}}
    rep = Reporter(progress, "study: ranking", len(todo) * len(config.seeds), "runs")
    features: dict[str, Any] = {}
    selections: dict[tuple[str, str], Any] = {}
    last_setting = None
    finished = 0
    try:
        for setting, model in todo:
            if setting != last_setting and last_setting is not None and checkpoint is not None:
                checkpoint(result)
            last_setting = setting
            fused, error = _features(setting, emb, features, result)
            rows: list[dict[str, Any]] = []
            for seed in config.seeds:
                rep.update(rep.done, message=f"{setting}/{model} seed {seed}")
                if error is not None:
                    rows.append({"setting": setting, "model": model, "seed": seed, "error": error})
                    result.errors.append({"step": f"{setting}/{model} seed {seed}", "error": error})
                else:
                    rows.append(_fit_one(config, data, setting, model, seed, fused, truth, progress, on_epoch,
                                         result, keep_models, selections))
                rep.advance()
            # each model's rows join the result as soon as its seeds are done: a run interrupted midway (Ctrl-C:
            # run_study writes the result in its finally; Stop: below) keeps every finished model
            _merge_rows(result, rows)
            finished += 1
    except Cancelled:
        _forget_unfinished(result, {(s, m) for s, m in todo[finished:]})
        result.stopped = (f"stopped by the user after {finished} of {len(todo)} models"
                          + (f", while training {todo[finished][1]}" if finished < len(todo) else ""))
        log.warning("ranking %s", result.stopped)
    if not result.results.empty:
        result.results = result.results.reset_index(drop=True)
    return result


def _forget_unfinished(result: StudyResult, unfinished: set[tuple[str, str]]) -> None:
    """Drop what a stopped model left behind (seeds that finished before the stop, its curves, its models):
    a model shows whole or not at all."""
    for key in [k for k in result.models if k[:2] in unfinished]:
        del result.models[key]
    for key in [k for k in result.per_user if k[:2] in unfinished]:
        del result.per_user[key]
    for setting, model in unfinished:
        result.histories.pop(f"{setting}/{model}", None)
        result.selection.pop(f"{setting}/{model}", None)


def _features(setting: str, emb, cache: dict[str, Any], result: StudyResult) -> tuple[Any, str | None]:
    """Fused item features of a setting (None for ``none``), or the error that prevents them."""
    if setting == NO_CONTENT:
        return None, None
    if setting not in cache:
        if emb is None:
            cache[setting] = (None, "no item embeddings (the embedding step failed or was skipped)")
        else:
            from mmrec_core.embeddings import fuse

            try:
                fused = fuse(emb, setting)
                result.embeddings.setdefault("fusions", {})[setting] = {
                    "dim": int(fused.features.shape[1]), "items_with_features": int(fused.has_features.sum()),
                    "text_fallback": int(fused.text_fallback),
                }  # fmt: skip
                unusable = unusable_features(fused, setting)
                if unusable is not None:
                    log.warning("setting %s skipped: %s", setting, unusable)
                cache[setting] = (None, f"skipped: {unusable}") if unusable else (fused, None)
            except Exception as exc:  # noqa: BLE001 - one setting's failure must not end the study
                log.error("fusion %s failed: %s", setting, exc)
                cache[setting] = (None, describe_error(exc))
                result.errors.append({"step": f"fuse {setting}", "error": describe_error(exc)})
    return cache[setting]


def unusable_features(fused, setting: str) -> str | None:
    """Why a setting's item features cannot rank anything (None when they can).

    A content model on features that are missing or identical for every item scores all items alike, and
    its metrics then only measure the tie-breaking rule: such a setting is skipped, never reported.
    """
    has = np.asarray(fused.has_features, bool)
    n, total = int(has.sum()), len(has)
    what = "a picture" if setting == "image" else f"{setting} features"
    if n < 2:
        hint = " (check the Load report's missing pictures, or use the text or concat setting)" if setting == "image" else ""
        return f"{n} of {total} items have {what}, so every item would score alike{hint}"
    rows = np.asarray(fused.features)[has]
    if np.all(rows == rows[:1]):
        return f"the {setting} features of all {n} items with {what} are identical, so every item would score alike"
    return None


def _fit_one(config, data, setting, model, seed, fused, truth, progress, on_epoch, result,
             keep_models, selections) -> dict[str, Any]:
    """One row: fit, Study A's train/test pair accuracy, full ranking, cold start. Errors become the row."""
    from mmrec_core.data.interactions import Pairs, ranking_data
    from mmrec_core.evaluate import evaluate_cold_start, evaluate_pairs, evaluate_ranking
    from mmrec_core.models.fixed import FixedScoreRanker
    from mmrec_core.models.registry import create_ranker

    row: dict[str, Any] = {"setting": setting, "model": model, "seed": seed}
    key = f"{setting}/{model}"
    try:
        start = time.perf_counter()
        sc = config.split
        rd = ranking_data(
            data.inter, data.split,
            None if fused is None else fused.features, None if fused is None else fused.has_features,
            max_pairs_per_user=sc.max_pairs_per_user, seed=sc.seed,
            modalities=None if fused is None else fused.modalities,
        )  # fmt: skip
        bars = _EpochBars(progress, key)

        def hook(record: dict[str, Any]) -> None:
            record = {**record, "setting": setting, "model": model, "seed": seed}
            bars.update(record)
            if on_epoch is not None:
                on_epoch(record)

        if model == ORACLE:
            factors = truth.affinity_factors(data.inter.user_ids, data.inter.item_ids)
            ranker = FixedScoreRanker.from_factors(*factors, name=ORACLE, parts=truth.factor_parts()).fit(rd)
        else:
            base = model_train_config(model, config.train, seed)
            ranker = create_ranker(model, base)
            if ranker.trained and config.selection is not None:
                ranker, history = _selected_fit(config, data, setting, model, seed, base, fused, rd, hook,
                                                selections, result)
                row[f"val_{config.selection.metric}"] = selections[(setting, model)].best.value
            elif ranker.trained and config.eval.monitor_epochs:
                ranker.fit(rd, callback=hook, validation=_epoch_monitor(data, config))
                history = ranker.history
            else:
                ranker.fit(rd, callback=hook)
                history = ranker.history
            if history:
                result.histories.setdefault(key, []).extend({**h, "seed": seed} for h in history)
        bars.close()
        row["fit_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        has = None if fused is None else fused.has_features
        tr = evaluate_pairs(ranker, Pairs(rd.pair_users, rd.pair_pos, rd.pair_neg), has)
        te = evaluate_pairs(ranker, data.test_pairs, has)
        row.update(train_accuracy=tr["accuracy"], test_accuracy=te["accuracy"],
                   n_train_pairs=tr["n_pairs"], n_test_pairs=te["n_pairs"])
        metrics, per_user = evaluate_ranking(ranker, data.inter, data.split, config.eval, return_per_user=True)
        row["n_eval_users"], row["n_candidates"] = metrics.pop("n_users"), metrics.pop("n_items")
        row.update(metrics)
        cold = evaluate_cold_start(ranker, data.inter, data.split, config.eval)
        row["cold_auc"], row["cold_n_users"], row["cold_n_items"] = cold["auc"], cold["n_users"], cold["n_items"]
        for k in config.eval.ks:
            for m in COLD_KEYS:
                row[f"cold_{m}@{k}"] = cold[f"{m}@{k}"]
        row["eval_seconds"] = time.perf_counter() - start
        result.per_user[(setting, model, seed)] = per_user
        if keep_models:
            result.models[(setting, model, seed)] = ranker
        log.info("%s seed %d: test accuracy %.4f, ndcg@10 %s", key, seed, row["test_accuracy"],
                 f"{row.get('ndcg@10', float('nan')):.4f}")
    except Exception as exc:  # noqa: BLE001 - a failed model is recorded, the others still run
        log.error("%s seed %d failed: %s", key, seed, describe_error(exc))
        log.debug("traceback", exc_info=True)
        row["error"] = describe_error(exc)
        result.errors.append({"step": f"{key} seed {seed}", "error": row["error"]})
    return row


def _selected_fit(config: StudyConfig, data, setting: str, model: str, seed: int, base: TrainConfig,
                  fused, rd, hook: EpochHook, selections: dict[tuple[str, str], Any], result: StudyResult):
    """The final model of a trained ranker under model selection, and the curve to show for it.

    Settings are chosen once per (setting, model), with the first seed, on the validation split; every seed
    then trains with them (:meth:`mmrec_core.selection.Selection.final_model`).
    """
    from mmrec_core.data.interactions import ranking_data
    from mmrec_core.selection import Validator, explicit_fields, select

    chosen = selections.get((setting, model))
    history: list[dict[str, Any]] = []
    if chosen is None:
        sc = config.split
        fit_rd = ranking_data(
            data.inter, data.split.for_validation(),
            None if fused is None else fused.features, None if fused is None else fused.has_features,
            max_pairs_per_user=sc.max_pairs_per_user, seed=sc.seed,
            modalities=None if fused is None else fused.modalities,
        )  # fmt: skip
        validator = Validator(data.inter, data.split, config.selection, seed=sc.seed)
        chosen = select(model, base, fit_rd, validator, config.selection, explicit=explicit_fields(config.train),
                        callback=hook)
        selections[(setting, model)] = chosen
        result.selection[f"{setting}/{model}"] = chosen.to_dict()
        history = chosen.best.history
    final = chosen.final_model(rd, seed, callback=hook)
    return final, history


class _EpochBars:
    """One progress bar per trial or refit of a model; a bar closes when the next one starts."""

    def __init__(self, progress: ProgressCallback | None, key: str):
        self.progress, self.key = progress, key
        self.bar: Reporter | None = None
        self.label = ""

    def update(self, record: dict[str, Any]) -> None:
        trial, phase = record.get("trial"), record.get("phase")
        label = f"train {self.key}" + (f" trial {trial}" if trial else "") + (" refit" if phase == "refit" else "")
        if label != self.label:
            self.close()
            self.bar, self.label = Reporter(self.progress, label, record.get("epochs"), "epochs"), label
        self.bar.update(int(record.get("epoch", 0)), metrics={"loss": record.get("loss")})

    def close(self) -> None:
        if self.bar is not None and self.bar.total:
            self.bar.update(self.bar.total)  # closes a bar that early stopping ended sooner
        self.bar = None


def _epoch_monitor(data, config: StudyConfig) -> Callable[[Any], dict[str, float]]:
    """Test NDCG@10 after each epoch of a fixed-epoch fit, for teaching curves (``eval.monitor_epochs``).
    Reported only: no patience is passed with it, so no epoch is chosen on the test split."""
    from mmrec_core.evaluate import evaluate_ranking

    monitor_eval = dataclasses.replace(config.eval, ks=(10,))

    def monitor(model: Any) -> dict[str, float]:
        return {"test ndcg@10": evaluate_ranking(model, data.inter, data.split, monitor_eval)["ndcg@10"]}

    return monitor


def _merge_rows(result: StudyResult, rows: list[dict[str, Any]]) -> None:
    import pandas as pd

    if not rows:
        return
    new = pd.DataFrame(rows)
    if "error" not in new.columns:
        new["error"] = None
    frames = [f for f in (result.results, new) if not f.empty]
    merged = pd.concat(frames, ignore_index=True) if len(frames) > 1 else new
    result.results = merged[_column_order(list(merged.columns))]


def _column_order(cols: list[str]) -> list[str]:
    first = ["setting", "model", "seed", "train_accuracy", "test_accuracy", "n_train_pairs", "n_test_pairs", "auc"]
    last = ["n_eval_users", "n_candidates", "fit_seconds", "eval_seconds", "error"]
    head = [c for c in first if c in cols]
    cold = [c for c in cols if c.startswith("cold_")]
    tail = [c for c in last if c in cols]
    middle = [c for c in cols if c not in head and c not in tail and c not in cold]
    return head + middle + cold + tail
