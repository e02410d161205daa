"""Bursts acted on for every learner: snapshots, roll-back, and the rows learned afterwards.

:class:`BurstWatch` sits in the engine's guard stage. Every ``snapshot_every`` rows (while no
alarm is on) it keeps a copy of every learner; it remembers the rows learned since the oldest
copy. When the :class:`~tidal.guards.BurstDetector` raises an alarm whose estimated start lies
in rows the learners already learned, each learner is restored to the newest copy taken at or
before that start and re-learns the clean rows between the copy and the start; rows from the
start on are scored, not learned. When the alarm ends, the rows after the estimated end are
learned (they were only predicted while the alarm lasted); when it lasts longer than the
detector's ``max_duration`` it was a real change, and every row since its start is learned.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from tidal.guards._burst import Burst, BurstDetector
from tidal.guards._columns import label_key

__all__ = ["BurstWatch"]


def _snap(learner: Any) -> Any:
    """A copy to roll back to: the learner's own ``state_dict`` (the protocol's snapshot: a
    batch learner keeps its rows in a folder a plain deep copy would share), else a deep copy,
    else None (the learner is not rolled back; counted)."""
    if hasattr(learner, "state_dict") and hasattr(learner, "load_state"):
        try:
            return ("state", copy.deepcopy(learner.state_dict()))
        except Exception:  # noqa: S110 - a learner whose state cannot be taken: try a copy
            pass
    try:
        return ("copy", copy.deepcopy(learner))
    except Exception:  # a learner holding threads or handles
        return None


def _restore(learner: Any, snap: Any) -> bool:
    if snap is None:
        return False
    kind, value = snap
    if kind == "state":  # the snapshot may serve again for a later alarm: load a copy
        try:
            learner.load_state(copy.deepcopy(value))
        except Exception:  # a learner that cannot go back keeps learning (not counted)
            return False
        return True
    if not hasattr(learner, "__dict__"):
        return False
    fresh = copy.deepcopy(value)
    state, fresh.__dict__ = fresh.__dict__, {}  # the husk's finaliser must find nothing
    learner.__dict__.clear()
    learner.__dict__.update(state)
    return True


class _Rows:
    """Rows kept for re-learning: stream rows, features, labels, label codes (in order)."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, rows: np.ndarray, X: np.ndarray, y: np.ndarray, codes: np.ndarray) -> None:
        if len(rows):
            self.parts.append((rows, X, y, codes))

    def take(self, keep: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows for which ``keep(rows)`` is True, concatenated."""
        if not self.parts:
            return np.zeros(0, np.int64), np.zeros((0, 0)), np.zeros(0), np.zeros(0, np.int64)
        rows, X, y, c = (np.concatenate([p[k] for p in self.parts]) for k in range(4))
        m = keep(rows)
        return rows[m], X[m], y[m], c[m]

    def drop_before(self, row: int) -> None:
        self.parts = [p for p in self.parts if len(p[0]) and p[0][-1] >= row]

    def clear(self) -> None:
        self.parts = []


class BurstWatch:
    """Model-independent burst alarms for a classification stream, acted on for every learner.

    A burst is taken to start ``pad`` rows before the detector's estimate and to end ``pad``
    rows after it (the CUSUM's estimates were up to 15 rows late at the start and 22 rows early
    at the end on Elec2 and weather): a few clean rows are left unlearned rather than a few
    corrupted ones learned.

    ``plan(rows, X, y, learnable, learners)`` returns, for the rows of one piece, which are
    learned ("step") or only scored, the learn calls to make before the piece (after a
    roll-back) and inside it (after an alarm's end).

    >>> import numpy as np
    >>> w = BurstWatch(classes=[0, 1])
    >>> fate, pre, inserts = w.plan(np.arange(3), np.zeros((3, 1)), np.array([0, 1, 0]),
    ...                             np.ones(3, bool), [])
    >>> fate.tolist(), pre, inserts
    ([True, True, True], [], [])
    """

    def __init__(
        self,
        classes: list[Any],
        *,
        snapshot_every: int = 1000,
        keep: int = 4,
        pad: int = 20,
        **detector: Any,
    ):
        self.codes = {label_key(c): i for i, c in enumerate(classes)}
        self.detector = BurstDetector(max(2, len(classes)), **detector)
        self.snapshot_every = snapshot_every
        self.keep = keep
        self.pad = pad
        self.snapshots: list[tuple[int, dict[int, Any]]] = []
        self.learned = _Rows()
        self.paused = _Rows()
        self.bursts: list[Burst] = []

    def _codes(self, y: np.ndarray) -> np.ndarray:
        return np.array([self.codes.get(label_key(v), 0) for v in y.tolist()], dtype=np.int64)

    def snapshot(self, row: int, learners: list[Any]) -> None:
        """Copy every learner at stream row ``row`` if it is time (never during an alarm)."""
        if self.detector.active:
            return
        if self.snapshots and row - self.snapshots[-1][0] < self.snapshot_every:
            return
        self.snapshots.append((row, {id(m): _snap(m) for m in learners}))
        self.snapshots = self.snapshots[-self.keep :]
        self.learned.drop_before(self.snapshots[0][0])

    def _roll_back(self, start: int, learners: list[Any], burst: Burst) -> Any:
        """Restore every learner to the newest copy at or before ``start``; returns the rows
        (rows, X, y) to re-learn between the copy and ``start``."""
        usable = [s for s in self.snapshots if s[0] <= start] or self.snapshots[:1]
        if not usable:
            return None
        row, snaps = usable[-1]
        burst.restored_to = row
        burst.rolled_back = sum(_restore(m, snaps.get(id(m))) for m in learners)
        # the burst rows learned since ``start`` are now only scored (kept: a lasting change
        # learns them after all)
        r, X, y, c = self.learned.take(lambda rows: rows >= start)
        self.paused.add(r, X, y, c)
        r, X, y, _ = self.learned.take(lambda rows: (rows >= row) & (rows < start))
        return (r, X, y) if len(r) else None

    def plan(
        self,
        rows: np.ndarray,
        X: np.ndarray,
        y: np.ndarray,
        learnable: np.ndarray,
        learners: list[Any],
    ) -> tuple[np.ndarray, list[Any], list[tuple[int, Any]]]:
        """``(fate, pre, inserts)``: fate per row (True: predict then learn; False: predict
        only), rows to learn before the piece, and ``(position, rows)`` to learn after the
        row at ``position - 1``."""
        n = len(rows)
        codes = self._codes(y)
        fate = learnable.copy()
        pre: list[Any] = []
        inserts: list[tuple[int, Any]] = []
        det = self.detector
        a = 0
        while a < n:
            was_on = det.active
            i, ev, est = det.step(rows[a:], X[a:], codes[a:], learnable[a:])
            # the estimates are a few rows late at the start and early at the end: widen
            est = est - self.pad if ev == "alarm" else est + self.pad
            if ev == "end" and self.bursts:
                est = min(est, int(rows[min(a + i, n - 1)]) + 1)
            k = min(a + i, n - 1)
            seg = np.arange(a, k + 1)
            if was_on:
                hold = seg[learnable[seg]]
            elif ev == "alarm":
                hold = seg[learnable[seg] & (rows[seg] >= est)]
            else:
                hold = seg[:0]
            fate[hold] = False
            self.paused.add(rows[hold], X[hold], y[hold], codes[hold])
            if ev is None:
                break
            if ev == "alarm":
                burst = Burst(start=int(est), alarm=int(rows[k]))
                self.bursts.append(burst)
                if est < rows[0]:
                    back = self._roll_back(int(est), learners, burst)
                    if back is not None:
                        pre.append(back)
            else:
                burst = self.bursts[-1]
                lasting = ev == "lasting"
                burst.lasting = lasting
                burst.end = int(rows[k]) + 1 if lasting else int(est)
                since = burst.start if lasting else int(est)
                r, Xr, yr, cr = self.paused.take(lambda rr, since=since: rr >= since)
                self.paused.clear()
                if len(r):
                    inserts.append((k + 1, (r, Xr, yr)))
                    det.learn(Xr, cr)
            a = k + 1
        keep = fate
        self.learned.add(rows[keep], X[keep], y[keep], codes[keep])
        return fate, pre, inserts

    def excluded(self, rows: np.ndarray) -> np.ndarray:
        """True for stream rows inside a detected burst (lasting changes excluded)."""
        out = np.zeros(len(rows), dtype=bool)
        for b in self.bursts:
            if not b.lasting:
                out |= (rows >= b.start) & (rows < (np.inf if b.end is None else b.end))
        return out
