"""Field rules for the config dataclasses: the type comes from the type hint, bounds and names from a rule.

Each config class in :mod:`mmrec_core.config` has a rule table right below it (``rules(Cls, field=Rule(...))``);
:func:`check` walks a config and raises :class:`ConfigError` with one line that names the field, e.g.
``train.epochs must be an integer in 1..10000, got "5"``. Booleans are never numbers, NaN and infinities are
never numbers, and a string is never a list. A new field needs a rule (a test checks every field has one).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import numbers
import re
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 4096  # paths and checkpoints; any longer value is a mistake or an attack


class ConfigError(ValueError):
    """A config value that cannot be used; the message is one line naming the field (``train.epochs ...``)."""


@dataclass(frozen=True)
class Rule:
    """Constraints on one field beyond its type hint.

    Parameters
    ----------
    lo, hi:
        Inclusive bounds of a number (``hi=None``: no upper bound).
    lo_open, hi_open:
        Exclude the bound itself (``lr`` must be > 0).
    choices:
        The allowed strings, or a function returning them (registries are imported only when checked).
    noun:
        What a choice is called in messages ("fusion", "model").
    min_items, max_items, unique:
        For list fields; the other constraints then apply to each item.
    pattern, max_len:
        For strings: a full-match regular expression and a length cap.
    machine:
        A check that depends on this machine (is this device here?), run only when asked: a problem in
        words, or None.
    """

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[str, ...] | Callable[[], Iterable[str]] | None = None
    noun: str = "value"
    min_items: int = 0
    max_items: int | None = None
    unique: bool = False
    pattern: str | None = None
    max_len: int = MAX_TEXT
    machine: Callable[[Any], str | None] | None = None


RULES: dict[type, dict[str, Rule]] = {}


def rules(cls: type, **table: Rule) -> None:
    """Declare the rules of ``cls``'s fields (next to the class, so a new field gets its rule beside it)."""
    names = {f.name for f in dataclasses.fields(cls)}
    extra = sorted(set(table) - names)
    if extra:
        raise TypeError(f"rules for {cls.__name__} name unknown fields {extra}")
    RULES[cls] = table


def integer(lo: int, hi: int, **kw: Any) -> Rule:
    return Rule(lo=lo, hi=hi, **kw)


def number(lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False) -> Rule:
    return Rule(lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)


def one_of(noun: str, choices: tuple[str, ...] | Callable[[], Iterable[str]], **kw: Any) -> Rule:
    return Rule(choices=choices, noun=noun, **kw)


FLAG = Rule()
TEXT = Rule()


# --- checking -----------------------------------------------------------------------------------------


def check(config: Any, path: str = "", *, environment: bool = True) -> None:
    """Check every field of a (nested) config dataclass against its hint and rule.

    ``environment=False`` skips the machine-dependent checks (reading a config made elsewhere).

    Raises
    ------
    ConfigError
        At the first bad value, naming its dotted path.
    """
    cls = type(config)
    table = RULES.get(cls, {})
    for f in dataclasses.fields(cls):
        name = f"{path}{f.name}"
        _check_value(name, getattr(config, f.name), _hints(cls)[f.name], table.get(f.name, Rule()), environment)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check_value(name: str, value: Any, hint: Any, rule: Rule, environment: bool) -> None:
    hint, optional = _strip_optional(hint)
    if value is None:
        if optional:
            return
        raise ConfigError(f"{name} must be {_describe(hint, rule)}, got null")
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, hint):
            raise ConfigError(f"{name} must be an object ({hint.__name__}), got {show(value)}")
        check(value, f"{name}.", environment=environment)
        return
    if typing.get_origin(hint) is tuple:
        (item_hint, *_rest) = typing.get_args(hint) or (Any,)
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{name} must be a list of {_plural(item_hint)}, got {show(value)}")
        if len(value) < rule.min_items:
            raise ConfigError(f"{name} must have at least {rule.min_items} item(s), got {show(list(value))}")
        if rule.max_items is not None and len(value) > rule.max_items:
            raise ConfigError(f"{name} must have at most {rule.max_items} items, got {len(value)}")
        if rule.unique and len(set(map(_key, value))) != len(value):
            raise ConfigError(f"{name} lists a value twice: {show(list(value))}")
        for i, item in enumerate(value):
            _check_scalar(f"{name}[{i}]", item, item_hint, rule, False, environment)
        return
    _check_scalar(name, value, hint, rule, optional, environment)


def _check_scalar(name: str, value: Any, hint: Any, rule: Rule, optional: bool, environment: bool) -> None:
    if not _is_type(value, hint):
        raise ConfigError(f"{name} must be {_describe(hint, rule, optional)}, got {show(value)}")
    if hint in (int, float) and not _in_range(value, rule):
        raise ConfigError(f"{name} must be {_describe(hint, rule, optional)}, got {show(value)}")
    if hint is str:
        choices = _choices(rule, hint)
        if choices is not None and value not in choices:
            raise ConfigError(f"unknown {rule.noun} {value!r} in {name}; choose one of {list(choices)}")
        if len(value) > rule.max_len or "\x00" in value:
            raise ConfigError(f"{name} must be a string of at most {rule.max_len} characters, got {show(value)}")
        if rule.pattern is not None and not re.fullmatch(rule.pattern, value):
            raise ConfigError(f"{name} must be {_describe(hint, rule, optional)}, got {show(value)}")
    if environment and rule.machine is not None:
        problem = rule.machine(value)
        if problem:
            raise ConfigError(f"{name} {problem}")


def _strip_optional(hint: Any) -> tuple[Any, bool]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return options[0], len(options) != len(args)
    return hint, False


def _is_type(value: Any, hint: Any) -> bool:
    if isinstance(value, bool):
        return hint is bool
    if hint is int:
        return isinstance(value, numbers.Integral)
    if hint is float:
        return isinstance(value, numbers.Real) and math.isfinite(float(value))
    if hint is str:
        return isinstance(value, str)
    if hint is bool:
        return False
    if typing.get_origin(hint) is typing.Literal:
        return isinstance(value, str)
    return True  # a hint this module does not know: the rule's check (if any) decides


def _in_range(value: float, rule: Rule) -> bool:
    if rule.lo is not None and (value < rule.lo or (rule.lo_open and value == rule.lo)):
        return False
    return not (rule.hi is not None and (value > rule.hi or (rule.hi_open and value == rule.hi)))


def _choices(rule: Rule, hint: Any) -> tuple[str, ...] | None:
    if typing.get_origin(hint) is typing.Literal:
        return tuple(typing.get_args(hint))
    if rule.choices is None:
        return None
    return tuple(rule.choices() if callable(rule.choices) else rule.choices)


def _describe(hint: Any, rule: Rule, optional: bool = False) -> str:
    if dataclasses.is_dataclass(hint):
        text = f"an object ({hint.__name__})"
    elif typing.get_origin(hint) is tuple:
        text = f"a list of {_plural((typing.get_args(hint) or (Any,))[0])}"
    elif hint is int:
        text = "an integer" + (f" in {_num(rule.lo)}..{_num(rule.hi)}" if rule.lo is not None and rule.hi is not None
                               else f" >= {_num(rule.lo)}" if rule.lo is not None else "")
    elif hint is float:
        text = "a number" + _bounds(rule)
    elif hint is bool:
        text = "true or false"
    elif hint is str and rule.pattern is not None:
        text = f"a string matching {rule.pattern}"
    elif hint is str:
        text = "a string"
    else:
        text = f"a {getattr(hint, '__name__', hint)}"
    return text + (" or null" if optional else "")


def _bounds(rule: Rule) -> str:
    parts = []
    if rule.lo is not None:
        parts.append(f"{'>' if rule.lo_open else '>='} {_num(rule.lo)}")
    if rule.hi is not None:
        parts.append(f"{'<' if rule.hi_open else '<='} {_num(rule.hi)}")
    return (" " + " and ".join(parts)) if parts else ""


def _plural(hint: Any) -> str:
    return {int: "integers", float: "numbers", str: "strings", bool: "booleans"}.get(hint, "values")


def _num(x: float | None) -> str:
    return f"{int(x)}" if x is not None and float(x).is_integer() else f"{x:g}"


def _key(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, default=repr) if isinstance(value, list | dict) else value


def show(value: Any, limit: int = 60) -> str:
    """A value as it reads in the JSON file (``"5"``, ``true``, ``null``), cut to ``limit`` characters."""
    try:
        text = json.dumps(value, default=repr, allow_nan=True)
    except (ValueError, TypeError, RecursionError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
