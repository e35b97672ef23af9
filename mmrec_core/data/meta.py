"""Normalising one raw Amazon Reviews 2023 record (review or meta) into the schema's row shape.

Accepts both shapes the data set comes in: the raw JSONL (meta ``images`` a list of dicts, ``details`` a dict,
``price`` a float or null) and the Hugging Face script/parquet view (``images`` a dict of lists, ``details``
a JSON string, ``price`` a string with ``"None"`` for null). Values read through pandas may be numpy arrays.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from pathlib import Path
from typing import Any

_BR = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_BLOCK = re.compile(r"<\s*/?\s*(?:p|div|li|ul|ol|tr|h[1-6])\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\f\v\xa0\u2009\u200b]+")
_NEWLINES = re.compile(r"\s*\n\s*(?:\n\s*)+")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
_NULLS = {"", "none", "null", "nan"}


def clean_text(text: Any) -> str:
    """Plain text from review/meta HTML: tags removed, entities decoded, whitespace tidied.

    ``<br />`` and block tags become line breaks (at most one blank line in a row); other tags vanish.
    Tags are removed before entities are decoded, so an escaped ``&lt;b&gt;`` stays visible text.

    Parameters
    ----------
    text:
        A string (anything else, e.g. None, gives ``""``).
    """
    if not isinstance(text, str) or not text:
        return ""
    if "<" in text:
        text = _BR.sub("\n", text)
        text = _BLOCK.sub("\n", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def usable(value: Any) -> str | None:
    """The value as a stripped string, or None for null-ish values (None, "", "None", "null", NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return None if text.lower() in _NULLS else text


def _as_list(value: Any) -> list[Any]:
    if value is None or isinstance(value, str | bytes | dict):
        return [] if value is None else [value]
    try:
        return list(value)  # list, tuple, numpy array
    except TypeError:
        return [value]


def _text(value: Any) -> str | None:
    """A short text field (store, main_category): a usable string; another type (list, dict) is None."""
    return usable(value) if isinstance(value, str) else None


def _texts(value: Any) -> list[str]:
    """The string elements of a list field (categories, features, description); other elements dropped."""
    return [v for v in _as_list(value) if isinstance(v, str) and usable(v)]


def _float(value: Any) -> float:
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, str):
        value = value.strip().lstrip("$").replace(",", "")
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan  # "None", "", ranges such as "12.99 - 15.99", ints past float range
    return out if math.isfinite(out) else math.nan


def _count(value: Any) -> float | int:
    """A non-negative whole count (rating_number) as int, else NaN (kept within int64)."""
    out = _float(value)
    if math.isnan(out) or out < 0 or out >= 2.0**63 or not out.is_integer():
        return math.nan
    return int(out)


def _details(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python can parse
            return {"raw": value}
        return parsed if isinstance(parsed, dict) else {"raw": parsed}
    return {}


def image_rows(images: Any) -> list[dict[str, Any]]:
    """Meta ``images`` as a list of dicts, from either the list-of-dicts or the dict-of-lists shape."""
    if isinstance(images, dict):
        columns = {key: _as_list(values) for key, values in images.items()}
        n = max((len(v) for v in columns.values()), default=0)
        return [{key: (v[i] if i < len(v) else None) for key, v in columns.items()} for i in range(n)]
    return [row for row in _as_list(images) if isinstance(row, dict)]


def resolve_ref(ref: str | None, base_dir: Path | None) -> str | None:
    """A relative local image path made absolute against ``base_dir``; URLs and absolute paths unchanged.

    String work only (``normpath``): resolving symbolic links here cost 14 file-system calls per picture, a
    third of reading a meta file. The picture reader resolves the real path when it opens the file
    (``images._read_regular``), which is where a link is followed and checked.
    """
    if ref is None or base_dir is None or _SCHEME.match(ref) or os.path.isabs(ref):
        return ref
    return os.path.normpath(os.path.join(base_dir, ref))


def absent_local_files(refs: Any) -> int:
    """How many of ``refs`` (image references) are local paths with no file behind them: known at load time
    with one ``stat`` each, where URLs are only known once fetched."""
    return sum(1 for ref in refs if isinstance(ref, str) and not _SCHEME.match(ref) and not os.path.exists(ref))


def pick_images(images: Any, base_dir: Path | None = None) -> tuple[str | None, str | None]:
    """(image_url, image_url_hires): Study A's first usable ``large``; Study B's first image's
    ``hi_res``, else ``large``, else ``thumb`` (the first image that has any of them)."""
    rows = image_rows(images)
    large = next((u for u in (_text(r.get("large")) for r in rows) if u), None)
    hires = None
    for row in rows:
        hires = _text(row.get("hi_res")) or _text(row.get("large")) or _text(row.get("thumb"))
        if hires:
            break
    return resolve_ref(large, base_dir), resolve_ref(hires, base_dir)


def normalise_meta(record: dict[str, Any], base_dir: Path | None = None) -> dict[str, Any]:
    """One :data:`~mmrec_core.data.schema.ITEM_COLUMNS` row from a raw or HF-view meta record.

    Parameters
    ----------
    record:
        A meta record as parsed from JSON (or a parquet row).
    base_dir:
        Folder of the meta file; relative local image paths are resolved against it.

    Fields of the wrong type are coerced to "missing" (None, NaN, an empty list), never kept as garbage
    such as the text of a list.
    """
    image_url, image_url_hires = pick_images(record.get("images"), base_dir)
    average = _float(record.get("average_rating"))
    return {
        "item_id": usable(record.get("parent_asin")),
        "title": clean_text(record.get("title")) or None,
        "main_category": _text(record.get("main_category")),
        "categories": [c.strip() for c in _texts(record.get("categories"))],
        "store": _text(record.get("store")),
        "price": _float(record.get("price")),
        "average_rating": average if math.isnan(average) or 0.0 <= average <= 5.0 else math.nan,
        "rating_number": _count(record.get("rating_number")),
        "features": [clean_text(f) for f in _texts(record.get("features"))],
        "description": [clean_text(d) for d in _texts(record.get("description"))],
        "details": _details(record.get("details")),
        "image_url": image_url,
        "image_url_hires": image_url_hires,
        "has_meta": True,
    }


def empty_item(item_id: str) -> dict[str, Any]:
    """The row of a reviewed item that has no meta record: content missing, ``has_meta`` False."""
    return {
        "item_id": item_id,
        "title": None,
        "main_category": None,
        "categories": [],
        "store": None,
        "price": math.nan,
        "average_rating": math.nan,
        "rating_number": math.nan,
        "features": [],
        "description": [],
        "details": {},
        "image_url": None,
        "image_url_hires": None,
        "has_meta": False,
    }


def timestamp_ms(value: Any) -> int:
    """A review timestamp as int milliseconds (raw ints; strings of digits; pandas/datetime values)."""
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if hasattr(value, "timestamp"):  # datetime / pandas Timestamp from a parquet view
        return int(value.timestamp() * 1000)
    raise ValueError(f"unreadable timestamp {value!r}")
