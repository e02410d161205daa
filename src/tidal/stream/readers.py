"""Read CSV, Parquet and JSON-lines files as re-iterable Sources, streaming with pyarrow.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
>>> _ = path.write_text("a,colour,y\\n1.5,red,0\\n2.5,blue,1\\n0.5,red,1\\n")
>>> src = read_csv(path, target="y")
>>> src.feature_names, src.task
(('a', 'colour'), 'binary')
>>> block = next(iter(src))
>>> block.X.tolist(), block.categories
([[1.5, 0.0], [2.5, 1.0], [0.5, 0.0]], {'colour': ['red', 'blue']})
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from tidal.base import InputError
from tidal.stream._arrow import ColumnPlan
from tidal.stream._source import Source

__all__ = ["read_csv", "read_parquet", "read_jsonl"]

PathLike = str | os.PathLike


def _open(path: Any) -> pa.NativeFile:
    """A pyarrow input stream; ``.gz`` files are decompressed on the fly."""
    if isinstance(path, str | os.PathLike):
        return pa.input_stream(os.fspath(path), compression="detect")
    # an importlib.resources Traversable that is not a plain file (a zipped install)
    data = pa.py_buffer(path.read_bytes())
    return pa.input_stream(data, compression="gzip" if path.name.endswith(".gz") else None)


def _open_text(path: Any) -> io.TextIOBase:
    raw = open(path, "rb") if isinstance(path, str | os.PathLike) else path.open("rb")  # noqa: SIM115
    if str(getattr(path, "name", path)).endswith(".gz"):
        raw = gzip.open(raw)
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def _check_names(names: Sequence[str], name: str) -> None:
    """Column names must be unique and non-empty: a row is read by name, so a duplicate or a
    blank would silently pick one column or fail deep inside pyarrow."""
    seen: dict[str, int] = {}
    for i, col in enumerate(names):
        if not str(col).strip():
            raise InputError(
                f"{name}: column {i + 1} of the header has no name: give every column a "
                f"unique, non-empty name (the header is {list(names)})",
                column=str(col),
            )
        if col in seen:
            raise InputError(
                f"{name}: columns {seen[col] + 1} and {i + 1} of the header are both named "
                f"{col!r}: column names must be unique",
                column=str(col),
            )
        seen[col] = i


def _start(
    path: Any, target: Any, id_column: Any, time_column: Any, categorical: Any
) -> tuple[str, dict[str, Any]]:
    """What every reader does first: refuse a missing file, then ``(name, roles)``: the name
    its errors quote, and the columns' roles for its :class:`ColumnPlan`."""
    if isinstance(path, str | os.PathLike) and not Path(path).is_file():
        raise FileNotFoundError(f"{os.fspath(path)}: no such file")
    name = os.fspath(path) if isinstance(path, str | os.PathLike) else str(path)
    roles = {
        "target": target,
        "id_column": id_column,
        "time_column": time_column,
        "categorical": categorical,
    }
    return name, roles


def read_csv(
    path: PathLike,
    *,
    target: str | None,
    id_column: str | None = None,
    time_column: str | None = None,
    categorical: Sequence[str] | None = None,
    block_size: int = 4096,
    numeric: Sequence[str] | None = None,
    keep_bad: bool = False,
) -> Source:
    """A CSV file (optionally gzipped) as a Source; non-numeric columns are categorical.

    Types are decided on the whole first block (about a megabyte) and then fixed: a column
    whose cells there are at least 90 % numbers is numeric (``numeric`` / ``categorical`` force
    a type, e.g. from a guard's schema). A non-number in a numeric column, early or late, raises
    an :class:`~tidal.base.InputError` naming the file, the column and the row (0-based data
    row; the file line is row + 2), or with ``keep_bad=True`` is kept in ``Block.bad`` for the
    guards to quarantine (see :class:`~tidal.stream._arrow.ColumnPlan`).
    """
    name, roles = _start(path, target, id_column, time_column, categorical)
    roles.update(numeric=numeric, keep_bad=keep_bad)
    parse = pacsv.ParseOptions()

    def reader(convert: pacsv.ConvertOptions) -> pacsv.CSVStreamingReader:
        return pacsv.open_csv(_open(path), parse_options=parse, convert_options=convert)

    try:
        probe = reader(pacsv.ConvertOptions(strings_can_be_null=True))
        schema = probe.schema
        first = next((batch for batch in probe if batch.num_rows), None)
        has_rows = first is not None
    except pa.ArrowInvalid as exc:
        if "Empty CSV" in str(exc):
            raise InputError(f"{name}: empty file: expected a header line and data rows") from None
        raise _diagnose_csv(path, name, None, exc) from None
    if not has_rows:
        raise InputError(f"{name}: no data rows after the header", row=0)
    _check_names(schema.names, name)
    plan = ColumnPlan(schema, name=name, first=first, **roles)
    convert = pacsv.ConvertOptions(column_types=plan.column_types(), strings_can_be_null=True)

    def batches(columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        options = convert
        if columns is not None:
            types = {c: t for c, t in plan.column_types().items() if c in columns}
            options = pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=True, include_columns=columns
            )
        stream = reader(options)
        while True:
            try:
                batch = stream.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise _diagnose_csv(path, name, plan, exc) from None
            yield batch

    source = plan.source(batches, block_size)
    if target is not None:
        # the task and the row count read the target column alone: no feature is converted
        source._targets = lambda: (
            ColumnPlan._plain(b, target) for b in batches([target]) if b.num_rows
        )
    return source


def _diagnose_csv(path: Any, name: str, plan: ColumnPlan | None, exc: Exception) -> InputError:
    """Find the row pyarrow choked on (it does not report rows) with the slow csv module."""
    with _open_text(path) as fh:
        rows = csv.reader(fh)
        header = next(rows, [])
        numeric = set()
        if plan is not None:
            numeric = {c for c in header if c in plan.feature_names and c not in plan.categorical}
        for i, row in enumerate(rows):
            if len(row) != len(header):
                return InputError(
                    f"{name}: row {i} (line {i + 2}) has {len(row)} fields, the header has "
                    f"{len(header)}",
                    row=i,
                )
            for col, value in zip(header, row):
                if col in numeric and value.strip() and not _is_number(value):
                    return InputError(
                        f"{name}: column {col!r} row {i} (line {i + 2}): expected a number, "
                        f"got {value!r} (pass categorical=[{col!r}] to read it as a category)",
                        column=col,
                        row=i,
                    )
    return InputError(f"{name}: cannot read CSV: {exc}")


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return value.strip().lower() in {"na", "nan", "null", "n/a", "-nan", "none"}
    return True


def read_parquet(
    path: PathLike,
    *,
    target: str | None,
    id_column: str | None = None,
    time_column: str | None = None,
    categorical: Sequence[str] | None = None,
    block_size: int = 4096,
) -> Source:
    """A Parquet file as a Source, read batch by batch (row order preserved).

    >>> import tempfile, pathlib, pandas as pd
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.parquet"
    >>> pd.DataFrame({"a": [1.0, 2.0], "y": [0, 1]}).to_parquet(path)
    >>> read_parquet(path, target="y").arrays()[0].tolist()
    [[1.0], [2.0]]
    """
    import pyarrow.parquet as pq

    name, roles = _start(path, target, id_column, time_column, categorical)
    try:
        meta = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{name}: not a readable Parquet file ({exc})") from None
    if meta.metadata.num_rows == 0:
        raise InputError(f"{name}: empty file: no rows", row=0)
    _check_names(meta.schema_arrow.names, name)
    plan = ColumnPlan(meta.schema_arrow, name=name, **roles)

    def batches() -> Iterator[pa.RecordBatch]:
        return pq.ParquetFile(path).iter_batches(batch_size=block_size)

    return plan.source(batches, block_size)


def read_jsonl(
    path: PathLike,
    *,
    target: str | None,
    id_column: str | None = None,
    time_column: str | None = None,
    categorical: Sequence[str] | None = None,
    block_size: int = 4096,
) -> Source:
    """A JSON-lines file (one object per line, all with the same keys) as a Source.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.jsonl"
    >>> _ = path.write_text('{"a": 1, "y": "up"}\\n{"a": 2, "y": "down"}\\n')
    >>> list(read_jsonl(path, target="y").rows())
    [({'a': 1.0}, 'up'), ({'a': 2.0}, 'down')]
    """
    name, roles = _start(path, target, id_column, time_column, categorical)
    first = next(_json_chunks(path, name, block_size), None)
    if first is None:
        raise InputError(f"{name}: empty file: expected one JSON object per line", row=0)
    _check_names(list(first[1][0]), name)
    plan = ColumnPlan(pa.Table.from_pylist(first[1]).schema, name=name, **roles)
    types = plan.column_types()
    schema = pa.schema([(c, types.get(c, pa.null())) for c in plan.schema.names])

    def batches() -> Iterator[pa.Table]:
        for start, rows in _json_chunks(path, name, block_size):
            try:
                yield pa.Table.from_pylist(rows, schema=schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                raise _diagnose_json(rows, start, name, plan) from None

    return plan.source(batches, block_size)


def _json_chunks(path: Any, name: str, size: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    keys: list[str] | None = None
    rows: list[dict[str, Any]] = []
    row = 0
    with _open_text(path) as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{name}: row {row} (line {line_no}): invalid JSON: {exc}", row=row
                ) from None
            if not isinstance(obj, dict):
                raise InputError(
                    f"{name}: row {row} (line {line_no}): expected a JSON object, got "
                    f"{type(obj).__name__}",
                    row=row,
                )
            if keys is None:
                keys = list(obj)
            elif obj.keys() != set(keys):
                raise _ragged(name, row, line_no, keys, obj)
            rows.append(obj)
            row += 1
            if len(rows) == size:
                yield row - len(rows), rows
                rows = []
    if rows:
        yield row - len(rows), rows


def _ragged(name: str, row: int, line_no: int, keys: list[str], obj: dict) -> InputError:
    missing = [k for k in keys if k not in obj]
    extra = [k for k in obj if k not in keys]
    what = f"missing column {missing[0]!r}" if missing else f"unexpected column {extra[0]!r}"
    return InputError(
        f"{name}: row {row} (line {line_no}): {what}; every row must have the keys of row 0 {keys}",
        column=(missing or extra)[0],
        row=row,
    )


def _diagnose_json(
    rows: list[dict[str, Any]], start: int, name: str, plan: ColumnPlan
) -> InputError:
    for i, obj in enumerate(rows):
        for col, value in obj.items():
            numeric = col in plan.feature_names and col not in plan.categorical
            if numeric and value is not None and not isinstance(value, int | float):
                return InputError(
                    f"{name}: column {col!r} row {start + i}: expected a number, got {value!r}",
                    column=col,
                    row=start + i,
                )
    kinds = {c: str(plan.schema.field(c).type) for c in plan.schema.names}
    return InputError(f"{name}: rows {start}..{start + len(rows)}: values do not fit types {kinds}")
