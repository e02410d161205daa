"""Parameter checks, one message format for every package.

A failed check raises :class:`~tidal.base.ParameterError` (a ``ValueError``) saying the parameter,
the value that came and what was expected, prefixed by the owner when one is given::

    "<owner>: <name> == <value!r>, must be <what was expected>"

>>> check_real("l2", 0.5, 0.0)
0.5
>>> check_real("delta", 2.0, 0.0, 1.0, "()", owner="ADWIN")
Traceback (most recent call last):
...
tidal.base.exceptions.ParameterError: ADWIN: delta == 2.0, must be in (0, 1)
>>> check_int("window", 0, 1)
Traceback (most recent call last):
...
tidal.base.exceptions.ParameterError: window == 0, must be an integer >= 1
>>> check_choice("metric", "auc", ("mae", "rmse"))
Traceback (most recent call last):
...
tidal.base.exceptions.ParameterError: metric == 'auc', must be one of ['mae', 'rmse']
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any, TypeVar

import numpy as np

from tidal.base.exceptions import ParameterError

__all__ = ["check_bool", "check_choice", "check_int", "check_real", "fail"]

T = TypeVar("T")
_INF = math.inf


def fail(name: str, value: Any, expected: str, owner: str | None = None) -> None:
    """Raise the one ParameterError format (for checks no helper here expresses).

    >>> fail("every", 0, "a positive integer or None", owner="EveryN")
    Traceback (most recent call last):
    ...
    tidal.base.exceptions.ParameterError: EveryN: every == 0, must be a positive integer or None
    """
    prefix = f"{owner}: " if owner else ""
    raise ParameterError(f"{prefix}{name} == {value!r}, must be {expected}")


def _interval(low: float, high: float, closed: str) -> str:
    if high == _INF and low == -_INF:
        return ""
    if high == _INF:
        return f" {'>' if closed[0] == '(' else '>='} {low:g}"
    if low == -_INF:
        return f" {'<' if closed[1] == ')' else '<='} {high:g}"
    return f" in {closed[0]}{low:g}, {high:g}{closed[1]}"


def check_real(
    name: str,
    value: Any,
    low: float = -_INF,
    high: float = _INF,
    closed: str = "[]",
    *,
    owner: str | None = None,
) -> float:
    """``value`` as a float when it is a finite real number (not a bool) in the interval whose
    ends ``closed`` gives (``"[]"``, ``"(]"``, ``"[)"``, ``"()"``); else a ParameterError.

    >>> check_real("lr", float("inf"), 0.0, owner="SGD")
    Traceback (most recent call last):
    ...
    tidal.base.exceptions.ParameterError: SGD: lr == inf, must be a finite number >= 0
    """
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )
    if ok:
        v = float(value)
        ok = (
            math.isfinite(v)
            and (v > low if closed[0] == "(" else v >= low)
            and (v < high if closed[1] == ")" else v <= high)
        )
    if not ok:
        bounded = math.isfinite(low) and math.isfinite(high)  # inside both: finite goes unsaid
        expected = _interval(low, high, closed).strip() if bounded else "a finite number"
        fail(name, value, expected if bounded else expected + _interval(low, high, closed), owner)
    return float(value)


def check_int(
    name: str,
    value: Any,
    low: int | None = None,
    high: int | None = None,
    *,
    owner: str | None = None,
    allow_none: bool = False,
) -> Any:
    """``value`` when it is an integer (not a bool) in ``[low, high]`` (None when ``allow_none``);
    else a ParameterError.

    >>> check_int("seed", None, 0, allow_none=True) is None
    True
    >>> check_int("n", 2.0, 1)
    Traceback (most recent call last):
    ...
    tidal.base.exceptions.ParameterError: n == 2.0, must be an integer >= 1
    """
    if value is None and allow_none:
        return None
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    ok = ok and (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        bounds = _interval(-_INF if low is None else low, _INF if high is None else high, "[]")
        fail(name, value, f"an integer{bounds}{' or None' if allow_none else ''}", owner)
    return value


def check_bool(name: str, value: Any, *, owner: str | None = None) -> bool:
    """``value`` when it is True or False; else a ParameterError."""
    if not isinstance(value, bool | np.bool_):
        fail(name, value, "True or False", owner)
    return bool(value)


def check_choice(name: str, value: T, choices: Collection[Any], *, owner: str | None = None) -> T:
    """``value`` when it is one of ``choices`` (a bool never counts as the number 0 or 1)."""
    try:
        ok = value in choices
    except TypeError:  # an unhashable value asked of a set
        ok = False
    if isinstance(value, bool | np.bool_) and not any(isinstance(c, bool) for c in choices):
        ok = False
    if not ok:
        fail(name, value, f"one of {list(choices)}", owner)
    return value
