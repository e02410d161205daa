"""The metric protocol shared by every incremental metric, and the helpers they share."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from tidal.base.exceptions import InputError, ParameterError

__all__ = ["Metric"]


class Metric:
    """Base of incremental metrics: cumulative, or over the last ``window`` rows.

    ``update(y_true, y_pred, w)`` adds one row, ``update_many`` a block of rows (exactly as many
    ``update`` calls would), ``get()`` returns the current value. Metrics flagged
    ``requires_proba`` take probabilities instead of labels (see each metric).

    >>> from tidal.metrics import Accuracy
    >>> m = Accuracy(window=2)
    >>> m.update_many([1, 0, 1], [1, 1, 1]).get()
    0.5
    >>> m.name, m.clone().get()
    ('Accuracy[2]', 0.0)
    """

    #: "classification", "binary" or "regression"
    task: ClassVar[str] = "classification"
    #: takes probabilities (binary: P(positive); else a matrix with ``classes`` or dicts)
    requires_proba: ClassVar[bool] = False
    #: whether a larger value is better (for tables and verdicts)
    higher_is_better: ClassVar[bool] = True

    def __init__(self, window: int | None = None) -> None:
        if window is not None and (not isinstance(window, int | np.integer) or window < 1):
            raise ParameterError(f"window == {window!r}, must be None or an integer >= 1")
        self.window = None if window is None else int(window)
        self._reset()

    # subclass hooks -----------------------------------------------------------
    def _reset(self) -> None:
        raise NotImplementedError

    def _update_many(self, y_true: Any, y_pred: Any, w: np.ndarray, classes: Any) -> None:
        raise NotImplementedError

    def get(self) -> float:
        """The current value of the metric."""
        raise NotImplementedError

    # public -------------------------------------------------------------------
    def _params(self) -> dict[str, Any]:
        return {"window": self.window}

    @property
    def name(self) -> str:
        """Display name: the class name, with the window size in brackets when rolling."""
        base = type(self).__name__
        return base if self.window is None else f"{base}[{self.window}]"

    def clone(self) -> Metric:
        """A fresh metric with the same parameters."""
        return type(self)(**self._params())

    def update(self, y_true: Any, y_pred: Any, w: float = 1.0) -> Metric:
        """Add one row. Returns ``self``."""
        return self.update_many([y_true], [y_pred], [w])

    def update_many(self, y_true: Any, y_pred: Any, w: Any = None, classes: Any = None) -> Metric:
        """Add rows in order. ``classes`` names the columns when ``y_pred`` is a probability
        matrix. Returns ``self``."""
        yt = _as_vector(y_true, "y_true", type(self).__name__)
        n = len(yt)
        if self.requires_proba and not isinstance(y_pred, np.ndarray):
            y_pred = _proba_input(y_pred)
        elif not isinstance(y_pred, np.ndarray):
            y_pred = _as_vector(y_pred, "y_pred", type(self).__name__)
        if len(y_pred) != n:
            raise InputError(
                f"{type(self).__name__}: {n} true values but {len(y_pred)} predictions"
            )
        wv = _weights(w, n, type(self).__name__)
        if n:
            self._update_many(yt, y_pred, wv, classes)
        return self

    def __repr__(self) -> str:
        value = self.get()
        return f"{self.name}: {value:.6f}"


class _PositiveLabel:
    """Mixin of the metrics that score one label, ``pos_label``, as the positive class."""

    window: int | None

    def __init__(self, pos_label: Any = True, window: int | None = None) -> None:
        self.pos_label = pos_label
        super().__init__(window)  # type: ignore[call-arg]

    def _params(self) -> dict[str, Any]:
        return {"pos_label": self.pos_label, "window": self.window}


def _as_vector(values: Any, what: str, owner: str) -> np.ndarray:
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    if isinstance(values, np.ndarray):
        arr = values
    else:
        values = list(values)
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
        kinds = {type(v) for v in values}
        if kinds and kinds <= {int, float, bool, np.float64, np.int64}:
            arr = np.asarray(values)
    if arr.ndim != 1:
        raise InputError(f"{owner}: {what} must be 1-D, got shape {arr.shape}")
    return arr


def _proba_input(values: Any) -> Any:
    if hasattr(values, "to_numpy"):
        return values.to_numpy()
    values = list(values)
    if values and isinstance(values[0], dict):
        return values
    return np.asarray(values, dtype=np.float64)


def _weights(w: Any, n: int, owner: str) -> np.ndarray:
    if w is None:
        return np.ones(n, dtype=np.float64)
    if np.ndim(w) == 0:
        return np.full(n, float(w))
    out = np.asarray(w, dtype=np.float64)
    if out.shape != (n,):
        raise InputError(f"{owner}: {out.shape[0]} weights for {n} rows")
    if not np.isfinite(out).all() or (out < 0).any():
        i = int(np.argmax(~np.isfinite(out) | (out < 0)))
        raise InputError(f"{owner}: weight row {i}: expected a finite number >= 0, got {out[i]}")
    return out


class _Ring:
    """A fixed-size ring buffer of parallel float64 columns (the rows of a rolling window)."""

    def __init__(self, size: int, n_columns: int) -> None:
        self.data = np.zeros((n_columns, size), dtype=np.float64)
        self.pos = 0
        self.count = 0

    def push(self, *columns: np.ndarray) -> None:
        size = self.data.shape[1]
        n = len(columns[0])
        if n >= size:  # only the last ``size`` rows survive
            for j, c in enumerate(columns):
                self.data[j] = c[n - size :]
            self.pos, self.count = 0, size
            return
        first = min(n, size - self.pos)
        for j, c in enumerate(columns):
            self.data[j, self.pos : self.pos + first] = c[:first]
            self.data[j, : n - first] = c[first:]
        self.pos = (self.pos + n) % size
        self.count = min(size, self.count + n)

    def columns(self) -> np.ndarray:
        """The window's rows (in no particular order), one row of the result per column."""
        if self.count < self.data.shape[1]:
            return self.data[:, : self.count]
        return self.data


class _Growing:
    """Growable parallel float64 columns (all the rows of a cumulative metric)."""

    def __init__(self, n_columns: int) -> None:
        self.data = np.zeros((n_columns, 1024), dtype=np.float64)
        self.count = 0

    def push(self, *columns: np.ndarray) -> None:
        n = len(columns[0])
        if self.count + n > self.data.shape[1]:
            cap = max(2 * self.data.shape[1], self.count + n)
            grown = np.zeros((self.data.shape[0], cap), dtype=np.float64)
            grown[:, : self.count] = self.data[:, : self.count]
            self.data = grown
        for j, c in enumerate(columns):
            self.data[j, self.count : self.count + n] = c
        self.count += n

    def columns(self) -> np.ndarray:
        return self.data[:, : self.count]
