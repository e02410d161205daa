"""Two-sample statistics comparing a reference window with a current window.

Numeric: PSI over fixed quantile bins of the reference, Kolmogorov–Smirnov (statistic and the
asymptotic two-sided p-value, as ``scipy.stats.ks_2samp(method="asymp")``), Wasserstein-1.
Categorical: chi-square test of homogeneity (as ``scipy.stats.chi2_contingency`` without Yates'
correction) and PSI over the categories.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["chi2_test", "ks_test", "psi", "quantile_edges", "wasserstein"]

# proportions are floored so that an empty bin gives a large but finite PSI term
PSI_EPSILON = 1e-4


def quantile_edges(reference: np.ndarray, n_bins: int) -> np.ndarray:
    """Inner bin edges: the reference's quantiles at 1/n_bins, ..., (n_bins-1)/n_bins (unique).

    >>> quantile_edges(np.arange(10.0), 2).tolist()
    [4.5]
    """
    qs = np.quantile(reference, np.arange(1, n_bins) / n_bins)
    return np.unique(qs)


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin, bins ``(-inf, e1], (e1, e2], ..., (ek, inf)``."""
    return np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Population stability index ``sum (c - r) ln(c / r)`` over bins (proportions floored).

    >>> round(psi(np.array([50, 50]), np.array([50, 50])), 12)
    0.0
    >>> psi(np.array([90, 10]), np.array([10, 90])) > 1
    True
    """
    r = np.maximum(ref_counts / max(ref_counts.sum(), 1), PSI_EPSILON)
    c = np.maximum(cur_counts / max(cur_counts.sum(), 1), PSI_EPSILON)
    return float(np.sum((c - r) * np.log(c / r)))


def ks_test(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sided two-sample KS statistic and asymptotic p-value.

    >>> d, p = ks_test(np.arange(100.0), np.arange(100.0) + 50)
    >>> round(d, 2), p < 1e-6
    (0.5, True)
    """
    a, b = np.sort(a), np.sort(b)
    n1, n2 = len(a), len(b)
    both = np.concatenate([a, b])
    diff = np.searchsorted(a, both, side="right") / n1 - np.searchsorted(b, both, side="right") / n2
    d = float(max(np.max(diff), np.clip(-np.min(diff), 0, 1)))
    m, n = sorted([float(n1), float(n2)], reverse=True)
    p = float(np.clip(stats.kstwo.sf(d, np.round(m * n / (m + n))), 0, 1))
    return d, p


def wasserstein(a: np.ndarray, b: np.ndarray) -> float:
    """Wasserstein-1 (earth mover's) distance between two empirical distributions.

    >>> wasserstein(np.array([0.0, 1.0]), np.array([1.0, 2.0]))
    1.0
    """
    a, b = np.sort(a), np.sort(b)
    both = np.sort(np.concatenate([a, b]))
    widths = np.diff(both)
    fa = np.searchsorted(a, both[:-1], side="right") / len(a)
    fb = np.searchsorted(b, both[:-1], side="right") / len(b)
    return float(np.sum(np.abs(fa - fb) * widths))


def chi2_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Chi-square test of homogeneity on the 2 x k table (categories seen in either window).

    >>> s, p = chi2_test(np.array([50, 50]), np.array([50, 50]))
    >>> s, p
    (0.0, 1.0)
    """
    keep = (ref_counts + cur_counts) > 0
    table = np.vstack([ref_counts[keep], cur_counts[keep]]).astype(np.float64)
    if table.shape[1] < 2:
        return 0.0, 1.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    stat = float(np.sum((table - expected) ** 2 / expected))
    p = float(stats.chi2.sf(stat, table.shape[1] - 1))
    return stat, p if not math.isnan(p) else 1.0
