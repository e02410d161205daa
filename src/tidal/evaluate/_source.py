"""What the engine accepts as data, turned into a :class:`tidal.stream.Source`."""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal.base.exceptions import InputError

__all__ = ["as_source"]


def as_source(data: Any, target: str | None = None, time_column: str | None = None) -> Any:
    """A Source from a Source, a pandas/polars DataFrame (with ``target``), or ``(X, y)`` arrays.

    >>> import numpy as np
    >>> src = as_source((np.zeros((3, 2)), np.array([0, 1, 0])))
    >>> src.feature_names
    ('x0', 'x1')
    """
    from tidal import stream

    if isinstance(data, stream.Source):
        return data
    if isinstance(data, tuple) and len(data) == 2:
        X, y = data
        return stream.from_arrays(np.asarray(X), np.asarray(y))
    module = type(data).__module__.split(".")[0]
    if module in ("pandas", "polars", "pyarrow"):
        if target is None:
            raise InputError("a DataFrame source needs `target`: the name of the label column")
        columns = [str(c) for c in data.columns]
        if target not in columns:
            raise InputError(
                f"target column {target!r} is not in the data; columns are {columns}",
                column=target,
            )
        return stream.from_frame(data, target=target, time_column=time_column)
    raise InputError(
        f"unsupported data {type(data).__name__}: expected a tidal.stream.Source, a pandas or "
        "polars DataFrame with `target`, or an (X, y) tuple of arrays"
    )
