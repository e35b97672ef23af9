"""One Amazon review record -> a checked row, or :class:`Malformed` with the reason the load report counts.

Every field the loaders keep is checked here, so one bad value (a timestamp of 10**30, a ``helpful_vote`` of
"abc", a lone surrogate, JSON nested 100,000 deep) skips its record instead of failing the whole load later
(the int64 cast of the frame, hashing, writing results). :mod:`mmrec_core.data.amazon` reads the lines.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any

from mmrec_core.data.meta import clean_text, timestamp_ms, usable

_INT64 = 1 << 63


class Malformed(ValueError):
    """One record that cannot be kept; the message is the reason counted in the load report."""


def malformed_reason(exc: BaseException) -> str:
    """The load report's reason for a record that raised ``exc``: a :class:`Malformed` says its own; anything
    else (a bug, a value no check foresaw) is "unreadable (<type>)", so one record never stops a load."""
    return str(exc) if isinstance(exc, Malformed) else f"unreadable ({type(exc).__name__})"


class TooLong:
    """Stands in for a line longer than ``amazon.MAX_LINE_BYTES`` (its bytes were read past, not kept)."""

    def __init__(self, head: bytes):
        self.head = head  # its first bytes: enough to tell a huge JSON object from a huge array


def parse_record(raw: Any) -> dict[str, Any]:
    """The JSON object of one line (or a record given as a dict); :class:`Malformed` with the reason."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, TooLong):
        raise Malformed("line too long")
    if not isinstance(raw, bytes | str):
        raise Malformed("not a JSON object")
    try:
        record = json.loads(raw)
    except RecursionError:  # e.g. [[[[...]]]] nested 100,000 deep
        raise Malformed("nested too deep") from None
    except ValueError:  # includes UnicodeDecodeError
        raise Malformed("not JSON") from None
    if not isinstance(record, dict):
        raise Malformed("not a JSON object")
    return record


def _text_field(record: dict[str, Any], key: str) -> str:
    """An optional free-text field: a string, "" when absent or null; another type is malformed."""
    value = record.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if not isinstance(value, str):
        raise Malformed(f"{key} is not text")
    return value


def id_field(record: dict[str, Any], key: str) -> str | None:
    """An id (user_id, asin, parent_asin): a non-null string, else None; a list, dict, ... is malformed."""
    value = record.get(key)
    if type(value) is str or value is None:  # the common case first: this runs for every line
        return usable(value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Malformed(f"{key} is not a string")
    return usable(value)


def _int_field(value: Any, key: str, default: int | None = None) -> int:
    """An int64 from an int, an integral finite float or a string of digits (bools and the rest: malformed)."""
    if value is None and default is not None:
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise Malformed(f"{key} is not a number")
    if isinstance(value, numbers.Integral):
        out = int(value)
    elif math.isfinite(value) and float(value).is_integer():
        out = int(value)
    else:
        raise Malformed(f"{key} is not a whole number")
    if not -_INT64 <= out < _INT64:
        raise Malformed(f"{key} out of range")
    return out


def _bool_field(value: Any, key: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise Malformed(f"{key} is not true/false")


def _rating(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise Malformed("rating is not a number")
    try:
        rating = float(value)
    except OverflowError:  # an int past float range
        raise Malformed("rating out of range") from None
    if rating != 0.0 and not 1.0 <= rating <= 5.0:  # NaN and infinities fail here too
        raise Malformed("rating out of range")
    return rating


def _timestamp(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        raise Malformed("timestamp missing or not a number")
    try:
        ts = timestamp_ms(value)
    except (TypeError, ValueError, OverflowError):  # Infinity, NaN, "yesterday", NaT
        raise Malformed("timestamp unreadable") from None
    if not -_INT64 <= ts < _INT64:  # it would overflow the int64 column (10**30, ...)
        raise Malformed("timestamp out of range")
    return ts


def _check_text(text: str) -> None:
    if not text.isascii():  # ASCII (most lines) cannot hold a surrogate; isascii is a flag lookup
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise Malformed("invalid Unicode (lone surrogate)") from None


def check_encodable(value: Any) -> None:
    """Raise :class:`ValueError` when a string anywhere in ``value`` (nested lists/dicts too) is not valid
    Unicode (a lone surrogate such as ``"\\ud800"`` from JSON): it would fail later, when written or hashed."""
    stack = [value]
    while stack:  # iterative: details may be nested deeper than the recursion limit allows
        v = stack.pop()
        if isinstance(v, str):
            _check_text(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)


def review_row(record: dict[str, Any]) -> tuple[str, Any]:
    """("ok", row tuple) or (skip reason, None); :class:`Malformed` for a field of the wrong type or range.

    Every kept field is checked here, so a bad value skips its record instead of failing the whole load
    later (the int64 cast of the frame, hashing, writing results). Each field takes a fast path for the
    type real files have (this runs for every line) and the general check otherwise.
    """
    get = record.get
    item = id_field(record, "parent_asin")
    if item is None:
        return "no parent_asin", None
    user = id_field(record, "user_id")
    if user is None:
        raise Malformed("no user_id")
    if "rating" not in record:
        raise Malformed("no rating")
    rating = record["rating"]
    if type(rating) is not float or not 1.0 <= rating <= 5.0:
        rating = _rating(rating)
    ts = get("timestamp")
    if type(ts) is not int or not -_INT64 <= ts < _INT64:
        ts = _timestamp(ts)
    if rating == 0.0:
        return "rating 0.0", None
    votes = get("helpful_vote")
    if type(votes) is not int or not 0 <= votes < _INT64:
        votes = _int_field(votes, "helpful_vote", default=0)
        if votes < 0:
            raise Malformed("helpful_vote is negative")
    verified = get("verified_purchase")
    if type(verified) is not bool:
        verified = _bool_field(verified, "verified_purchase")
    asin = get("asin")
    asin = (usable(asin) if type(asin) is str else id_field(record, "asin")) or item
    title, text = get("title"), get("text")
    title = title if type(title) is str else _text_field(record, "title")
    text = text if type(text) is str else _text_field(record, "text")
    for value in (user, item, asin, title, text):
        if not value.isascii():  # ASCII cannot hold a lone surrogate; isascii is a flag lookup
            _check_text(value)
    return "ok", (user, item, asin, float(rating), ts, verified, votes, clean_text(title), text)
