"""Synthetic streams with known change points and a River-style driver, for the drift tests."""

from __future__ import annotations

import numpy as np


def bernoulli(seed: int, n: int = 3000, rates=(0.1, 0.5, 0.1), at=(1000, 2000)) -> np.ndarray:
    """Error bits whose rate jumps from ``rates[i]`` to ``rates[i + 1]`` at ``at[i]``."""
    rng = np.random.default_rng(seed)
    p = np.full(n, rates[0])
    for r, a in zip(rates[1:], at):
        p[a:] = r
    return (rng.random(n) < p).astype(np.float64)


def bernoulli_gradual(seed: int, n: int = 3000, lo=0.1, hi=0.5, start=1000, end=2000):
    """Error bits whose rate ramps linearly from ``lo`` to ``hi`` between ``start`` and ``end``."""
    rng = np.random.default_rng(seed)
    p = np.interp(np.arange(n), [start, end], [lo, hi])
    return (rng.random(n) < p).astype(np.float64)


def gaussian(seed: int, n: int = 3000, means=(0.0, 2.0, -1.0), at=(1000, 2000)) -> np.ndarray:
    """Unit-variance Gaussian values whose mean jumps at ``at``."""
    rng = np.random.default_rng(seed)
    mu = np.full(n, means[0])
    for m, a in zip(means[1:], at):
        mu[a:] = m
    return rng.normal(mu, 1.0)


def run_one_by_one(det, xs: np.ndarray) -> tuple[list[int], list[int]]:
    """Positions after which ``det`` (River's or tidal's) signalled a drift, and a warning."""
    alarms, warnings = [], []
    for i, x in enumerate(xs.tolist()):
        det.update(x)
        if det.drift_detected:
            alarms.append(i)
        if getattr(det, "warning_detected", False):
            warnings.append(i)
    return alarms, warnings
