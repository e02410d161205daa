"""Arrow record batches -> Blocks, with category codes that stay stable across batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tidal.base import InputError
from tidal.stream._block import Block
from tidal.stream._source import Source

__all__ = ["ColumnPlan", "is_numeric_type"]


def is_numeric_type(t: pa.DataType) -> bool:
    """Types read as float64 features (null: a column with no value yet, read as NaN)."""
    return (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_decimal(t)
        or pa.types.is_null(t)
    )


class ColumnPlan:
    """Which column is the target, the id, the time, and which features are categorical.

    Built once from the schema of a source (validating every named column) and then applied
    to each record batch by :meth:`blocks`.

    Types are decided, not guessed from one cell: a column named in ``numeric`` (a guard's
    schema) is numeric, one named in ``categorical`` is categorical; any other column the
    reader typed as text is numeric when at least 90 % of its non-empty cells in ``first`` (the
    whole first block) read as numbers. A numeric column's cells that are not numbers are
    "bad cells": with ``keep_bad`` they become NaN and are kept in ``Block.bad`` for the guards
    (which quarantine their rows with the original text); without, reading stops with an error
    naming the row and the column.

    >>> import pyarrow as pa
    >>> first = pa.table({"a": ["1.5", "2.5", "oops"] + ["4"] * 17, "y": [0, 1] * 10})
    >>> plan = ColumnPlan(first.schema, name="s.csv", target="y", first=first)
    >>> sorted(plan.categorical), plan.text_numeric
    ([], frozenset({'a'}))
    >>> next(plan.blocks([first]))
    Traceback (most recent call last):
    ...
    tidal.base.exceptions.InputError: s.csv: column 'a' row 2: expected a number, got 'oops' ...
    >>> plan.keep_bad = True
    >>> block = next(plan.blocks([first]))
    >>> block.X[:3, 0].tolist(), block.bad[2]
    ([1.5, 2.5, nan], {'a': 'oops'})
    """

    def __init__(
        self,
        schema: pa.Schema,
        *,
        name: str,
        target: str | None,
        id_column: str | None = None,
        time_column: str | None = None,
        categorical: Sequence[str] | None = None,
        numeric: Sequence[str] | None = None,
        first: pa.RecordBatch | pa.Table | None = None,
        keep_bad: bool = False,
    ):
        columns = list(schema.names)
        for role, col in (("target", target), ("id", id_column), ("time", time_column)):
            if col is not None and col not in columns:
                raise InputError(
                    f"{name}: {role} column {col!r} not found; the columns are {columns}",
                    column=col,
                )
        special = {target, id_column, time_column} - {None}
        self.name = name
        self.target = target
        self.id_column = id_column
        self.time_column = time_column
        self.feature_names = tuple(c for c in columns if c not in special)
        forced = set(categorical or ())
        unknown = sorted(forced - set(self.feature_names))
        if unknown:
            raise InputError(
                f"{name}: categorical column {unknown[0]!r} is not a feature column; the "
                f"features are {list(self.feature_names)}",
                column=unknown[0],
            )
        numbers = {c for c in numeric or () if c in self.feature_names} - forced
        text = {c for c in self.feature_names if not is_numeric_type(schema.field(c).type)}
        for c in sorted(text - forced - numbers):
            if first is not None and _mostly_numbers(_array(first, c)):
                numbers.add(c)
        #: numeric columns the reader typed as text: read as text, cast cell by cell
        self.text_numeric = frozenset(text & numbers)
        self.categorical = frozenset(c for c in self.feature_names if c in forced) | (
            frozenset(text) - numbers
        )
        self.keep_bad = keep_bad
        self.schema = schema

    def column_types(self) -> dict[str, pa.DataType]:
        """Types to read each column with, so a later batch cannot change the inference."""
        types: dict[str, pa.DataType] = {}
        for field in self.schema:
            if field.name in self.categorical:
                is_text = not is_numeric_type(field.type) and not pa.types.is_dictionary(field.type)
                types[field.name] = pa.string() if is_text else field.type
            elif field.name in self.text_numeric or (
                self.keep_bad and field.name in self.feature_names
            ):
                types[field.name] = pa.string()  # cast cell by cell: a bad cell stays a cell
            elif field.name in self.feature_names:
                types[field.name] = pa.float64()
            elif not pa.types.is_null(field.type):
                types[field.name] = field.type
        return types

    def source(self, batches: Callable[[], Iterable[Any]], block_size: int) -> Source:
        """A re-iterable Source: each iteration calls ``batches()`` and converts them."""
        return Source(
            lambda: self.blocks(batches()),
            feature_names=self.feature_names,
            target=self.target,
            block_size=block_size,
            name=self.name,
        )

    def blocks(self, batches: Iterable[pa.RecordBatch | pa.Table]) -> Iterator[Block]:
        """Convert batches in order; each iteration starts the category codes afresh."""
        tables: dict[str, dict[Any, int]] = {c: {} for c in self.categorical}
        values: dict[str, list[Any]] = {c: [] for c in self.categorical}
        start = 0
        for batch in batches:
            n = batch.num_rows
            if n == 0:
                continue
            X = np.empty((n, len(self.feature_names)), dtype=np.float64)
            bad: dict[int, dict[str, Any]] = {}
            for j, col in enumerate(self.feature_names):
                arr = _array(batch, col)
                if col in tables:
                    X[:, j] = _encode(arr, tables[col], values[col])
                elif pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
                    X[:, j] = _text_floats(arr, self.name, col, start, bad, self.keep_bad)
                else:
                    X[:, j] = _floats(arr, self.name, col, start)
            yield Block(
                X,
                self.feature_names,
                categories={c: list(v) for c, v in values.items()},
                y=self._plain(batch, self.target),
                ids=self._plain(batch, self.id_column),
                timestamps=self._plain(batch, self.time_column),
                start=start,
                target=self.target,
                bad=bad,
            )
            start += n

    @staticmethod
    def _plain(batch: pa.RecordBatch | pa.Table, col: str | None) -> np.ndarray | None:
        if col is None:
            return None
        arr = _array(batch, col)
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        return arr.to_numpy(zero_copy_only=False)


def _array(batch: pa.RecordBatch | pa.Table, col: str) -> pa.Array:
    arr = batch.column(col)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def _floats(arr: pa.Array, name: str, col: str, start: int) -> np.ndarray:
    try:
        return arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    # find the first offending value to name its row
    for i, v in enumerate(arr.to_pylist()):
        try:
            float(v if v is not None else "nan")
        except (TypeError, ValueError):
            raise InputError(
                f"{name}: column {col!r} row {start + i}: expected a number, got {v!r}",
                column=col,
                row=start + i,
            ) from None
    raise InputError(f"{name}: column {col!r}: cannot read {arr.type} as numbers", column=col)


_NAN_TEXT = frozenset({"", "na", "nan", "null", "n/a", "-nan", "none"})


def _number(v: Any) -> float | None:
    """The cell as a float (NaN for the usual spellings of missing), None if it is not one."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan") if str(v).strip().lower() in _NAN_TEXT else None


def _mostly_numbers(arr: pa.Array, share: float = 0.9) -> bool:
    cells = [v for v in arr.drop_null().to_pylist() if str(v).strip()]
    if not cells:
        return False
    return sum(_number(v) is not None for v in cells) >= share * len(cells)


def _text_floats(
    arr: pa.Array, name: str, col: str, start: int, bad: dict[int, dict[str, Any]], keep: bool
) -> np.ndarray:
    """A numeric column read as text: floats, NaN for missing and for bad cells (kept in
    ``bad`` if ``keep``, else an InputError naming the first one's row and column)."""
    try:
        return arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    out = np.empty(len(arr))
    for i, v in enumerate(arr.to_pylist()):
        f = float("nan") if v is None else _number(v)
        if f is None:
            if not keep:
                raise InputError(
                    f"{name}: column {col!r} row {start + i}: expected a number, got {v!r} "
                    f"(guard the stream with a schema to quarantine such rows, or pass "
                    f"categorical=[{col!r}] to read the column as categories)",
                    column=col,
                    row=start + i,
                )
            bad.setdefault(i, {})[col] = v
            f = float("nan")
        out[i] = f
    return out


def _encode(arr: pa.Array, table: dict[Any, int], values: list[Any]) -> np.ndarray:
    """Codes in order of first appearance, growing ``table``/``values`` in place; null -> NaN."""
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    dictionary = arr.dictionary.to_pylist()
    missing = len(dictionary)
    idx = arr.indices.fill_null(missing).to_numpy(zero_copy_only=False).astype(np.intp)
    present, first = np.unique(idx, return_index=True)
    mapping = np.full(missing + 1, np.nan)
    for k in present[np.argsort(first)]:
        if k == missing:
            continue
        v = dictionary[k]
        code = table.get(v)
        if code is None:
            code = table[v] = len(values)
            values.append(v)
        mapping[k] = code
    return mapping[idx]
