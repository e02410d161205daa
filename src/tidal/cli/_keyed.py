"""`tidal compare data.csv --target y --key COLUMN`: the key is checked before any work."""

from __future__ import annotations

from typing import Any

from tidal.base.exceptions import InputError

__all__ = ["check_key", "key_models"]


def check_key(source: Any, key: str, path: str) -> None:
    """The key names a feature column of ``source``, or a clear error listing the columns."""
    columns = list(getattr(source, "feature_names", ()))
    if key not in columns:
        target = getattr(source, "target", None)
        why = " (it is the target)" if key == target else ""
        raise InputError(
            f"--key {key!r}: no such feature column in {path}{why}; the columns are "
            f"{', '.join(columns)}",
            column=key,
        )


def key_models(task: str) -> str:
    """The default learner of a keyed comparison: the task's online linear model.

    >>> key_models("regression"), key_models("binary")
    ('linreg', 'lr')
    """
    return {"regression": "linreg", "binary": "lr"}.get(task, "softmax")
