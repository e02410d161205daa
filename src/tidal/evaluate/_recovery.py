"""Change points and recovery: how far each learner's rolling metric falls, and how fast it is back.

The rolling metric at row ``t`` is measured over the ``window`` rows before ``t`` (rolling
accuracy for classifiers, rolling MAE for regressors). For a change point ``c`` (known, e.g. the
position of a generator's drift, or detected by ADWIN over the error stream of the most accurate
non-baseline learner) and the segment up to the next change point (or the end):

- ``before``: the rolling metric at ``c``; ``plateau``: at the end of the segment;
- ``drop``: how far below ``before`` the metric went within the segment (accuracy points as a
  fraction: 0.12 is 12 points; for MAE how far above);
- ``recovery_rows``: rows from ``c`` until the metric is back within one point (0.01 accuracy,
  or 1 % of the MAE) of ``min(before, plateau)``, after having fallen below it by more than
  ``FELL`` points (3: the noise of a 1,000-row rolling accuracy is about 1.6 points, so smaller
  dips are not counted as a fall); 0 if it never fell that far; None if it had not recovered by
  the end of the segment.

Detected change points are **confirmed** before they count (:func:`confirm`): ADWIN also fires
when a learner *improves* (its error falls while it learns) and, rarely, on noise. An alarm at
row ``a`` is kept when the error of the reference learner, or of at least two learners, rises
after it: the mean error over some ``window // 2`` rows ending in ``[a, a + window]`` exceeds the
mean error over ``[a - 2 window, a - window)`` by more than ``RISE_Z`` (4) standard errors and by
more than ``MIN_RISE`` (2 accuracy points; 5 % for MAE). Alarms in the first ``2 window`` rows
(the learning phase) cannot be confirmed. Rejected alarms stay in the analysis as
``unconfirmed``, so the false-alarm rate can be measured.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal.evaluate._steady import rolling, steady
from tidal.metrics import headline

__all__ = ["analyze", "confirm", "detect_changes", "rolling"]

_CURVE_POINTS = 600
FELL = 3.0  # points (of the one-point tolerance) the metric must fall to count as a drop
RISE_Z = 4.0  # several overlapping looks per alarm and learner: a strict z
MIN_RISE = 0.02  # accuracy; for MAE the rise must be 5 % of the level before


def detect_changes(err: np.ndarray, window: int, limit: int = 20) -> list[int]:
    """ADWIN alarms over an error stream, at least two windows apart, at most ``limit``.

    >>> detect_changes(np.r_[np.zeros(3000), np.ones(3000)].astype(np.float32), 500)
    [3039]
    """
    from tidal.drift import ADWIN

    alarms = ADWIN().update_many(np.asarray(err, dtype=np.float64))
    kept: list[int] = []
    for a in np.asarray(alarms).tolist():
        if not kept or a - kept[-1] >= 2 * window:
            kept.append(int(a))
        if len(kept) == limit:
            break
    return kept


def _rise(err: np.ndarray, a: int, window: int, classifier: bool) -> bool:
    """Does ``err`` rise significantly after row ``a`` (see the module docstring)?"""
    lo, hi = a - 2 * window, a - window
    if lo < 0 or len(err) <= a:
        return False
    before = err[lo:hi].astype(np.float64)
    h = max(window // 2, 1)
    c = np.concatenate([[0.0], np.cumsum(err, dtype=np.float64)])
    ends = np.arange(max(a, h), min(a + window, len(err)) + 1)
    if not len(ends) or not np.all(np.isfinite(before)):
        return False
    after = (c[ends] - c[ends - h]) / h
    level = float(np.mean(before))
    sd = float(np.std(before)) if not classifier else (level * (1 - level)) ** 0.5
    se = max(sd, 1e-12) * (1 / h + 1 / len(before)) ** 0.5
    floor = MIN_RISE if classifier else 0.05 * abs(level)
    with np.errstate(invalid="ignore"):
        rise = float(np.nanmax(after)) - level
    return rise > RISE_Z * se and rise > floor


def confirm(
    alarms: list[int],
    errors: dict[str, np.ndarray],
    window: int,
    classifier: bool,
    reference: str | None,
) -> tuple[list[int], list[int]]:
    """``(confirmed, unconfirmed)`` alarms: a change is kept only where errors rise.

    >>> rng = np.random.default_rng(1)
    >>> up = (rng.uniform(size=6000) < np.r_[np.full(3000, 0.1), np.full(3000, 0.4)]) * 1.0
    >>> learning = (rng.uniform(size=6000) < np.linspace(0.5, 0.1, 6000)) * 1.0
    >>> confirm([3100], {"m": up}, 500, True, "m"), confirm([3100], {"m": learning}, 500, True, "m")
    (([3100], []), ([], [3100]))
    """
    kept: list[int] = []
    dropped: list[int] = []
    for a in alarms:
        seen = [k for k, e in errors.items() if _rise(np.asarray(e), a, window, classifier)]
        ok = (reference is not None and reference in seen) or len(seen) >= 2
        (kept if ok else dropped).append(a)
    return kept, dropped


def _one(s: np.ndarray, c: int, end: int, classifier: bool) -> dict[str, Any]:
    sign = 1.0 if classifier else -1.0  # work on "higher is better" values
    v = sign * s
    before = v[c] if c > 0 else v[min(end, len(v) - 1)]
    seg = v[c + 1 : end + 1]
    plateau = v[end]
    level = min(before, plateau)
    tol = 0.01 if classifier else 0.01 * abs(level)
    target = level - tol
    low = float(np.nanmin(seg)) if len(seg) else before
    below = np.nonzero(seg < level - FELL * tol)[0]
    if len(below) == 0:
        rows: int | None = 0
    else:
        back = np.nonzero(seg[below[0] :] >= target)[0]
        rows = int(below[0] + back[0] + 1) if len(back) else None
    return {
        "before": float(sign * before),
        "worst": float(sign * low),
        "plateau": float(sign * plateau),
        "drop": float(max(before - low, 0.0)),
        "recovery_rows": rows,
    }


def analyze(
    errors: dict[str, np.ndarray],
    classifier: bool,
    window: int,
    change_points: list[int] | None,
    reference: str | None,
) -> dict[str, Any]:
    """Changes, per-learner recovery summaries and downsampled rolling curves.

    ``change_points=None`` detects them on ``reference``'s errors; a list (even empty) is used
    as given.

    >>> err = {"a": np.r_[np.zeros(2000), np.ones(200), np.zeros(1800)].astype(np.float32)}
    >>> out = analyze(err, True, 100, [2000], "a")
    >>> ch = out["changes"][0]
    >>> ch["row"], ch["learner"], ch["drop"], ch["recovery_rows"]
    (2000, 'a', 1.0, 299)
    """
    n = max((len(e) for e in errors.values()), default=0)
    source = "known"
    unconfirmed: list[int] = []
    if change_points is None:
        source = "detected"
        ref = errors.get(reference) if reference is not None else None
        alarms = detect_changes(ref, window) if ref is not None and len(ref) else []
        change_points, unconfirmed = confirm(alarms, errors, window, classifier, reference)
    settled = steady(errors, classifier)
    points = sorted({int(c) for c in change_points if 0 < int(c) < n})
    changes: list[dict[str, Any]] = []
    summary: dict[str, dict[str, Any]] = {}
    curves: dict[str, dict[str, list[float]]] = {}
    for name, err in errors.items():
        s = rolling(err, window, classifier)
        m = len(err)
        mine = []
        for i, c in enumerate(points):
            if c >= m:
                break
            end = min(points[i + 1] if i + 1 < len(points) else m, m)
            rec = {"row": c, "source": source, "learner": name, **_one(s, c, end, classifier)}
            rec["segment_end"] = end
            mine.append(rec)
        changes += mine
        summary[name] = {**_summary(mine), **settled["per"].get(name, {})}
        at = np.unique(np.linspace(1, m, min(_CURVE_POINTS, m)).astype(int)) if m else []
        curves[name] = {"row": [int(t) for t in at], "value": [float(s[t]) for t in at]}
    return {
        "change_points": points,
        "change_source": source,
        "unconfirmed": unconfirmed,
        "steady": {k: settled[k] for k in ("start", "rows", "window", "blocks")},
        "changes": changes,
        "summary": summary,
        "curves": curves,
        "metric": headline("multiclass" if classifier else "regression").name,
        "window": window,
    }


def _summary(mine: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean drop and mean recovery (unrecovered changes count their whole segment)."""
    if not mine:
        return {"drop_mean": None, "recovery_rows_mean": None, "unrecovered": 0}
    rows = [
        r["recovery_rows"] if r["recovery_rows"] is not None else r["segment_end"] - r["row"]
        for r in mine
    ]
    return {
        "drop_mean": float(np.mean([r["drop"] for r in mine])),
        "recovery_rows_mean": float(np.mean(rows)),
        "unrecovered": sum(r["recovery_rows"] is None for r in mine),
    }
