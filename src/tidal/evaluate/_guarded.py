"""Guards in the engine: stream -> guard -> learners, with the guard's counters in the results.

What happens to each block (``prequential(..., guard=Guard(...))``):

1. The guard checks the block: a verdict per row, repaired values, its counters.
2. Quarantined rows, rows still holding a NaN (flagged, not repaired) and rows without a valid
   label leave the stream: no learner predicts, scores or learns them; they are counted in the
   guard's counters (and kept in its quarantine) only. Every other row is predicted by each
   learner and scored, in stream order and test-then-train per row, on the guard's (repaired)
   values; it is learned only if the guard lets it through (``GuardResult.learn``).
3. Label bursts (classification, when the guard has a :class:`~tidal.guards.LabelBurst` rule)
   are watched on the stream itself by a :class:`~tidal.guards.BurstWatch`: a reference model
   that belongs to no learner being compared, so the alarm is the same whichever learners run.
   On an alarm every learner is rolled back to its copy from before the burst's estimated
   start and re-learns the clean rows in between; rows in the burst are scored, not learned;
   when the alarm ends, the rows after the estimated end are learned. The rows inside a
   detected burst are listed in the summary, and each learner also gets its score on the rows
   learned normally (``<metric>_normal``: without burst rows) next to the usual one.
   Consecutive rows with the same fate go to the learner in one call ("step", "predict", or
   "learn" for rows learned after the fact), so a guard that passes everything changes nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal.base.exceptions import ParameterError
from tidal.metrics import headline

__all__ = ["GuardStage"]

_VERDICTS = ("passed", "repaired", "quarantined", "flagged")


class GuardStage:
    """The guard's place in the engine: turns each block into the learners' operations.

    >>> import numpy as np, pandas as pd
    >>> from tidal.guards import Guard, Schema
    >>> from tidal.stream import from_arrays
    >>> X = np.array([[0.1], [np.nan], [0.3]]); y = np.array([0, 1, 1])
    >>> stage = GuardStage(Guard(Schema.infer({"x0": [0.1, 0.2], "y": [0, 1]}, "y")))
    >>> [(kind, len(b)) for kind, b in stage.ops(next(iter(from_arrays(X, y))), [])]
    [('step', 2)]
    >>> stage.summary()["verdicts"]
    {'passed': 2, 'repaired': 0, 'quarantined': 1, 'flagged': 0}
    """

    def __init__(self, guard: Any, source: str = "stream", classifier: bool = True):
        from tidal.guards import BurstWatch, Guard, LabelBurst

        if not isinstance(guard, Guard):
            raise ParameterError(f"guard == {guard!r}, must be a tidal.guards.Guard or None")
        self.guard = guard
        self.source = source
        t = guard.schema.target
        watch = classifier and any(isinstance(r, LabelBurst) for r in guard.rules)
        self.watch = None
        if watch and t is not None and t.kind == "classes" and len(t.classes) >= 2:
            self.watch = BurstWatch(list(t.classes))
        #: stream rows in the order they were scored (for the scores without burst rows)
        self.scored_rows: list[np.ndarray] = []
        from tidal.monitor import DriftWatch

        cats = [c.name for c in guard.schema.columns if c.kind == "categorical"]
        #: feature drift on the rows the learners see (guarded values)
        self.drift = DriftWatch(guard.schema.names, categorical=cats)
        self.counters: dict[str, int] = {r.name: 0 for r in guard.rules}
        self.verdicts = dict.fromkeys(_VERDICTS, 0)
        self.columns: dict[str, dict[str, int]] = {}  # rule -> column -> cells hit
        self.rows = self.scored = self.learned = self.paused = self.dropped = 0
        #: the last block given to the learners (the engine times predictions on it)
        self.last: Any = None

    def ops(self, piece: Any, learners: list[Any]) -> list[tuple[str, Any]]:
        """Check ``piece`` and return the ``(kind, block)`` calls to make on every learner;
        ``learners`` are rolled back in place when a burst alarm says so."""
        res = self.guard.check(piece, source=self.source)
        self.drift.update(res.X[self._usable(res)])
        if self.watch is None:
            return self._settle(res, piece)
        self._count(res)
        use = self._usable(res)
        idx = np.flatnonzero(use)
        rows = piece.start + idx
        X, y = res.X[idx], np.array(res.y[idx].tolist())
        self.watch.snapshot(int(piece.start), list(learners))
        fate, pre, inserts = self.watch.plan(rows, X, y, res.learn[idx], list(learners))
        ops = [("learn", self._rows_block(res, *chunk, piece.target)) for chunk in pre]
        marks = sorted(inserts, key=lambda p: p[0])
        cuts = sorted({0, len(idx), *(int(j) for j, _ in marks)} | set(_changes(fate)))
        for a, b in zip(cuts[:-1], cuts[1:]):
            ops += [("learn", self._rows_block(res, *c, piece.target)) for j, c in marks if j == a]
            block = _block(res, X[a:b], y[a:b], rows[a:b], piece.target)
            ops.append(("step" if fate[a] else "predict", block))
        ops += [
            ("learn", self._rows_block(res, *c, piece.target)) for j, c in marks if j >= len(idx)
        ]
        self.scored += len(idx)
        self.dropped += len(piece) - len(idx)
        self.learned += int(fate.sum()) + sum(len(c[0]) for _, c in inserts)
        self.scored_rows.append(rows)
        self.last = next((b for k, b in reversed(ops) if k != "learn"), None)
        return ops

    @staticmethod
    def _rows_block(res: Any, rows: np.ndarray, X: np.ndarray, y: Any, target: Any) -> Any:
        return _block(res, X, np.asarray(y), rows, target)

    def _settle(self, res: Any, piece: Any) -> list[tuple[str, Any]]:
        """Count a final result and turn it into the learners' operations."""
        self._count(res)
        use, ops = self._plan(res, piece)
        n_use = int(use.sum())
        self.scored += n_use
        self.dropped += len(piece) - n_use
        self.learned += int(res.learn[use].sum())
        self.last = ops[-1][1] if ops else None
        return ops

    def _plan(self, res: Any, piece: Any) -> tuple[np.ndarray, list[tuple[str, Any]]]:
        """The rows to score (a mask) and the operations on them, in runs of one kind."""
        use = self._usable(res)
        idx = np.flatnonzero(use)
        if not len(idx):
            return use, []
        learn = res.learn[idx]
        X, y = res.X[idx], np.array(res.y[idx].tolist())
        ops = []
        cuts = np.flatnonzero(np.diff(learn.astype(np.int8))) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(idx)]):
            block = _block(res, X[a:b], y[a:b], piece.start + idx[a:b], piece.target)
            ops.append(("step" if learn[a] else "predict", block))
        return use, ops

    def _usable(self, res: Any) -> np.ndarray:
        return ~res.quarantined & np.isfinite(res.X).all(axis=1) & self._label_ok(res)

    def _label_ok(self, res: Any) -> np.ndarray:
        if res.y is None:
            return np.zeros(len(res), dtype=bool)
        t = self.guard.schema.target
        if t is None or t.kind == "classes":
            return np.array([v is not None for v in res.y], dtype=bool)
        y = np.asarray(res.y, dtype=np.float64)
        lo = -np.inf if t.min is None else t.min
        hi = np.inf if t.max is None else t.max
        return np.isfinite(y) & (y >= lo) & (y <= hi)

    def _count(self, res: Any) -> None:
        for (rule, col), n in res.cells.items():
            per = self.columns.setdefault(rule, {})
            per[col] = per.get(col, 0) + n
        self.rows += len(res)
        for k, v in res.counters.items():
            self.counters[k] = self.counters.get(k, 0) + int(v)
        for name, c in zip(_VERDICTS, np.bincount(res.verdict, minlength=4)):
            self.verdicts[name] += int(c)
        self.paused += int(res.paused.sum())

    def summary(self) -> dict[str, Any]:
        """What goes into ``Results.meta["guard"]`` (and the JSON)."""
        return {
            "source": self.source,
            "rules": dict(self.counters),
            "columns": {k: dict(v) for k, v in self.columns.items()},
            "verdicts": dict(self.verdicts),
            "rows": self.rows,
            "scored": self.scored,
            "learned": self.learned,
            "paused": self.paused,
            "not_scored": self.dropped,
            "learning_paused_at_end": bool(self.guard.learning_paused),
            "quarantine": None if self.guard.quarantine is None else self.guard.quarantine.path,
            "bursts": [] if self.watch is None else [b.as_dict() for b in self.watch.bursts],
            "burst_rows": self._burst_rows(),
            "drift": self.drift.summary(),
        }

    def _burst_rows(self) -> int:
        if self.watch is None or not self.scored_rows:
            return 0
        return int(self.watch.excluded(np.concatenate(self.scored_rows)).sum())

    def annotate(self, rows: list[dict[str, Any]], errors: dict[str, list[Any]]) -> None:
        """Add to each learner's results row the rows its scores leave out and its scores on the
        rows learned normally (``Accuracy_normal``: burst rows excluded)."""
        order = np.concatenate(self.scored_rows) if self.scored_rows else np.zeros(0, np.int64)
        inside = (
            self.watch.excluded(order) if self.watch is not None else np.zeros(len(order), bool)
        )
        for rec in rows:
            err = errors.get(rec["learner"]) or []
            e = np.concatenate(err) if err else np.zeros(0)
            rec["excluded_quarantined"] = self.dropped
            rec["excluded_burst"] = int(inside.sum())
            if self.watch is None or len(e) != len(order):
                continue  # a learner that stopped early: no per-row alignment
            # the classifiers' headline metric (the watch only runs for classifiers)
            key = headline("multiclass").name + "_normal"
            normal = e[~inside]
            rec[key] = float(1.0 - normal.mean()) if len(normal) else float("nan")


def _changes(fate: np.ndarray) -> list[int]:
    return (np.flatnonzero(np.diff(fate.astype(np.int8))) + 1).tolist()


def _block(res: Any, X: np.ndarray, y: np.ndarray, rows: np.ndarray, target: str | None) -> Any:
    """A block of (not necessarily consecutive) stream rows; ``ids`` holds their positions."""
    from tidal.stream import Block

    return Block(
        X,
        res.feature_names,
        categories=res.categories,
        y=y,
        ids=np.asarray(rows, dtype=np.int64),
        start=int(rows[0]) if len(rows) else 0,
        target=res.target or target,
    )
