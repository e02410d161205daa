"""What the guards receive (frames, Blocks, records, Sources), turned into one shape: a frame."""

from __future__ import annotations

import math
from numbers import Number
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["as_frame", "is_number", "label_key", "numeric_column", "record_json"]


def as_frame(data: Any, n_rows: int | None = None) -> pd.DataFrame:
    """A pandas DataFrame of the data (a Block or Source: features with original values and
    the target; see :func:`block_frame` for ids and timestamps)."""
    from tidal.stream import Block, Source

    if isinstance(data, pd.DataFrame):
        return data if n_rows is None else data.iloc[:n_rows]
    if isinstance(data, Source):
        data = (data if n_rows is None else data.head(n_rows)).collect()
    if isinstance(data, Block):
        return block_frame(data)
    module = type(data).__module__.split(".")[0]
    if module in ("polars", "pyarrow"):
        df = data.to_pandas()
    elif isinstance(data, dict):
        df = pd.DataFrame(data)
    elif isinstance(data, list | tuple):
        df = pd.DataFrame.from_records(list(data))
    else:
        raise TypeError(
            f"expected a pandas/polars DataFrame, a Block, a Source, a dict of columns or a list "
            f"of records, got {type(data).__name__}"
        )
    return df if n_rows is None else df.iloc[:n_rows]


def block_frame(
    block: Any, id_column: str | None = None, timestamp_column: str | None = None
) -> pd.DataFrame:
    """A Block as a DataFrame with original values; ids/timestamps under the given names."""
    df = pd.DataFrame(dict(block.features()))
    for i, cells in (getattr(block, "bad", None) or {}).items():
        for col, value in cells.items():  # what the reader could not read: the guards judge it
            if df[col].dtype != object:
                df[col] = df[col].astype(object)
            df.at[i, col] = value
    if block.y is not None:
        df[block.target or "y"] = block.y
    if block.ids is not None and id_column is not None:
        df[id_column] = block.ids
    if block.timestamps is not None and timestamp_column is not None:
        df[timestamp_column] = block.timestamps
    return df


def is_number(value: Any) -> bool:
    """A number, or a string that reads as one ("3.5"); booleans count as 0/1."""
    if isinstance(value, Number | np.number):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def label_key(value: Any) -> Any:
    """A key under which equal labels compare equal: 1, 1.0, "1" and True -> 1.0; else str."""
    if is_number(value):
        f = float(value)
        return f if not math.isnan(f) else None
    return None if value is None else str(value)


def numeric_column(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(floats, missing, wrong_type)``: values as float64 (NaN where missing or not a number)."""
    if values.dtype.kind in "fiub":
        floats = values.astype(np.float64)
        return floats, np.isnan(floats), np.zeros(len(values), dtype=bool)
    if values.dtype.kind == "O":
        try:  # the common case, an object column holding only numbers, without pandas
            floats = values.astype(np.float64)
        except (TypeError, ValueError):
            pass
        else:
            return floats, np.isnan(floats), np.zeros(len(values), dtype=bool)
    missing = np.asarray(pd.isna(values), dtype=bool)
    floats = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    return floats, missing, np.isnan(floats) & ~missing


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def record_json(df: pd.DataFrame, i: int) -> dict[str, Any]:
    """Row ``i`` of the frame as a JSON-able dict (NaN -> null, other odd values -> str)."""
    return {str(k): _json_value(df[k].iat[i]) for k in df.columns}
