"""Model selection on the validation split: early stopping on a ranking metric, a budgeted coordinate search
over each model's sensitive settings, and the refit of the chosen settings on every train row.

::

    validator = Validator(inter, split, selection)         # ranks split.validation, never split.test
    chosen = select("bpr-mf", base, fit_data, validator, selection)
    model = chosen.final_model(full_data, seed=42)         # refit on train + validation

Nothing here takes the test rows: :class:`Validator` builds its own split from ``split.for_validation()``
(fit rows as train, validation rows as the ones to rank), so selection cannot read the test set.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmrec_core.config import EvalConfig, SelectionConfig, TrainConfig
from mmrec_core.models.base import Ranker, RankingData

log = logging.getLogger("mmrec.selection")

_METRIC = re.compile(r"^(recall|ndcg|hr|precision|mrr)@([1-9][0-9]*)$")

EpochHook = Callable[[dict[str, Any]], None]


def check_metric(metric: str) -> int | None:
    """The K of a selection metric (``ndcg@10`` -> 10, ``auc`` -> None); ValueError for anything else."""
    if metric == "auc":
        return None
    match = _METRIC.match(str(metric))
    if match is None:
        raise ValueError(f"selection metric {metric!r} is not one of recall|ndcg|hr|precision|mrr@K or auc")
    return int(match.group(2))


class Validator:
    """``validator(model) -> {"val <metric>": value}``: the model's ranking metric on the validation rows.

    The validation split ranks every item for the users with a positive validation row, excluding their fit
    rows (the same protocol as the test evaluation). Beyond ``selection.max_users`` such users a seeded
    sample of them is ranked, so an epoch's check stays bounded on a large catalogue.
    """

    def __init__(self, inter: Any, split: Any, selection: SelectionConfig, seed: int = 42):
        k = check_metric(selection.metric)
        self.inter = inter
        self.metric = selection.metric
        self.key = f"val {selection.metric}"
        vsplit = split.for_validation()
        val = vsplit.test
        positive = val[inter.labels[val] == 1]
        users = np.unique(inter.users[positive])
        if selection.max_users is not None and len(users) > selection.max_users:
            keep = np.random.default_rng((seed, 2)).choice(users, selection.max_users, replace=False)
            val = val[np.isin(inter.users[val], keep)]
            vsplit = dataclasses.replace(vsplit, test=val)
            users = np.sort(keep)
        self.split = vsplit
        self.n_users = len(users)
        self.eval = EvalConfig(ks=(k,) if k is not None else (10,))

    def __call__(self, model: Ranker) -> dict[str, float]:
        from mmrec_core.evaluate import evaluate_ranking

        metrics = evaluate_ranking(model, self.inter, self.split, self.eval, auc=self.metric == "auc")
        return {self.key: float(metrics[self.metric])}


@dataclass
class Trial:
    """One fit of the search: its settings, best validation value and epoch, and its curve."""

    config: TrainConfig
    settings: dict[str, Any]
    value: float
    best_epoch: int
    epochs_run: int
    seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)
    model: Ranker | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "validation": _finite(self.value), "best_epoch": self.best_epoch,
                "epochs_run": self.epochs_run, "seconds": self.seconds}  # fmt: skip


@dataclass
class Selection:
    """What :func:`select` chose for one model, and how: the best trial among ``trials``."""

    name: str
    best: Trial
    trials: list[Trial]
    selection: SelectionConfig
    fit_data: RankingData = field(repr=False)
    validator: Validator = field(repr=False)

    @property
    def settings(self) -> dict[str, Any]:
        """The chosen settings, with ``epochs`` = the chosen number of epochs."""
        return {**self.best.settings, "epochs": self.best.best_epoch}

    def final_model(self, full_data: RankingData, seed: int, callback: EpochHook | None = None) -> Ranker:
        """The model the test set sees, trained with the chosen settings and ``seed``.

        With ``refit``: a fresh model on ``full_data`` (train + validation) for the chosen number of epochs.
        Without: the best trial's own model (same seed) or a new early-stopped fit on the fit rows.
        """
        from mmrec_core.models.registry import create_ranker

        cfg = dataclasses.replace(self.best.config, seed=seed)
        if self.selection.refit:
            cfg = dataclasses.replace(cfg, epochs=max(self.best.best_epoch, 1), early_stopping_patience=None)
            return create_ranker(self.name, cfg).fit(full_data, callback=_tagged(callback, phase="refit"))
        if seed == self.best.config.seed and self.best.model is not None:
            return self.best.model
        return _fit_trial(self.name, cfg, self.fit_data, self.validator, callback, 0).model

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the chosen settings, the metric and its validation value, and every trial."""
        return {
            "settings": self.settings, "metric": self.selection.metric, "validation": _finite(self.best.value),
            "refit": self.selection.refit, "validation_users": self.validator.n_users,
            "budget": self.selection.trials, "trials": [t.to_dict() for t in self.trials],
        }  # fmt: skip


def plan_text(models: list[str] | tuple[str, ...], selection: SelectionConfig | None,
              base: TrainConfig | None = None) -> str:
    """What training will really do for ``models``, in words (the dashboard shows it under its controls)."""
    from mmrec_core.models.registry import RANKERS, SEARCH_SPACES, default_config

    trained = [m for m in models if m in RANKERS and RANKERS[m].trained]
    if not trained:
        return "Nothing to train: the chosen models only count or compare vectors."
    if selection is None:
        base = base or TrainConfig()
        parts = [f"{m} {default_config(m, base).epochs}" for m in trained]
        return ("Fixed epochs, no validation: " + ", ".join(parts) + " epochs, each model's registered settings.")
    searched = sorted({f.replace("_", " ") for m in trained for f, _ in SEARCH_SPACES.get(m, ())})
    budget = ("each keeps its registered settings" if selection.trials <= 1
              else f"up to {selection.trials} settings each (a search over {', '.join(searched)})")
    refit = (" The chosen settings are then retrained on train + validation for the chosen epochs."
             if selection.refit else " The best epoch's weights are kept.")
    return (f"{', '.join(trained)}: {budget}; each fits on train minus validation for up to {selection.max_epochs} "
            f"epochs and stops {selection.patience} epochs after its best validation {selection.metric}."
            + refit + " The test set is ranked once per model, at the end.")


def explicit_fields(train: TrainConfig) -> set[str]:
    """The searchable fields (any model's ``SEARCH_SPACES``) that ``train`` sets away from ``TrainConfig``'s
    default: the user chose them, so selection leaves them as they are."""
    from mmrec_core.models.registry import SEARCH_SPACES

    plain = TrainConfig()
    searchable = {f for space in SEARCH_SPACES.values() for f, _ in space}
    return {f for f in searchable if getattr(train, f) != getattr(plain, f)}


def searched_fields(name: str, base: TrainConfig, explicit: set[str] | frozenset[str] = frozenset()) -> list[
    tuple[str, tuple[Any, ...]]
]:
    """The model's search space (``SEARCH_SPACES``) less the fields in ``explicit`` (set by the user)."""
    from mmrec_core.models.registry import SEARCH_SPACES

    return [(f, values) for f, values in SEARCH_SPACES.get(name, ()) if f not in explicit]


def select(
    name: str,
    base: TrainConfig,
    fit_data: RankingData,
    validator: Validator,
    selection: SelectionConfig,
    *,
    explicit: set[str] | frozenset[str] = frozenset(),
    callback: EpochHook | None = None,
) -> Selection:
    """Coordinate search from ``base``: fit, early-stopped on ``validator``, at most ``selection.trials`` times.

    The first trial is ``base``. Then, for each searched field in the registry's order, every other value
    is tried with the best settings so far; the field keeps the value with the highest validation metric
    (a tie keeps the earlier trial). Fields in ``explicit`` stay as ``base`` has them.
    """
    if validator.n_users == 0:
        raise ValueError("no validation user has a positive validation row: model selection cannot run "
                         "(raise split.validation_frac, or set selection to null)")
    space = searched_fields(name, base, explicit)
    fields = [f for f, _ in space]
    trials: list[Trial] = []

    def run(cfg: TrainConfig) -> Trial:
        trial = _fit_trial(name, cfg, fit_data, validator, callback, len(trials) + 1, fields)
        trials.append(trial)
        log.info("%s trial %d/%d %s: %s %.4f at epoch %d", name, len(trials), selection.trials, trial.settings,
                 validator.key, trial.value, trial.best_epoch)
        return trial

    start = dataclasses.replace(base, epochs=selection.max_epochs, early_stopping_patience=selection.patience)
    best = run(start)
    for field_name, values in space:
        current = best
        for value in values:
            if len(trials) >= selection.trials:
                break
            if value == getattr(current.config, field_name):
                continue
            trial = run(dataclasses.replace(current.config, **{field_name: value}))
            if _better(trial.value, best.value):
                best = trial
    for trial in trials:  # only the best trial's weights may be needed later
        if trial is not best:
            trial.model = None
    return Selection(name, best, trials, selection, fit_data, validator)


def _fit_trial(name: str, cfg: TrainConfig, fit_data: RankingData, validator: Validator,
               callback: EpochHook | None, number: int, fields: list[str] | None = None) -> Trial:
    from mmrec_core.models.registry import create_ranker

    settings = {f: getattr(cfg, f) for f in [*(fields or []), "batch_size"] if hasattr(cfg, f)}
    started = time.perf_counter()
    model = create_ranker(name, cfg)
    model.fit(fit_data, callback=_tagged(callback, phase="select", trial=number), validation=validator)
    values = [float(h.get(validator.key, math.nan)) for h in model.history]
    finite = [(v, i) for i, v in enumerate(values) if math.isfinite(v)]
    value, at = max(finite, key=lambda p: (p[0], -p[1])) if finite else (math.nan, 0)
    best_epoch = int(model.history[at]["epoch"]) if model.history else 0
    return Trial(cfg, settings, value, best_epoch, len(model.history), time.perf_counter() - started,
                 [dict(h) for h in model.history], model)


def _better(a: float, b: float) -> bool:
    return math.isfinite(a) and (not math.isfinite(b) or a > b)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _tagged(callback: EpochHook | None, **tags: Any) -> EpochHook | None:
    if callback is None:
        return None
    return lambda record: callback({**record, **tags})
