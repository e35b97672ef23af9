"""The ablation runner shared by the dashboard and the CLI: one config in, one :class:`StudyResult` out.

The steps, each callable on its own (the dashboard calls them page by page)::

    dataset = load_data(config)                       # demo / local files / hub
    data = prepare_interactions(dataset, config)      # labels, split, Study A's test pairs
    emb = embed_catalogue(dataset, config)            # item text + picture vectors (cached on disk)
    result = run_ranking(config, data, emb)           # every fusion x model x seed, + the oracle
    result.classifier, result.classifier_info = run_classifier(config, dataset, emb)   # Study B (rating.py)

and :func:`run_study` chains them. The ranking step, with model selection on the validation split, lives
in :mod:`mmrec_core.ranking`; Study B in :mod:`mmrec_core.rating`. Seeds vary the model initialisation and
sampling; the split and Study A's pairs stay fixed by ``config.split.seed``, as in the study. A failure in
one model or setting is logged and recorded (a row with ``error``, an entry in ``errors``) and the run goes
on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmrec_core.config import ConfigError, StudyConfig, validate
from mmrec_core.progress import ProgressCallback
from mmrec_core.ranking import ORACLE, jobs, model_train_config, run_ranking, unusable_features
from mmrec_core.rating import MODALITIES, classifier_inputs, run_classifier
from mmrec_core.results import NO_CONTENT, StudyResult, describe_error

__all__ = [
    "MODALITIES", "ORACLE", "StudyConfigError", "StudyData", "classifier_inputs", "embed_catalogue",
    "load_data", "model_train_config", "prepare_interactions", "run_classifier", "run_ranking", "run_study",
    "unusable_features", "validate_config",
]

log = logging.getLogger("mmrec.study")

EpochHook = Callable[[dict[str, Any]], None]


class StudyConfigError(ConfigError):
    """A study config that cannot run (unknown fusion, model, encoder ...); the message says what to change."""


@dataclass
class StudyData:
    """Interactions, the split and Study A's test pairs: what every ranker is trained and evaluated on."""

    dataset: Any
    inter: Any  # data.interactions.Interactions
    split: Any  # data.interactions.Split
    test_pairs: Any  # data.interactions.Pairs

    def summary(self) -> dict[str, Any]:
        return {**self.dataset.summary(), **self.split.summary(), "test_pairs": len(self.test_pairs)}


# --- validation and data ------------------------------------------------------------------------------


def validate_config(config: StudyConfig) -> None:
    """Raise :class:`StudyConfigError` naming the first thing in ``config`` that cannot run."""
    try:
        validate(config)  # every field's type, range and name, and the device (rules in config.py)
    except StudyConfigError:
        raise
    except ConfigError as exc:
        raise StudyConfigError(str(exc)) from None
    from mmrec_core.encoders.registry import ENCODERS

    if "mean" in config.fusions and not ENCODERS[config.embed.encoder].shared_space:
        raise StudyConfigError(
            f"fusion 'mean' needs text and pictures in one space (clip); encoder {config.embed.encoder!r} "
            "has two spaces: use 'concat' instead"
        )
    if config.train.early_stopping_patience is not None:
        raise StudyConfigError(
            "train.early_stopping_patience must be null in a study: models stop early on the validation split "
            "through selection.patience (set selection to null for fixed epochs)"
        )
    if config.selection is not None:
        from mmrec_core.selection import check_metric

        try:
            check_metric(config.selection.metric)
        except ValueError as exc:
            raise StudyConfigError(str(exc)) from None
        if config.split.validation_frac <= 0 and config.split.protocol != "leave-last-out":
            raise StudyConfigError(
                "model selection needs a validation split: set split.validation_frac above 0 "
                "(0.2 by default), or selection to null for fixed epochs"
            )
    if not config.models and config.classifier is None:
        raise StudyConfigError("nothing to run: no models and no classifier")


def load_data(config: StudyConfig, progress: ProgressCallback | None = None):
    """The :class:`~mmrec_core.data.schema.Dataset` of ``config.data``."""
    from mmrec_core.data.sources import load_dataset

    return load_dataset(config.data, progress=progress)


def prepare_interactions(dataset, config: StudyConfig) -> StudyData:
    """Study A steps 1, 3, 4: labels, the split and the test pairs (train pairs come with each RankingData)."""
    from mmrec_core.data.interactions import Interactions, make_pairs, split

    sc = config.split
    inter = Interactions.from_dataset(dataset, positive_threshold=sc.positive_threshold)
    parts = split(inter, sc)
    test_pairs = make_pairs(inter, parts.test, max_pairs_per_user=sc.max_pairs_per_user, seed=sc.seed)
    return StudyData(dataset, inter, parts, test_pairs)


def embed_catalogue(dataset, config: StudyConfig, progress: ProgressCallback | None = None):
    """Item text and picture vectors of ``config.embed.encoder`` (once; every fusion reuses them)."""
    from mmrec_core.embeddings import embed_items

    return embed_items(dataset, config.embed, config.images, progress=progress)


# --- the whole study ----------------------------------------------------------------------------------


def run_study(
    config: StudyConfig,
    progress: ProgressCallback | None = None,
    on_epoch: EpochHook | None = None,
    *,
    out_dir: str | Path | None = None,
    keep_models: bool = False,
    store: bool = False,
) -> StudyResult:
    """Run both studies of ``config`` and return the result (also written to ``out_dir`` when given).

    With ``out_dir`` partial results are written after each setting and after a failure, so an
    interrupted run keeps what it finished. Data and encoder problems (``DataUnavailable``,
    ``EncoderUnavailable``, a missing file) are raised at once: nothing can run without them. With
    ``store`` the ranking and the classifier runs are read from the trained-run store when this config,
    data and embeddings were run before (by the CLI or the dashboard), and stored when they finish
    cleanly (:mod:`mmrec_core.trained`; the fitted rankers are kept for the dashboard).
    """
    validate_config(config)
    result = StudyResult(config=config)
    save = (lambda r: r.to_json(out_dir)) if out_dir is not None else (lambda r: None)
    timings = result.timings
    total = time.perf_counter()

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        try:
            return fn()
        finally:
            timings[name] = time.perf_counter() - start

    dataset = timed("load", lambda: load_data(config, progress))
    data = timed("interactions", lambda: prepare_interactions(dataset, config))
    needs_items = any(s != NO_CONTENT for s, _ in jobs(config, False)) or config.classifier is not None
    emb = None
    if needs_items:
        emb = timed("embed", lambda: _embed_or_record(dataset, config, progress, result))
    identity = None if emb is None else emb.identity
    try:
        if config.models:
            timed("ranking", lambda: _stored_ranking(config, data, emb, progress, on_epoch, result, save,
                                                     keep_models, identity if store else False))
        else:
            result.dataset, result.load_report = data.summary(), dataset.report.to_dict()
        save(result)
        if config.classifier is not None and not result.stopped:
            result.classifier, result.classifier_info = timed(
                "classifier", lambda: _stored_classifier(config, dataset, emb, progress, on_epoch,
                                                         identity if store else False)
            )
            result.errors.extend({"step": f"classifier {m}", "error": out["error"]}
                                 for m, out in result.classifier.items() if "error" in out)
    finally:
        timings["total"] = time.perf_counter() - total
        save(result)
    return result


def _stored_ranking(config: StudyConfig, data: StudyData, emb, progress, on_epoch, result: StudyResult,
                    save: Callable[[StudyResult], None], keep_models: bool, identity: str | None | bool) -> None:
    """:func:`run_ranking` into ``result``, or its stored twin (``identity`` False: no store)."""
    from mmrec_core import trained

    if identity is False:
        run_ranking(config, data, emb, progress, on_epoch, result=result, keep_models=keep_models, checkpoint=save)
        return
    key = trained.run_key("ranking", config, data.dataset.fingerprint, identity)
    stored = trained.load_run("ranking", key)
    if stored is not None:
        log.info("ranking: the same config, data and embeddings ran before; read from the trained-run store")
        timings = result.timings
        result.__dict__.update({k: v for k, v in stored.__dict__.items() if k not in ("timings", "config")})
        result.timings = timings
        return
    run_ranking(config, data, emb, progress, on_epoch, result=result, keep_models=True, checkpoint=save)
    if not result.stopped and not result.errors:
        trained.save_run("ranking", key, result)
    if not keep_models:
        result.models = {}


def _stored_classifier(config: StudyConfig, dataset, emb, progress, on_epoch, identity: str | None | bool):
    """:func:`run_classifier`, or its stored twin (``identity`` False: no store)."""
    from mmrec_core import trained

    if identity is False:
        return run_classifier(config, dataset, emb, progress, on_epoch)
    key = trained.run_key("classifier", config, dataset.fingerprint, identity)
    stored = trained.load_run("classifier", key)
    if stored is not None:
        log.info("classifier: the same config, data and embeddings ran before; read from the trained-run store")
        return stored
    outputs, info = run_classifier(config, dataset, emb, progress, on_epoch)
    if not info.get("error") and not info.get("stopped") and not any("error" in o for o in outputs.values()):
        trained.save_run("classifier", key, (outputs, info))
    return outputs, info


def _embed_or_record(dataset, config: StudyConfig, progress, result: StudyResult):
    """Item embeddings; an unavailable encoder is raised (the user must act), other failures recorded."""
    from mmrec_core.encoders.registry import EncoderUnavailable

    try:
        return embed_catalogue(dataset, config, progress)
    except EncoderUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - the content-free models can still run
        log.error("embedding failed: %s", describe_error(exc))
        log.debug("traceback", exc_info=True)
        result.errors.append({"step": "embed", "error": describe_error(exc)})
        return None
