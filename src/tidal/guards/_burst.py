"""A label-burst detector that watches the stream itself, not any learner being compared.

Flipped (or otherwise corrupted) labels in a burst make any reasonable model look wrong on most
rows. Watching one of the compared learners ties the alarm to that learner (an ARF that learns
the flipped labels quickly never raises it); here a small reference model (standardisation +
softmax regression, trained only on rows the guards let through and never on a suspicious
stretch) predicts every labelled row, and a CUSUM on its errors raises the alarm. See
:mod:`tidal._kernels.guards_burst` for the test and :mod:`tidal.evaluate._guarded` for what the
engine does with an alarm (every learner is rolled back to its state before the burst).

Why not simply a jump in the error rate: on Elec2 a model is wrong for 20-40 rows in a row many
times a day of data (labels are persistent); the CUSUM's reference value lies half-way between
the worst rate a real change is assumed to give (``max(0.5, e0 + margin)``) and the rate flipped
labels give (``1 - e0``), and ``h = 20`` needs about 100 rows of that evidence. The delay costs
little because learners are rolled back to the estimated start of the burst.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tidal._kernels import guards_burst as kb
from tidal.base import ParameterError

__all__ = ["Burst", "BurstDetector"]


@dataclass
class Burst:
    """One detected burst: stream rows ``start`` (estimated) .. ``end`` (exclusive; None while
    it lasts), the row where the alarm fired, and whether it turned out to be a lasting
    change (``lasting=True``: its rows were learned after all).

    >>> Burst(100, 180).as_dict()["start"]
    100
    """

    start: int
    alarm: int
    end: int | None = None
    lasting: bool = False
    restored_to: int | None = None
    rolled_back: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class BurstDetector:
    """Model-independent label-burst detection on a classification stream.

    Parameters
    ----------
    n_classes
        Number of classes (labels are given as codes ``0 .. n_classes - 1``).
    h, h_end
        CUSUM thresholds to raise and to end an alarm.
    margin
        A real change is assumed to raise the error rate to at most ``max(0.5, e0 + margin)``.
    warmup
        Rows the reference learns before any alarm.
    max_duration
        An alarm longer than this many rows is a lasting change, not a burst.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(4000, 2)); y = (X[:, 0] > 0).astype(int)
    >>> y[2500:3000] = 1 - y[2500:3000]   # a burst of 500 flipped labels
    >>> det = BurstDetector(2)
    >>> events = det.scan(np.arange(4000), X, y)
    >>> [(e, 2480 <= row <= 2520 or 2980 <= row <= 3020) for _, e, row in events]
    [('alarm', True), ('end', True)]
    """

    def __init__(
        self,
        n_classes: int,
        *,
        h: float = 20.0,
        h_end: float = 40.0,
        margin: float = 0.2,
        alpha: float = 1 / 1000,
        warmup: int = 500,
        max_duration: int = 3000,
        lr: float = 0.02,
        learn_below: float = 0.05,
    ):
        if not isinstance(n_classes, int) or n_classes < 2:
            raise ParameterError(f"n_classes == {n_classes!r}, must be an integer >= 2")
        for key, v in (("h", h), ("h_end", h_end), ("alpha", alpha), ("lr", lr)):
            if not v > 0:
                raise ParameterError(f"{key} == {v!r}, must be > 0")
        self.n_classes = n_classes
        self.params = np.array(
            [h, h_end, margin, alpha, warmup, max_duration, lr, learn_below], dtype=np.float64
        )
        self.state = np.zeros(kb.STATE_SIZE)
        self.W: np.ndarray | None = None
        self.mean = self.m2 = None
        self.bursts: list[Burst] = []

    @property
    def active(self) -> bool:
        """True while an alarm is on."""
        return bool(self.state[kb.S_MODE])

    def _init(self, m: int) -> None:
        if self.W is None:
            self.W = np.zeros((self.n_classes, m + 1))
            self.mean, self.m2 = np.zeros(m), np.zeros(m)

    def learn(self, X: np.ndarray, codes: np.ndarray) -> None:
        """Teach the reference rows known to be clean (e.g. the rows after an alarm's end)."""
        if len(X):
            self._init(X.shape[1])
            kb.reference_learn_many(
                np.ascontiguousarray(X, dtype=np.float64),
                np.asarray(codes, dtype=np.int64),
                self.mean,
                self.m2,
                self.state,
                self.W,
                float(self.params[6]),
            )

    def step(
        self,
        rows: np.ndarray,
        X: np.ndarray,
        codes: np.ndarray,
        learnable: np.ndarray | None = None,
    ) -> tuple[int, str | None, int]:
        """Walk the rows until the first event: ``(index, "alarm" | "end" | "lasting" | None,
        estimated stream row of the burst's start or end)``; index == len(rows) if none."""
        n = len(rows)
        if n == 0:
            return 0, None, -1
        self._init(X.shape[1])
        ok = np.ones(n, dtype=bool) if learnable is None else np.asarray(learnable, dtype=bool)
        err = np.empty(n)
        i, ev, est = kb.burst_scan(
            np.ascontiguousarray(X, dtype=np.float64),
            np.asarray(codes, dtype=np.int64),
            ok,
            np.asarray(rows, dtype=np.float64),
            self.state,
            self.mean,
            self.m2,
            self.W,
            self.params,
            err,
        )
        name = {kb.ALARM: "alarm", kb.END: "end", kb.LASTING: "lasting"}.get(int(ev))
        return int(i), name, int(est)

    def scan(
        self, rows: np.ndarray, X: np.ndarray, codes: np.ndarray
    ) -> list[tuple[int, str, int]]:
        """All events over these rows (the rows after an end are learned by the reference);
        for standalone use. Returns ``[(row, event, estimated_row), ...]``."""
        out = []
        a = 0
        last_alarm = 0
        while a < len(rows):
            i, ev, est = self.step(rows[a:], X[a:], codes[a:])
            if ev is None:
                break
            k = a + i
            out.append((int(rows[k]), ev, est))
            if ev == "alarm":
                last_alarm = k
            else:
                back = rows[last_alarm : k + 1] >= (est if ev == "end" else rows[last_alarm])
                sel = np.arange(last_alarm, k + 1)[back]
                self.learn(X[sel], codes[sel])
            a = k + 1
        return out
