"""Turn what users pass (dicts, frames, arrays, blocks) into the float64 matrix kernels need.

All the checks that make a call atomic live here: a bad value anywhere in the input raises an
:class:`~tidal.base.InputError` naming the column and the row *before* any state changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tidal.base.exceptions import InputError, SchemaMismatchError

__all__ = [
    "Rows",
    "Columns",
    "read_columns",
    "CategoryEncoder",
    "check_finite",
    "as_array",
    "as_float_vector",
]

#: the rows a learner's ``_step_arrays`` predicts or learns: a (rows, features) float64 matrix, or
#: None when that side of the step is skipped (and the optional weights vector)
Rows = np.ndarray | None


class Columns:
    """Named columns of equal length: the neutral form of any tabular input.

    ``matrix`` is set when the input was already a numeric 2-D array (the fast path).
    """

    __slots__ = ("names", "data", "matrix", "n_rows", "named")

    def __init__(
        self,
        names: Sequence[str],
        data: list[np.ndarray] | None,
        matrix: np.ndarray | None,
        n_rows: int,
        named: bool = True,
    ):
        self.names = tuple(names)
        self.data = data
        self.matrix = matrix
        self.n_rows = n_rows
        self.named = named

    def column(self, j: int) -> np.ndarray:
        if self.data is not None:
            return self.data[j]
        assert self.matrix is not None
        return self.matrix[:, j]


_SCALARS = frozenset({float, int, str, bool, type(None)})


def _is_scalar(v: Any) -> bool:
    return type(v) in _SCALARS or np.ndim(v) == 0


def read_columns(X: Any) -> Columns:
    """Read any supported tabular input into :class:`Columns`.

    Supported: a dict (one row, or column name -> array), a list of dicts, a 2-D numpy array,
    a pandas or polars DataFrame, a pyarrow Table, and a :class:`tidal.stream.Block`.

    >>> c = read_columns({"a": 1.0, "b": 2.0})
    >>> c.names, c.n_rows
    (('a', 'b'), 1)
    >>> read_columns(np.zeros((3, 2))).names
    ('x0', 'x1')
    """
    # Block (duck-typed to keep base free of stream imports)
    if hasattr(X, "feature_names") and hasattr(X, "features"):
        return read_columns(X.features())
    if isinstance(X, np.ndarray):
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.ndim != 2:
            raise InputError(f"expected a 2-D array of shape (rows, features), got {X.ndim}-D")
        names = [f"x{j}" for j in range(X.shape[1])]
        if X.dtype.kind in "fiub":
            return Columns(names, None, X, X.shape[0], named=False)
        return Columns(names, [X[:, j] for j in range(X.shape[1])], None, X.shape[0], False)
    if isinstance(X, Mapping):
        if all(_is_scalar(v) for v in X.values()):
            names = [str(k) for k in X]
            data = [np.array([v]) if v is not None else np.array([np.nan]) for v in X.values()]
            return Columns(names, data, None, 1)
        data = [_column(v) for v in X.values()]
        lengths = {len(d) for d in data}
        if len(lengths) > 1:
            raise InputError(f"columns have different lengths: {sorted(lengths)}")
        return Columns([str(k) for k in X], data, None, lengths.pop() if lengths else 0)
    module = type(X).__module__.split(".")[0]
    if module == "pandas":
        import pandas as pd

        if isinstance(X, pd.Series):
            X = X.to_frame().T
        names = [str(c) for c in X.columns]
        data = [_pandas_column(X.iloc[:, j]) for j in range(X.shape[1])]
        return Columns(names, data, None, len(X))
    if module == "polars":
        names = list(X.columns)
        data = [X.get_column(c).to_numpy() for c in names]
        return Columns(names, data, None, X.height)
    if module == "pyarrow":
        names = list(X.column_names)
        data = [X.column(c).to_numpy(zero_copy_only=False) for c in names]
        return Columns(names, data, None, X.num_rows)
    if isinstance(X, Sequence) and not isinstance(X, str | bytes):
        if len(X) == 0:
            raise InputError("empty input: expected at least one row")
        if isinstance(X[0], Mapping):
            names = [str(k) for k in X[0]]
            for i, row in enumerate(X):
                if len(row) != len(names) or any(k not in row for k in names):
                    got = sorted(map(str, row))
                    raise SchemaMismatchError(
                        f"row {i} has features {got}, row 0 has {sorted(names)}", row=i
                    )
            data = [_column([row[k] for row in X]) for k in names]
            return Columns(names, data, None, len(X))
        return read_columns(np.asarray(X))
    raise InputError(
        f"unsupported input type {type(X).__name__}: expected a dict, a list of dicts, a 2-D "
        "numpy array, a pandas/polars DataFrame, a pyarrow Table or a tidal Block"
    )


def _column(values: Any) -> np.ndarray:
    """One column as an array; values of mixed kinds stay objects, so that an error names the
    value that is not a number (numpy would turn ``[1.0, "a"]`` into the strings ``"1.0", "a"``)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "US" and not isinstance(values, np.ndarray):
        if not all(isinstance(v, str | bytes) for v in values):
            arr = np.empty(len(values), dtype=object)
            arr[:] = list(values)
    return arr


def _pandas_column(s: Any) -> np.ndarray:
    if str(s.dtype) == "category":
        return s.astype(object).to_numpy()
    if s.dtype.kind in "fiub":
        return s.to_numpy()
    # nullable extension dtypes (Int64, Float64, boolean) -> float with NaN for NA
    try:
        return s.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError):
        return s.to_numpy(dtype=object)


class CategoryEncoder:
    """Encodes the values of categorical columns as float codes 0, 1, 2... in order of appearance.

    >>> enc = CategoryEncoder()
    >>> enc.encode("colour", np.array(["red", "blue", "red"], dtype=object), learn=True)
    array([0., 1., 0.])
    >>> enc.encode("colour", np.array(["green"], dtype=object), learn=False)
    array([-1.])
    """

    def __init__(self) -> None:
        self.codes: dict[str, dict[Any, int]] = {}

    def encode(self, name: str, values: np.ndarray, learn: bool) -> np.ndarray:
        table = self.codes.setdefault(name, {})
        out = np.empty(len(values), dtype=np.float64)
        for i, v in enumerate(values):
            if v is None or (isinstance(v, float) and v != v):
                out[i] = np.nan
                continue
            code = table.get(v)
            if code is None:
                if learn:
                    code = table[v] = len(table)
                else:
                    code = -1  # unseen at prediction time: routed as "other" by the learner
            out[i] = code
        return out

    def mark(self) -> dict[str, int]:
        """The current size of each table, for :meth:`rollback` (cheap: one int per column)."""
        return {k: len(t) for k, t in self.codes.items()}

    def rollback(self, mark: dict[str, int]) -> None:
        """Forget the categories registered since :meth:`mark` (codes are insertion-ordered).

        >>> enc = CategoryEncoder()
        >>> _ = enc.encode("c", np.array(["a"], dtype=object), learn=True)
        >>> m = enc.mark()
        >>> _ = enc.encode("c", np.array(["b"], dtype=object), learn=True)
        >>> enc.rollback(m); enc.to_json()
        {'c': ['a']}
        """
        for name in list(self.codes):
            if name not in mark:
                del self.codes[name]
                continue
            table = self.codes[name]
            for v in [v for v, code in table.items() if code >= mark[name]]:
                del table[v]

    def to_json(self) -> dict[str, list[Any]]:
        return {k: [_jsonable(v) for v in t] for k, t in self.codes.items()}

    @classmethod
    def from_json(cls, data: dict[str, list[Any]]) -> CategoryEncoder:
        enc = cls()
        enc.codes = {k: {v: i for i, v in enumerate(vals)} for k, vals in data.items()}
        return enc


def _jsonable(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def to_float(values: np.ndarray, name: str, owner: str) -> np.ndarray:
    """Convert one column to float64, naming the first value that is not a number."""
    if values.dtype.kind in "fiub":
        return values.astype(np.float64, copy=False)
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        if v is None:
            out[i] = np.nan
            continue
        try:
            if isinstance(v, str | bytes):
                raise TypeError
            out[i] = float(v)
        except (TypeError, ValueError):
            v = _jsonable(v)  # show '3', not np.str_('3')
            raise InputError(
                f"{owner}: column {name!r} row {i}: expected a number, got {v!r} "
                f"({type(v).__name__}); encode categorical columns first (for example with "
                "tidal.preprocessing.OneHotEncoder)",
                column=name,
                row=i,
            ) from None
    return out


def check_finite(M: np.ndarray, names: Sequence[str], owner: str, allow_nan: bool) -> None:
    """Raise an InputError naming the first non-finite cell (row and column)."""
    if M.size == 0:
        return
    # a NaN or an infinity anywhere makes the sum non-finite: one cheap pass for the usual
    # all-finite case (an overflowing sum only sends it to the exact check below)
    if np.isfinite(M.sum()):
        return
    ok = np.isfinite(M)
    if ok.all():
        return
    if allow_nan:
        ok |= np.isnan(M)
        if ok.all():
            return
    rows, cols = np.nonzero(~ok)
    order = np.lexsort((cols, rows))
    i, j = int(rows[order[0]]), int(cols[order[0]])
    what = "NaN" if np.isnan(M[i, j]) else repr(float(M[i, j]))
    hint = "" if allow_nan else " (this learner does not handle missing values: impute first)"
    raise InputError(
        f"{owner}: column {names[j]!r} row {i}: expected a finite number, got {what}{hint}",
        column=names[j],
        row=i,
    )


def as_array(y: Any) -> np.ndarray:
    """Labels, targets or weights as a numpy array (pandas, polars and pyarrow included).

    >>> import pyarrow as pa
    >>> as_array(pa.array(["a", None])).tolist()
    ['a', None]
    """
    if type(y).__module__.split(".")[0] == "pyarrow":
        return np.asarray(y.to_numpy(zero_copy_only=False))  # strings and nulls need a copy
    return np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)


def as_float_vector(y: Any, name: str, owner: str, n: int | None = None) -> np.ndarray:
    """A finite float64 vector (regression targets, sample weights)."""
    arr = as_array(y)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InputError(f"{owner}: {name} must be 1-D, got shape {arr.shape}")
    if n is not None and len(arr) != n:
        raise InputError(f"{owner}: {name} has {len(arr)} values for {n} rows")
    out = to_float(arr, name, owner)
    bad = ~np.isfinite(out)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(
            f"{owner}: {name} row {i}: expected a finite number, got {out[i]!r}", column=name, row=i
        )
    return out
