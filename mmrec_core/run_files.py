"""The shape a run's ``results.json`` must have, checked when a run is read back (dashboard, CLI).

A run folder may come from anywhere (a colleague, an older version, a half-copied disk). Reading it must
either give a :class:`~mmrec_core.results.StudyResult` the tables and charts can draw, or raise one
:class:`RunFileError` whose one-line message says which entry is wrong; never a ``KeyError`` three calls
later. Values the writer never produces (a list where a row belongs, a text where a number belongs) are
refused; keys it does not know are kept, as long as they are plain values.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from mmrec_core.rules import show

ID_TYPES = {"setting": str, "model": str, "seed": int}
TEXT_COLUMNS = ("error",)  # row columns that hold text; every other column is a number, a flag or null
DICT_FIELDS = ("classifier_info", "dataset", "load_report", "embeddings")
CLASSIFIER_NUMBERS = ("accuracy", "macro_f1", "best_epoch")


class RunFileError(ValueError):
    """A run folder whose ``results.json`` or ``config.json`` cannot be read; one line says where."""


def read_results(path: Path) -> dict[str, Any]:
    """The checked payload of ``results.json`` at ``path``.

    Raises
    ------
    RunFileError
        The file is not JSON, is nested absurdly deep, or an entry has the wrong shape (named in the message).
    OSError
        The file cannot be read (missing, a folder, no permission).
    """
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except RecursionError:
        raise RunFileError(f"{path} is nested too deeply to be a results file") from None
    except ValueError as exc:
        raise RunFileError(f"{path} is not valid JSON: {' '.join(str(exc).split())}") from None
    try:
        check_results(data)
    except RunFileError as exc:
        raise RunFileError(f"damaged {path}: {exc}") from None
    return data


def check_results(data: Any) -> None:
    """Raise :class:`RunFileError` at the first entry of a results payload that has the wrong shape."""
    _expect(data, dict, "the file", "an object")
    rows = data.get("rows")
    if rows is not None:
        _expect(rows, list, "rows", "a list")
        for i, row in enumerate(rows):
            _check_row(row, f"rows[{i}]")
    for name in ("protocol", "created", "name", "stopped"):
        if data.get(name) is not None:
            _expect(data[name], str, name, "a string")
    for name in DICT_FIELDS:
        if data.get(name) is not None:
            _expect(data[name], dict, name, "an object")
    _check_histories(data.get("histories"))
    _check_classifier(data.get("classifier"))
    _check_selection(data.get("selection"))
    timings = data.get("timings")
    if timings is not None:
        _expect(timings, dict, "timings", "an object")
        for key, value in timings.items():
            _number(value, f"timings.{key}")
    errors = data.get("errors")
    if errors is not None:
        _expect(errors, list, "errors", "a list")
        for i, entry in enumerate(errors):
            _expect(entry, dict, f"errors[{i}]", "an object")
            for key, value in entry.items():
                _expect(value, str, f"errors[{i}].{key}", "a string")


def _check_row(row: Any, where: str) -> None:
    _expect(row, dict, where, "an object")
    for key, kind in ID_TYPES.items():
        if key not in row:
            raise RunFileError(f"{where} has no {key!r}")
        value = row[key]
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise RunFileError(f"{where}.{key} must be an integer, got {show(value)}")
        elif not isinstance(value, str) or not value:
            raise RunFileError(f"{where}.{key} must be a non-empty string, got {show(value)}")
    for key, value in row.items():
        if key in ID_TYPES or value is None:
            continue
        if key in TEXT_COLUMNS:
            _expect(value, str, f"{where}.{key}", "a string")
        elif not isinstance(value, bool):
            _number(value, f"{where}.{key}")


def _check_histories(histories: Any) -> None:
    if histories is None:
        return
    _expect(histories, dict, "histories", "an object")
    for key, epochs in histories.items():
        if "/" not in key:
            raise RunFileError(f"histories key {key!r} must read 'setting/model'")
        _expect(epochs, list, f"histories[{key!r}]", "a list")
        for i, epoch in enumerate(epochs):
            where = f"histories[{key!r}][{i}]"
            _expect(epoch, dict, where, "an object")
            _plain_values(epoch, where)


def _check_selection(selection: Any) -> None:
    """``{"setting/model": {"settings": {...plain values}, "metric": str, "validation": number, "trials": [...]}}``."""
    if selection is None:
        return
    _expect(selection, dict, "selection", "an object")
    for key, entry in selection.items():
        where = f"selection[{key!r}]"
        if "/" not in key:
            raise RunFileError(f"selection key {key!r} must read 'setting/model'")
        _expect(entry, dict, where, "an object")
        settings = entry.get("settings") or {}
        _expect(settings, dict, f"{where}.settings", "an object")
        _plain_values(settings, f"{where}.settings")
        if entry.get("metric") is not None:
            _expect(entry["metric"], str, f"{where}.metric", "a string")
        _number(entry.get("validation"), f"{where}.validation")
        trials = entry.get("trials") or []
        _expect(trials, list, f"{where}.trials", "a list")
        for i, trial in enumerate(trials):
            _expect(trial, dict, f"{where}.trials[{i}]", "an object")


def _check_classifier(classifier: Any) -> None:
    if classifier is None:
        return
    _expect(classifier, dict, "classifier", "an object")
    for modality, out in classifier.items():
        _expect(out, dict, f"classifier[{modality!r}]", "an object")
        for name in CLASSIFIER_NUMBERS:
            if out.get(name) is not None:
                _number(out[name], f"classifier[{modality!r}].{name}")


def _plain_values(mapping: dict[str, Any], where: str) -> None:
    """Every value of ``mapping`` is a plain JSON value (text, number, flag or null), not a list or object."""
    for name, value in mapping.items():
        if isinstance(value, dict | list):
            raise RunFileError(f"{where}.{name} must be a plain value, got {show(value)}")


def _expect(value: Any, kind: type, where: str, what: str) -> None:
    if not isinstance(value, kind):
        raise RunFileError(f"{where} must be {what}, got {show(value)}")


def _number(value: Any, where: str) -> None:
    """A metric: a number (NaN allowed, it is how a metric that could not be computed reads) or null."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RunFileError(f"{where} must be a number or null, got {show(value)}")
    if isinstance(value, float) and math.isinf(value):
        raise RunFileError(f"{where} must be a finite number, got {show(value)}")
