"""Sources over data already in memory: numpy arrays, pandas and polars DataFrames."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from tidal.base import InputError
from tidal.stream._arrow import ColumnPlan
from tidal.stream._block import Block
from tidal.stream._source import Source

__all__ = ["from_arrays", "from_frame"]


def from_arrays(
    X: Any,
    y: Any = None,
    feature_names: Sequence[str] | None = None,
    *,
    block_size: int = 4096,
) -> Source:
    """A numeric matrix (n, m) and optional targets (n,) as a Source (target name ``"y"``).

    >>> import numpy as np
    >>> src = from_arrays(np.ones((3, 2)), [1, 2, 3], feature_names=["a", "b"])
    >>> src.feature_names, src.arrays()[1].tolist()
    (('a', 'b'), [1, 2, 3])
    """
    try:
        M = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"from_arrays: X must be numeric ({exc}); use from_frame for categorical columns"
        ) from None
    if M.ndim != 2:
        raise InputError(f"from_arrays: X must be 2-D (rows, features), got shape {M.shape}")
    names = (
        tuple(feature_names)
        if feature_names is not None
        else tuple(f"x{j}" for j in range(M.shape[1]))
    )
    if len(names) != M.shape[1]:
        raise InputError(f"from_arrays: {len(names)} feature names for {M.shape[1]} columns")
    target = None
    if y is not None:
        y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        if y.shape != (M.shape[0],):
            raise InputError(f"from_arrays: y has shape {y.shape}, expected ({M.shape[0]},)")
        target = "y"
    block = Block(M, names, y=y, target=target)
    return Source(
        lambda: iter([block]),
        feature_names=names,
        target=target,
        block_size=block_size,
        name="arrays",
    )


def from_frame(
    df: Any,
    target: str | None = None,
    *,
    id_column: str | None = None,
    time_column: str | None = None,
    categorical: Sequence[str] | None = None,
    block_size: int = 4096,
) -> Source:
    """A pandas or polars DataFrame (or a pyarrow Table) as a Source, in row order.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"], "y": [0, 1, 0]})
    >>> b = next(iter(from_frame(df, target="y")))
    >>> b.X[:, 1].tolist(), b.categories
    ([0.0, 1.0, 0.0], {'c': ['a', 'b']})
    """
    table = _to_arrow(df)
    kind = type(df).__module__.split(".")[0]
    plan = ColumnPlan(
        table.schema,
        name=f"{kind} DataFrame",
        target=target,
        id_column=id_column,
        time_column=time_column,
        categorical=categorical,
    )
    if table.num_rows == 0:
        raise InputError(f"{plan.name}: empty frame: no rows", row=0)

    return plan.source(lambda: table.to_batches(max_chunksize=block_size), block_size)


def _to_arrow(df: Any) -> pa.Table:
    if isinstance(df, pa.Table):
        return df
    module = type(df).__module__.split(".")[0]
    if module == "polars":
        return df.to_arrow()
    if module == "pandas":
        try:
            return pa.Table.from_pandas(df, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError(f"pandas DataFrame: a column mixes value types ({exc})") from None
    raise InputError(
        f"from_frame: expected a pandas or polars DataFrame or a pyarrow Table, got "
        f"{type(df).__name__}"
    )
