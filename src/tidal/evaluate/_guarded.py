"""Guards in the engine: stream -> guard -> learners, with the guard's counters in the results.

What happens to each block (``prequential(..., guard=Guard(...))``):

1. If the guard has a :class:`~tidal.guards.LabelBurst` rule and the task is classification, the
   rule is given the first learner's (the "deployed" model's) test-then-train predictions, exact
   per row: a copy of that learner runs the block under the learn mask the guard would give
   without predictions (the alarm state at the block's start); the guard then checks the block
   with those predictions. If that changes a row's learn decision (an alarm starts or ends), the
   rows up to it are settled and the rest of the block is done again from there, so the results
   do not depend on the block size. If the learner cannot be copied, the predictions of the
   model as it was at the start of the block are used instead.
2. The guard checks the block: a verdict per row, repaired values, its counters.
3. Quarantined rows, rows still holding a NaN (flagged, not repaired) and rows without a valid
   label leave the stream: no learner predicts, scores or learns them; they are counted in the
   guard's counters only. Every other row is predicted by each learner and scored, in stream
   order and test-then-train per row, on the guard's (repaired) values; it is learned only if
   the guard lets it through (``GuardResult.learn``: not paused by a burst alarm). Consecutive
   rows with the same fate go to the learner in one call ("step", or "predict" for rows that
   are scored but not learned), so a guard that passes everything changes nothing.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from tidal.base.exceptions import InputError, NotFittedError, ParameterError

__all__ = ["GuardStage"]

_VERDICTS = ("passed", "repaired", "quarantined", "flagged")


class GuardStage:
    """The guard's place in the engine: turns each block into the learners' operations.

    >>> import numpy as np, pandas as pd
    >>> from tidal.guards import Guard, Schema
    >>> from tidal.stream import from_arrays
    >>> X = np.array([[0.1], [np.nan], [0.3]]); y = np.array([0, 1, 1])
    >>> stage = GuardStage(Guard(Schema.infer({"x0": [0.1, 0.2], "y": [0, 1]}, "y")))
    >>> [(kind, len(b)) for kind, b in stage.ops(next(iter(from_arrays(X, y))), None)]
    [('step', 2)]
    >>> stage.summary()["verdicts"]
    {'passed': 2, 'repaired': 0, 'quarantined': 1, 'flagged': 0}
    """

    def __init__(self, guard: Any, source: str = "stream", classifier: bool = True):
        from tidal.guards import Guard, LabelBurst

        if not isinstance(guard, Guard):
            raise ParameterError(f"guard == {guard!r}, must be a tidal.guards.Guard or None")
        self.guard = guard
        self.source = source
        self.wants_predictions = classifier and any(isinstance(r, LabelBurst) for r in guard.rules)
        self.counters: dict[str, int] = {r.name: 0 for r in guard.rules}
        self.verdicts = dict.fromkeys(_VERDICTS, 0)
        self.rows = self.scored = self.learned = self.paused = self.dropped = 0
        #: the last block given to the learners (the engine times predictions on it)
        self.last: Any = None

    def ops(self, piece: Any, deployed: Any) -> list[tuple[str, Any]]:
        """Check ``piece`` and return the ``(kind, block)`` calls to make on every learner."""
        if not self.wants_predictions:
            return self._settle(self.guard.check(piece, source=self.source), piece)
        ops: list[tuple[str, Any]] = []
        rest = piece
        while rest is not None:
            res, done, rest = self._exact(rest, deployed, ops)
            ops += self._settle(res, done)
        if ops:
            self.last = ops[-1][1]
        return ops

    def _quiet(self, piece: Any, preds: Any) -> Any:
        """A check that writes nothing to the quarantine (the caller decides what is final)."""
        q, self.guard.quarantine = self.guard.quarantine, None
        try:
            return self.guard.check(piece, predictions=preds, source=self.source)
        finally:
            self.guard.quarantine = q

    def _exact(self, piece: Any, deployed: Any, done: list) -> tuple[Any, Any, Any]:
        """Check rows of ``piece`` with the deployed learner's per-row predictions: returns
        the final result, the rows it covers and the rows still to do (or None)."""
        probe = _copy(deployed, done)
        if probe is None:  # cannot be copied: predictions of the model at the block's start
            res = self._quiet(piece, self._predictions(piece, deployed))
            self._store(res)
            return res, piece, None
        snap = self.guard.state_dict()
        guess = self._quiet(piece, None)
        self._restore(snap)
        try:
            preds = self._replay(probe, piece, guess)
        except (InputError, NotFittedError, ValueError):  # the engine reports the learner's error
            res = self._quiet(piece, None)
            self._store(res)
            return res, piece, None
        res = self._quiet(piece, preds)
        moved = np.flatnonzero(res.learn != guess.learn)
        if not len(moved):
            self._store(res)
            return res, piece, None
        k = int(moved[0]) + 1  # rows before ``k`` were predicted under their true decisions
        self._restore(snap)
        head = piece.slice(0, k)
        tail = piece.slice(k, len(piece)) if k < len(piece) else None
        res = self._quiet(head, preds[:k])
        self._store(res)
        return res, head, tail

    def _restore(self, snap: dict[str, Any]) -> None:
        # a copy: rules may adopt the saved arrays and update them in place
        self.guard.load_state(copy.deepcopy(snap))

    def _store(self, res: Any) -> None:
        if self.guard.quarantine is not None:
            self.guard.quarantine.add(res)

    def _replay(self, probe: Any, piece: Any, guess: Any) -> np.ndarray:
        """The probe's test-then-train predictions of ``piece`` under ``guess``'s decisions."""
        out = np.full(len(piece), None, dtype=object)
        use, ops = self._plan(guess, piece)
        pos = np.flatnonzero(use)
        i = 0
        for kind, block in ops:
            n = len(block)
            out[pos[i : i + n]] = _apply(probe, kind, block)
            i += n
        return out

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
        use = ~res.quarantined & np.isfinite(res.X).all(axis=1) & self._label_ok(res)
        idx = np.flatnonzero(use)
        if not len(idx):
            return use, []
        learn = res.learn[idx]
        X, y = res.X[idx], np.array(res.y[idx].tolist())
        ops = []
        cuts = np.flatnonzero(np.diff(learn.astype(np.int8))) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(idx)]):
            block = _block(res, X[a:b], y[a:b], piece.start + int(idx[a]), piece.target)
            ops.append(("step" if learn[a] else "predict", block))
        return use, ops

    def _predictions(self, piece: Any, deployed: Any) -> np.ndarray | None:
        if deployed is None or not getattr(deployed, "is_fitted", True):
            return None
        ok = np.isfinite(piece.X).all(axis=1)
        out = np.full(len(piece), None, dtype=object)
        if ok.any():
            try:
                out[ok] = deployed.predict_many(piece if ok.all() else _rows(piece, ok))
            except (InputError, NotFittedError):
                return None
        return out

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
            "verdicts": dict(self.verdicts),
            "rows": self.rows,
            "scored": self.scored,
            "learned": self.learned,
            "paused": self.paused,
            "not_scored": self.dropped,
            "learning_paused_at_end": bool(self.guard.learning_paused),
        }


def _copy(learner: Any, ops: list[tuple[str, Any]]) -> Any:
    """A copy of ``learner`` that has also gone through ``ops`` (None if it cannot be copied)."""
    if learner is None:
        return None
    try:
        probe = copy.deepcopy(learner)
    except Exception:  # a learner holding threads or handles: the caller falls back
        return None
    for kind, block in ops:
        _apply(probe, kind, block)
    return probe


def _apply(learner: Any, kind: str, block: Any) -> np.ndarray:
    """What the engine does to a learner, with the predicted labels (None: no prediction)."""
    if kind == "step":
        return learner.step_many(block, block.y)
    if not getattr(learner, "is_fitted", True):
        return np.full(len(block), None, dtype=object)
    return learner.predict_many(block)


def _block(res: Any, X: np.ndarray, y: np.ndarray, start: int, target: str | None) -> Any:
    from tidal.stream import Block

    return Block(
        X,
        res.feature_names,
        categories=res.categories,
        y=y,
        start=start,
        target=res.target or target,
    )


def _rows(piece: Any, mask: np.ndarray) -> Any:
    from tidal.stream import Block

    return Block(
        piece.X[mask],
        piece.feature_names,
        categories=piece.categories,
        y=None if piece.y is None else piece.y[mask],
        start=piece.start,
        target=piece.target,
    )
