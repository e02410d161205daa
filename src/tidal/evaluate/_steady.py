"""Steady state, warm-up, and the paired test that tells a win from a tie.

The verdict answers "which should I run from now on", so it compares learners where they have
settled, not over the whole run (where a batch model serving a baseline until its first fit is
penalised for ever). The definitions:

- **Steady state**: the last ``STEADY_FRACTION`` (20 %) of the scored rows. One window for every
  learner, so that their errors are paired row by row. The steady quality is the accuracy (or
  the MAE, for regression) over those rows.
- **Warm-up**: rows until the learner's rolling quality (over ``warm_window(n)`` rows: 1/20 of
  the stream, between 50 and 500 rows) is first within one point of its steady accuracy (or
  within 1 % of its steady MAE). None: it never got there.
- **Paired test**: the steady rows are cut into ``BLOCKS`` (40) consecutive blocks; for two
  learners A and B the per-block differences of mean error are resampled with replacement
  (``RESAMPLES`` times, a fixed seed: the verdict is reproducible). The *confidence* that A is
  better is the share of resampled mean differences in A's favour. Whole blocks are resampled,
  not rows, because errors of neighbouring rows are correlated (a block bootstrap); with 40
  blocks it is close to a paired t-test on the block means, without assuming normality.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "STEADY_FRACTION",
    "count_labels",
    "paired_confidence",
    "steady",
    "steady_start",
    "warm_window",
]

STEADY_FRACTION = 0.2
BLOCKS = 40
RESAMPLES = 4000


def count_labels(counts: dict[Any, int], y: Any) -> None:
    """Add the rows per class of ``y`` to ``counts``.

    >>> c = {}; count_labels(c, np.array([1, 0, 1])); count_labels(c, ["a"]); c
    {0: 1, 1: 2, 'a': 1}
    """
    try:
        values, k = np.unique(np.asarray(y), return_counts=True)
        pairs = zip(values.tolist(), k.tolist())
    except TypeError:  # mixed label types do not sort
        from collections import Counter

        pairs = Counter(np.asarray(y, dtype=object).tolist()).items()
    for c, n in pairs:
        counts[c] = counts.get(c, 0) + int(n)


def rolling(err: np.ndarray, window: int, classifier: bool) -> np.ndarray:
    """``s[t]`` for t = 0..n: the metric over rows ``[max(t - window, 0), t)`` (s[0] is NaN).

    >>> rolling(np.array([0.0, 1.0, 1.0, 0.0]), 2, True).tolist()
    [nan, 1.0, 0.5, 0.0, 0.5]
    """
    c = np.concatenate([[0.0], np.cumsum(err, dtype=np.float64)])
    t = np.arange(len(c))
    lo = np.maximum(t - window, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (c - c[lo]) / (t - lo)
    return 1.0 - mean if classifier else mean


def steady_start(n: int) -> int:
    """The first row of the steady state of an ``n``-row run.

    >>> steady_start(45312), steady_start(10), steady_start(1), steady_start(0)
    (36250, 8, 0, 0)
    """
    return n - max(int(round(n * STEADY_FRACTION)), 1) if n else 0


def warm_window(n: int) -> int:
    """Rows of the rolling quality the warm-up is read from.

    >>> warm_window(12000), warm_window(500), warm_window(10**6)
    (500, 50, 500)
    """
    return int(min(max(n // 20, 50), 500))


def _warmup(err: np.ndarray, level: float, classifier: bool, window: int) -> int | None:
    s = rolling(err, window, classifier)[window:]
    with np.errstate(invalid="ignore"):
        ok = s >= level - 0.01 if classifier else s <= level * 1.01
    hit = np.nonzero(ok)[0]
    return int(hit[0] + window) if len(hit) else None


def steady(errors: dict[str, np.ndarray], classifier: bool) -> dict[str, Any]:
    """Per learner: steady quality, warm-up rows; and the steady rows' block errors.

    Learners that stopped before the end (an error) have no steady state (None).

    >>> err = {"a": np.r_[np.ones(500), np.zeros(1500)], "b": np.full(2000, 0.5)}
    >>> out = steady(err, True)
    >>> out["start"], out["per"]["a"], out["per"]["b"]["steady_accuracy"]
    (1600, {'steady_accuracy': 1.0, 'warmup_rows': 599}, 0.5)
    """
    n = max((len(e) for e in errors.values()), default=0)
    start = steady_start(n)
    window = warm_window(n)
    key = "steady_accuracy" if classifier else "steady_mae"
    per: dict[str, dict[str, Any]] = {}
    blocks: dict[str, list[float]] = {}
    for name, err in errors.items():
        err = np.asarray(err, dtype=np.float64)
        if len(err) < n or n == 0:
            per[name] = {key: None, "warmup_rows": None}
            continue
        tail = err[start:]
        mean = float(np.mean(tail))
        level = 1.0 - mean if classifier else mean
        per[name] = {key: level, "warmup_rows": _warmup(err, level, classifier, window)}
        parts = np.array_split(tail, min(BLOCKS, len(tail)))
        blocks[name] = [float(np.mean(p)) for p in parts]
    return {"start": start, "rows": n - start, "window": window, "per": per, "blocks": blocks}


def paired_confidence(a: list[float], b: list[float]) -> float:
    """Confidence (0..1) that the learner with block errors ``a`` is better than ``b``.

    >>> rng = np.random.default_rng(0)
    >>> b = list(rng.uniform(0.2, 0.3, 40))
    >>> round(paired_confidence([x - 0.05 for x in b], b), 3), paired_confidence(b, b)
    (1.0, 0.5)
    """
    d = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    if not len(d) or not np.all(np.isfinite(d)):
        return 0.5
    rng = np.random.default_rng(0)
    means = d[rng.integers(0, len(d), size=(RESAMPLES, len(d)))].mean(axis=1)
    return float((np.sum(means > 0) + 0.5 * np.sum(means == 0)) / RESAMPLES)
