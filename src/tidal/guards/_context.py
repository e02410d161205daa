"""One block on its way through the rules: coerced columns, masks, repairs, reasons, counters."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from tidal.guards._columns import label_key, numeric_column

if TYPE_CHECKING:
    from tidal.guards._schema import ColumnSpec, Schema

__all__ = ["Context"]


class Rule(Protocol):
    """What the context reads of a rule (:class:`tidal.guards.Rule`): its name and policy. The
    rules import the context; the context does not import them."""

    name: str
    policy: str


def _keys(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "fiub":
        f = values.astype(np.float64)
        out = f.astype(object)
        out[np.isnan(f)] = None
        return out
    return np.array([label_key(v) for v in values], dtype=object)


def _times(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since the epoch (float64, NaN if missing) and a mask of unreadable values."""
    if values.dtype.kind in "fiu":
        return values.astype(np.float64), np.zeros(len(values), dtype=bool)
    missing = np.asarray(pd.isna(values), dtype=bool)
    if values.dtype.kind != "M":
        floats, _, wrong = numeric_column(values)
        if not wrong.any():
            return floats, np.zeros(len(values), dtype=bool)
        values = pd.to_datetime(
            pd.Series(values, dtype=object), errors="coerce", utc=True, format="mixed"
        ).to_numpy()
    parsed = pd.DatetimeIndex(values)
    secs = parsed.as_unit("ns").asi8.astype(np.float64) / 1e9
    secs[np.asarray(parsed.isna())] = np.nan
    bad = np.isnan(secs) & ~missing
    return secs, bad


class Context:
    """The working state of one ``Guard.check`` call (internal)."""

    def __init__(
        self,
        schema: Schema,
        df: pd.DataFrame,
        *,
        source: str,
        predictions: Any,
        replay: bool,
        counters: dict[str, int],
    ):
        n = self.n = len(df)
        self.schema = schema
        self.source = source
        self.replay = replay
        self.counters = counters
        self.raw: dict[str, np.ndarray] = {}
        self.missing: dict[str, np.ndarray] = {}
        self.wrong: dict[str, np.ndarray] = {}
        self.unseen: dict[str, np.ndarray] = {}
        self.numeric: list[tuple[int, ColumnSpec]] = []
        self.categorical: list[tuple[int, ColumnSpec]] = []
        num_cols, cat_cols = [], []
        for spec in schema.columns:
            raw = df[spec.name].to_numpy() if spec.name in df.columns else np.full(n, None, object)
            self.raw[spec.name] = raw
            if spec.kind == "numeric":
                floats, self.missing[spec.name], self.wrong[spec.name] = numeric_column(raw)
                self.numeric.append((len(num_cols), spec))
                num_cols.append(floats)
            else:
                keys = _keys(raw)
                index = {label_key(c): k for k, c in enumerate(spec.categories)}
                codes = np.array([index.get(k, np.nan) if k is not None else np.nan for k in keys])
                self.missing[spec.name] = np.array([k is None for k in keys], dtype=bool)
                self.unseen[spec.name] = np.isnan(codes) & ~self.missing[spec.name]
                self.categorical.append((len(cat_cols), spec))
                cat_cols.append(codes)
        self.V = np.column_stack(num_cols) if num_cols else np.empty((n, 0))
        self.C = np.column_stack(cat_cols) if cat_cols else np.empty((n, 0))
        self._labels(df)
        self._ids_times(df)
        self.pred_keys = self.has_pred = None
        if predictions is not None:
            preds = np.asarray(predictions)
            if preds.shape[0] != n:
                raise ValueError(f"predictions has {preds.shape[0]} rows, the block has {n}")
            self.pred_keys = _keys(preds)
            self.has_pred = np.array([k is not None for k in self.pred_keys], dtype=bool)
        self.quarantined = np.zeros(n, dtype=bool)
        self.repaired = np.zeros(n, dtype=bool)
        self.flagged = np.zeros(n, dtype=bool)
        self.paused = np.zeros(n, dtype=bool)
        self.score = np.zeros(n)
        self.reasons: dict[int, list[str]] = {}
        self.first_rule: dict[int, str] = {}
        #: (rule, column) -> cells hit, for counts per rule and column
        self.cells: dict[tuple[str, str], int] = {}

    def _labels(self, df: pd.DataFrame) -> None:
        t = self.schema.target
        self.y_raw = self.y_keys = self.y_bad = self.y = None
        self.has_label = np.zeros(self.n, dtype=bool)
        if t is None or t.name not in df.columns:
            return
        raw = self.y_raw = df[t.name].to_numpy()
        if t.kind == "classes":
            keys = self.y_keys = _keys(raw)
            table = {label_key(c): c for c in t.classes}
            self.has_label = np.array([k is not None for k in keys], dtype=bool)
            self.y_bad = np.array([k is not None and k not in table for k in keys], dtype=bool)
            self.y = np.array([table.get(k) for k in keys], dtype=object)
        else:
            floats, missing, wrong = numeric_column(raw)
            lo = -np.inf if t.min is None else t.min
            hi = np.inf if t.max is None else t.max
            self.has_label = ~missing
            self.y_bad = wrong | (floats < lo) | (floats > hi)
            self.y_keys = floats
            self.y = floats

    def _ids_times(self, df: pd.DataFrame) -> None:
        s = self.schema
        self.ids = None
        if s.id_column is not None and s.id_column in df.columns:
            self.ids = [None if k is None else k for k in _keys(df[s.id_column].to_numpy())]
        self.ts = self.ts_raw = self.ts_bad = None
        if s.timestamp_column is not None and s.timestamp_column in df.columns:
            self.ts_raw = df[s.timestamp_column].to_numpy()
            self.ts, self.ts_bad = _times(self.ts_raw)

    # ---------------------------------------------------------------------------- verdicts
    def hit_rows(
        self,
        rule: Rule,
        mask: np.ndarray,
        describe: Callable[[int], str],
        repair: Callable[[np.ndarray], None] | None = None,
    ) -> None:
        """Apply ``rule``'s policy to the rows in ``mask``, with a reason for each."""
        count = int(mask.sum())
        self.counters[rule.name] = self.counters.get(rule.name, 0) + count
        if not count:
            return
        rows = np.flatnonzero(mask)
        for i in rows.tolist():
            self.reasons.setdefault(i, []).append(f"{rule.name}: {describe(i)}")
        if rule.policy == "quarantine":
            for i in rows[~self.quarantined[rows]].tolist():
                self.first_rule[i] = rule.name
            self.quarantined |= mask
        elif rule.policy == "repair" and repair is not None:
            repair(mask)
            self.repaired |= mask
        else:
            self.flagged |= mask

    def hit_cells(
        self,
        rule: Rule,
        mask: np.ndarray,
        spec: ColumnSpec,
        describe: Callable[[int], str],
        clip: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Like :meth:`hit_rows` for one column; repair imputes (or clips) that column."""
        n = int(mask.sum())
        if n:
            key = (rule.name, spec.name)
            self.cells[key] = self.cells.get(key, 0) + n

        def repair(rows: np.ndarray) -> None:
            if spec.kind == "categorical":
                k = next(k for k, s in self.categorical if s is spec)
                self.C[rows, k] = 0.0  # categories are stored most frequent first
                return
            k = next(k for k, s in self.numeric if s is spec)
            if clip is not None:
                self.V[rows, k] = np.clip(self.V[rows, k], clip[0][rows], clip[1][rows])
            else:
                self.V[rows, k] = spec.center

        self.hit_rows(rule, mask, describe, repair)

    def matrix(self) -> np.ndarray:
        """The (repaired) feature matrix in schema column order; categorical columns as codes."""
        X = np.empty((self.n, len(self.schema.columns)))
        pos = {c.name: j for j, c in enumerate(self.schema.columns)}
        for k, spec in self.numeric:
            X[:, pos[spec.name]] = self.V[:, k]
        for k, spec in self.categorical:
            X[:, pos[spec.name]] = self.C[:, k]
        return X
