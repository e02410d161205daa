"""A learner's health in a run: "ok", "error" (it raised) or "diverged" (absurd predictions).

An online regressor on unscaled data can blow up (an SGD step too large for the data's scale):
Elec2's ``nswdemand`` gave a linear regression R2 = -4.3e26, and nothing said so. A prediction
that is not finite, or that lies further from the targets seen so far than ``FACTOR`` times
their range, marks the learner ``diverged``: the engine stops it there (its metrics stop before
the absurd rows), the table, the report and the JSON show it, and the verdict leaves it out.

>>> r = TargetRange()
>>> r.update(np.arange(100.0))
>>> r.first_absurd(np.array([50.0, -2000.0, 3e12]))
2
>>> r.first_absurd(np.array([np.nan])), r.first_absurd(np.array([120.0]))
(0, None)
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["FACTOR", "MIN_LABELS", "TargetRange", "first_nonfinite", "status_of", "usable_rows"]

#: predictions further than FACTOR x the targets' scale (the larger of their range and their
#: magnitude) from that range are absurd
FACTOR = 100.0
#: labels needed before the range is trusted (non-finite predictions are caught from the start)
MIN_LABELS = 30


class TargetRange:
    """Running minimum and maximum of the finite target values seen."""

    def __init__(self) -> None:
        self.lo = np.inf
        self.hi = -np.inf
        self.n = 0

    def update(self, y: np.ndarray) -> None:
        y = np.asarray(y, dtype=np.float64)
        y = y[np.isfinite(y)]
        if len(y):
            self.lo = min(self.lo, float(y.min()))
            self.hi = max(self.hi, float(y.max()))
            self.n += len(y)

    def bounds(self) -> tuple[float, float]:
        """The interval outside which a prediction is absurd."""
        # the larger of the span and the magnitude: a target far from 0 (1e6 +- 40) must not
        # make a learner's 0.0 before its first label look absurd
        scale = max(self.hi - self.lo, abs(self.hi), abs(self.lo), 1e-12)
        return self.lo - FACTOR * scale, self.hi + FACTOR * scale

    def first_absurd(self, y_pred: np.ndarray) -> int | None:
        """Index of the first non-finite or absurd prediction, None if all are sane."""
        p = np.asarray(y_pred, dtype=np.float64)
        bad = ~np.isfinite(p)
        if self.n >= MIN_LABELS:
            lo, hi = self.bounds()
            with np.errstate(invalid="ignore"):
                bad |= (p < lo) | (p > hi)
        hits = np.flatnonzero(bad)
        return int(hits[0]) if len(hits) else None

    def describe(self, value: float) -> str:
        if not np.isfinite(value) or self.n < MIN_LABELS:
            return f"predicted {value:.4g}"
        return (
            f"predicted {value:.4g}, while the target so far lies in [{self.lo:.4g}, "
            f"{self.hi:.4g}] (absurd: more than {FACTOR:.0f}x its scale away)"
        )


def first_nonfinite(proba: np.ndarray) -> int | None:
    """Index of the first row of class probabilities holding a NaN or an infinity."""
    bad = ~np.isfinite(np.asarray(proba, dtype=np.float64)).all(axis=1)
    hits = np.flatnonzero(bad)
    return int(hits[0]) if len(hits) else None


def status_of(error: str | None, diverged: bool) -> str:
    """The ``status`` column of a learner's row."""
    if diverged:
        return "diverged"
    return "error" if error else "ok"


def usable_rows(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows a verdict may rank (finished, not diverged), and a warning per row left out.

    >>> ok, warn = usable_rows([{"learner": "a", "status": "ok", "rows": 5},
    ...                         {"learner": "b", "status": "diverged", "rows": 5,
    ...                          "error": "diverged at stream row 3: predicted inf"}])
    >>> [r["learner"] for r in ok], warn
    (['a'], ['left out: b diverged at stream row 3: predicted inf'])
    """
    ok, warnings = [], []
    for r in rows:
        status = r.get("status") or ("error" if r.get("error") else "ok")
        if status == "ok" and r.get("rows", 0) > 0:
            ok.append(r)
        elif status == "diverged":
            why = str(r.get("error") or "diverged").removeprefix("diverged ")
            warnings.append(f"left out: {r['learner']} diverged {why}")
    return ok, warnings
