"""The schema the guards check against: column types, bounds, categories, target domain.

A schema is inferred from a sample (:meth:`Schema.infer`), saved as JSON that a person can edit
(:meth:`Schema.to_json`), and read back with every field checked (:meth:`Schema.from_json`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tidal.base import TidalError
from tidal.guards._columns import as_frame, is_number, label_key

__all__ = ["ColumnSpec", "Schema", "SchemaError", "TargetSpec", "infer_schema_from_path"]

FORMAT_VERSION = 1
_COLUMN_FIELDS = {
    "numeric": {"type", "nullable", "min", "max", "center", "scale"},
    "categorical": {"type", "nullable", "categories"},
}
_TARGET_FIELDS = {
    "classes": {"name", "type", "classes"},
    "numeric": {"name", "type", "min", "max"},
}
_TOP_FIELDS = {"version", "columns", "target", "id_column", "timestamp_column"}


class SchemaError(TidalError, ValueError):
    """A schema that cannot be used: the message names the file (if any) and the field.

    >>> Schema.from_json('{"columns": {"x": {"type": "numeric", "colour": "red"}}}')
    Traceback (most recent call last):
    ...
    tidal.guards._schema.SchemaError: <string>: columns.x.colour: unknown field; known fields: [...]
    """


@dataclass
class ColumnSpec:
    """One feature column.

    ``min``/``max`` are fixed bounds a person sets (None: unbounded); ``center``/``scale`` are the
    robust location and scale the growing bounds start from (numeric only).

    >>> ColumnSpec("price", "numeric", center=0.5, scale=0.1).kind
    'numeric'
    """

    name: str
    kind: str
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    center: float = 0.0
    scale: float = 1.0
    categories: list[Any] = field(default_factory=list)


@dataclass
class TargetSpec:
    """The target's domain: a list of classes, or a numeric range (None = unbounded).

    >>> TargetSpec("y", "classes", classes=[0, 1]).classes
    [0, 1]
    """

    name: str
    kind: str
    classes: list[Any] = field(default_factory=list)
    min: float | None = None
    max: float | None = None


def robust_scale(values: np.ndarray, floor: float) -> float:
    """max(IQR / 1.349, 1.4826 MAD, floor) of the finite values (floor if there are none)."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return floor
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    mad = float(np.median(np.abs(v - med)))
    return float(max((q3 - q1) / 1.349, 1.4826 * mad, floor))


@dataclass
class Schema:
    """Columns (in order), the target, and the optional id and timestamp columns.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "a"], "y": [0, 1, 0, 1]})
    >>> s = Schema.infer(df, target="y")
    >>> [(c.name, c.kind) for c in s.columns], s.target.classes
    ([('x', 'numeric'), ('c', 'categorical')], [0, 1])
    >>> s.column("c").categories
    ['a', 'b']
    >>> Schema.from_json(s.to_json()) == s
    True
    """

    columns: list[ColumnSpec]
    target: TargetSpec | None = None
    id_column: str | None = None
    timestamp_column: str | None = None

    def column(self, name: str) -> ColumnSpec:
        """The spec of column ``name`` (KeyError naming the known columns if there is none)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"no column {name!r} in the schema; columns: {self.names}")

    @property
    def names(self) -> list[str]:
        """Feature column names, in order."""
        return [c.name for c in self.columns]

    # ---------------------------------------------------------------------------- inference
    @classmethod
    def infer(
        cls,
        data: Any,
        target: str | None = None,
        *,
        n_rows: int | None = None,
        id_column: str | None = None,
        timestamp_column: str | None = None,
        categorical: list[str] | None = None,
        max_classes: int = 20,
        scale_floor: float = 0.1,
    ) -> Schema:
        """Infer a schema from a sample: a pandas/polars frame, a Block, a Source or records.

        Numeric columns get the sample's median as ``center`` and a robust scale (IQR / 1.349,
        1.4826 MAD) floored at ``scale_floor * |median|`` (or ``scale_floor`` when the median is
        0), never the sample's min/max: a column that is constant in the sample gets bounds
        that can still move. Categorical columns get their categories, most frequent first.
        A target with at most ``max_classes`` distinct integer (or any non-numeric) values is a
        set of classes, otherwise a numeric range (unbounded unless edited).
        """
        df = as_frame(data)
        if n_rows is not None:
            df = df.iloc[:n_rows]
        if len(df) == 0:
            raise SchemaError("cannot infer a schema from an empty sample")
        special = {target, id_column, timestamp_column} - {None}
        missing = sorted(c for c in special if c not in df.columns)
        if missing:
            raise SchemaError(f"columns {missing} not in the sample; columns: {list(df.columns)}")
        forced = set(categorical or ())
        columns = []
        for name in df.columns:
            if name in special:
                continue
            values = df[name]
            nullable = bool(values.isna().any())
            # a few text cells in a numeric column are bad cells, not categories (the same
            # 90 % rule as the readers': tidal.stream._arrow.ColumnPlan)
            numeric = _as_float(values.to_numpy(), share=0.9)
            if name not in forced and numeric is not None:
                med = float(np.nanmedian(numeric)) if np.isfinite(numeric).any() else 0.0
                floor = scale_floor * abs(med) if med != 0 else scale_floor
                columns.append(
                    ColumnSpec(
                        str(name),
                        "numeric",
                        nullable=nullable,
                        center=med,
                        scale=robust_scale(numeric, floor),
                    )
                )
            else:
                counts = values.dropna().map(_plain).value_counts(sort=True)
                columns.append(
                    ColumnSpec(
                        str(name), "categorical", nullable=nullable, categories=list(counts.index)
                    )
                )
        tspec = None
        if target is not None:
            tspec = _infer_target(target, df[target].dropna().to_numpy(), max_classes)
        return cls(columns, tspec, id_column, timestamp_column)

    # --------------------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """The schema as plain JSON-able data (the format :meth:`from_dict` reads)."""
        cols: dict[str, Any] = {}
        for c in self.columns:
            if c.kind == "numeric":
                cols[c.name] = {
                    "type": "numeric",
                    "nullable": c.nullable,
                    "min": c.min,
                    "max": c.max,
                    "center": c.center,
                    "scale": c.scale,
                }
            else:
                cols[c.name] = {
                    "type": "categorical",
                    "nullable": c.nullable,
                    "categories": c.categories,
                }
        target = None
        if self.target is not None:
            t = self.target
            target = (
                {"name": t.name, "type": "classes", "classes": t.classes}
                if t.kind == "classes"
                else {"name": t.name, "type": "numeric", "min": t.min, "max": t.max}
            )
        return {
            "version": FORMAT_VERSION,
            "columns": cols,
            "target": target,
            "id_column": self.id_column,
            "timestamp_column": self.timestamp_column,
        }

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The schema as indented JSON; also written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=2, default=_plain) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, source: str | os.PathLike) -> Schema:
        """Read a schema from a JSON file path or a JSON string, checking every field."""
        where = "<string>"
        text = str(source)
        if isinstance(source, os.PathLike) or not text.lstrip().startswith("{"):
            where = os.fspath(source)
            try:
                text = Path(where).read_text(encoding="utf-8")
            except OSError as exc:
                raise SchemaError(f"{where}: cannot read the schema: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaError(
                f"{where}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        return cls.from_dict(data, where=where)

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "<dict>") -> Schema:
        """Build a schema from :meth:`to_dict` data; errors name ``where`` and the field."""
        _expect(isinstance(data, dict), where, "(top level)", "an object", data)
        _no_unknown(data, _TOP_FIELDS, where, "")
        if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            raise SchemaError(
                f"{where}: version: expected {FORMAT_VERSION}, got {data['version']!r}"
            )
        cols = data.get("columns")
        _expect(isinstance(cols, dict) and cols, where, "columns", "a non-empty object", cols)
        columns = [_column_from_dict(name, spec, where) for name, spec in cols.items()]
        target = None
        if data.get("target") is not None:
            target = _target_from_dict(data["target"], where)
        id_col = data.get("id_column")
        ts_col = data.get("timestamp_column")
        for key, val in (("id_column", id_col), ("timestamp_column", ts_col)):
            _expect(val is None or isinstance(val, str), where, key, "a column name or null", val)
        names = [c.name for c in columns]
        for key, val in (("target.name", target and target.name), ("id_column", id_col)):
            if val is not None and val in names:
                raise SchemaError(f"{where}: {key}: {val!r} is also a feature column")
        return cls(columns, target, id_col, ts_col)


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars (JSON-able, and equal keys for equal values)."""
    return value.item() if isinstance(value, np.generic) else value


def _as_float(values: np.ndarray, share: float = 1.0) -> np.ndarray | None:
    """The column as float64 (NaN for the cells that are not numbers) if at least ``share`` of
    its non-missing values are numbers, else None."""
    if values.dtype.kind in "fiub":
        return values.astype(np.float64)
    out = np.full(len(values), np.nan)
    present = wrong = 0
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        present += 1
        if not is_number(v):
            wrong += 1
            if wrong > (1.0 - share) * len(values):
                return None
            continue
        out[i] = float(v)
    return out if present and present - wrong >= share * present else None


def _infer_target(name: str, values: np.ndarray, max_classes: int) -> TargetSpec:
    numeric = _as_float(values)
    if numeric is not None:
        distinct = np.unique(numeric[np.isfinite(numeric)])
        if len(distinct) <= max_classes and np.all(distinct == np.round(distinct)):
            ints = values.dtype.kind in "iub" or all(float(v).is_integer() for v in distinct)
            classes = [int(v) if ints else float(v) for v in distinct]
            return TargetSpec(name, "classes", classes=classes)
        return TargetSpec(name, "numeric")
    uniq: dict[Any, Any] = {}
    for v in values:
        uniq.setdefault(label_key(v), _plain(v))
    return TargetSpec(name, "classes", classes=sorted(uniq.values(), key=str))


def _expect(ok: bool, where: str, fld: str, expected: str, got: Any) -> None:
    if not ok:
        raise SchemaError(f"{where}: {fld}: expected {expected}, got {got!r}")


def _no_unknown(data: dict, known: set[str], where: str, prefix: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise SchemaError(
            f"{where}: {prefix}{unknown[0]}: unknown field; known fields: {sorted(known)}"
        )


def _number(value: Any, where: str, fld: str, *, positive: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    _expect(
        ok and (not positive or value > 0),
        where,
        fld,
        "a finite number" + (" > 0" if positive else ""),
        value,
    )
    return float(value)


def _bound(spec: dict, key: str, where: str, fld: str) -> float | None:
    value = spec.get(key)
    return None if value is None else _number(value, where, f"{fld}.{key}")


def _column_from_dict(name: str, spec: Any, where: str) -> ColumnSpec:
    fld = f"columns.{name}"
    _expect(isinstance(spec, dict), where, fld, "an object", spec)
    kind = spec.get("type")
    _expect(kind in _COLUMN_FIELDS, where, f"{fld}.type", "'numeric' or 'categorical'", kind)
    _no_unknown(spec, _COLUMN_FIELDS[kind], where, f"{fld}.")
    nullable = spec.get("nullable", False)
    _expect(isinstance(nullable, bool), where, f"{fld}.nullable", "true or false", nullable)
    if kind == "categorical":
        cats = spec.get("categories")
        _expect(
            isinstance(cats, list) and len(cats) > 0,
            where,
            f"{fld}.categories",
            "a non-empty list",
            cats,
        )
        return ColumnSpec(name, kind, nullable=nullable, categories=list(cats))
    lo, hi = _bound(spec, "min", where, fld), _bound(spec, "max", where, fld)
    if lo is not None and hi is not None and lo > hi:
        raise SchemaError(f"{where}: {fld}: min == {lo} > max == {hi}: impossible bounds")
    center = _number(spec.get("center", 0.0), where, f"{fld}.center")
    scale = _number(spec.get("scale", 1.0), where, f"{fld}.scale", positive=True)
    return ColumnSpec(name, kind, nullable=nullable, min=lo, max=hi, center=center, scale=scale)


def _target_from_dict(spec: Any, where: str) -> TargetSpec:
    _expect(isinstance(spec, dict), where, "target", "an object or null", spec)
    kind = spec.get("type")
    _expect(kind in _TARGET_FIELDS, where, "target.type", "'classes' or 'numeric'", kind)
    _no_unknown(spec, _TARGET_FIELDS[kind], where, "target.")
    name = spec.get("name")
    _expect(isinstance(name, str) and name != "", where, "target.name", "a column name", name)
    if kind == "classes":
        classes = spec.get("classes")
        _expect(
            isinstance(classes, list) and len(classes) > 0,
            where,
            "target.classes",
            "a non-empty list",
            classes,
        )
        return TargetSpec(name, kind, classes=list(classes))
    lo, hi = _bound(spec, "min", where, "target"), _bound(spec, "max", where, "target")
    if lo is not None and hi is not None and lo > hi:
        raise SchemaError(f"{where}: target: min == {lo} > max == {hi}: impossible bounds")
    return TargetSpec(name, kind, min=lo, max=hi)


def infer_schema_from_path(
    path: str | os.PathLike,
    target: str | None = None,
    *,
    n_rows: int | None = 10_000,
    id_column: str | None = None,
    timestamp_column: str | None = None,
    categorical: list[str] | None = None,
) -> Schema:
    """Infer a schema from the first ``n_rows`` of a CSV (optionally .gz), Parquet or JSONL file.

    What ``tidal schema infer data.csv > schema.json`` calls (then ``.to_json()``).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("x,c,y\\n1.5,a,0\\n2.5,b,1\\n")
    >>> infer_schema_from_path(p, target="y").names
    ['x', 'c']
    """
    import pandas as pd

    name = os.fspath(path)
    if not Path(name).is_file():
        raise FileNotFoundError(f"{name}: no such file")
    lower = name.lower()
    if lower.endswith((".parquet", ".pq")):
        df = pd.read_parquet(name)
    elif lower.endswith((".jsonl", ".ndjson", ".jsonl.gz")):
        df = pd.read_json(name, lines=True, nrows=n_rows)
    else:
        df = pd.read_csv(name, nrows=n_rows)
    return Schema.infer(
        df,
        target,
        n_rows=n_rows,
        id_column=id_column,
        timestamp_column=timestamp_column,
        categorical=categorical,
    )
