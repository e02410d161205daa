"""ADWIN (Bifet & Gavaldà, 2007) on one flat float64 state array.

A line-by-line port of River 0.26.1's ``rust_src/adwin.rs`` (itself a port of the former
``adwin_c.pyx``): the exponential histogram keeps, for each level ``i``, up to ``max_buckets + 1``
buckets summarising ``2**i`` values each; every ``clock`` updates, once the window is longer than
``grace_period``, every cut point between buckets is tested and the oldest bucket is dropped while
some cut shows a significant difference of means. Operations happen in the same order as River's,
so the floating-point results and hence the alarms are identical.

Layout. ``p = [delta, clock, max_buckets, min_window_length, grace_period]``;
``s`` = header (see the ``_`` constants) + ``counts[ADWIN_LEVELS]``
+ ``totals[ADWIN_LEVELS * cap]`` + ``variances[ADWIN_LEVELS * cap]`` with ``cap = max_buckets + 1``.
``s[0]`` is the drift flag of the last update (River resets ADWIN at the update following a drift;
so does :func:`adwin_update`), ``s[1]`` the (always zero) warning flag.
"""

from __future__ import annotations

import math

import numpy as np

from tidal._kernels import jit

ADWIN_LEVELS = 64  # 5 * 2**63 values: more than a float64 width can count exactly
_DRIFT, _WARNING, _TOTAL, _VARIANCE, _WIDTH, _TOTAL_WIDTH = 0, 1, 2, 3, 4, 5
_N_BUCKETS, _MAX_N_BUCKETS, _TICK, _N_DETECTIONS, _N_LEVELS = 6, 7, 8, 9, 10
ADWIN_HEADER = 11


def adwin_state_size(max_buckets: int) -> int:
    return ADWIN_HEADER + ADWIN_LEVELS * (1 + 2 * (max_buckets + 1))


@jit
def adwin_reset(s: np.ndarray) -> None:
    """Empty the window (``n_detections`` is kept: it counts over the detector's whole life)."""
    n_detections = s[_N_DETECTIONS]
    s[:] = 0.0
    s[_N_LEVELS] = 1.0
    s[_N_DETECTIONS] = n_detections


@jit
def _slot(cap: int, level: int, k: int) -> int:
    return ADWIN_HEADER + ADWIN_LEVELS + level * cap + k


@jit
def _insert(s: np.ndarray, cap: int, level: int, value: float, variance: float) -> None:
    c = ADWIN_HEADER + level
    k = int(s[c])
    i = _slot(cap, level, k)
    s[i] = value
    s[i + ADWIN_LEVELS * cap] = variance
    s[c] = k + 1


@jit
def _compress(s: np.ndarray, cap: int, level: int, n_elements: int) -> None:
    """Drop the ``n_elements`` oldest buckets of ``level``."""
    c = ADWIN_HEADER + level
    current = int(s[c])
    base = _slot(cap, level, 0)
    off = ADWIN_LEVELS * cap
    for k in range(n_elements, current):
        s[base + k - n_elements] = s[base + k]
        s[base + off + k - n_elements] = s[base + off + k]
    for k in range(current - n_elements, current):
        s[base + k] = 0.0
        s[base + off + k] = 0.0
    s[c] = current - n_elements


@jit
def _compress_buckets(s: np.ndarray, cap: int, max_buckets: int) -> None:
    idx = 0
    off = ADWIN_LEVELS * cap
    while True:
        if int(s[ADWIN_HEADER + idx]) != max_buckets + 1:
            break
        n1 = float(1 << idx)
        i0 = _slot(cap, idx, 0)
        t0, t1 = s[i0], s[i0 + 1]
        v0, v1 = s[i0 + off], s[i0 + 1 + off]
        mu1 = t0 / n1
        mu2 = t1 / n1
        total12 = t0 + t1
        temp = n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2)
        v12 = v0 + v1 + temp
        if idx + 1 >= int(s[_N_LEVELS]):
            s[_N_LEVELS] = idx + 2
        _insert(s, cap, idx + 1, total12, v12)
        s[_N_BUCKETS] += 1.0
        _compress(s, cap, idx, 2)
        if int(s[ADWIN_HEADER + idx + 1]) <= max_buckets:
            break
        idx += 1


@jit
def _insert_element(s: np.ndarray, cap: int, max_buckets: int, value: float) -> None:
    _insert(s, cap, 0, value, 0.0)
    s[_N_BUCKETS] += 1.0
    if s[_N_BUCKETS] > s[_MAX_N_BUCKETS]:
        s[_MAX_N_BUCKETS] = s[_N_BUCKETS]
    s[_WIDTH] += 1.0
    width = s[_WIDTH]
    incremental_variance = 0.0
    if width > 1.0:
        delta_v = value - s[_TOTAL] / (width - 1.0)
        incremental_variance = (width - 1.0) * delta_v * delta_v / width
    s[_VARIANCE] += incremental_variance
    s[_TOTAL] += value
    _compress_buckets(s, cap, max_buckets)


@jit
def _delete_element(s: np.ndarray, cap: int) -> None:
    last = int(s[_N_LEVELS]) - 1
    n = float(1 << last)
    i0 = _slot(cap, last, 0)
    u = s[i0]
    v = s[i0 + ADWIN_LEVELS * cap]
    mu = u / n
    s[_WIDTH] -= n
    s[_TOTAL] -= u
    width = s[_WIDTH]
    mu_window = s[_TOTAL] / width
    inc = v + n * width * (mu - mu_window) * (mu - mu_window) / (n + width)
    s[_VARIANCE] -= inc
    _compress(s, cap, last, 1)
    s[_N_BUCKETS] -= 1.0
    if s[ADWIN_HEADER + last] == 0.0:
        s[_N_LEVELS] = last


@jit
def _cut_once(s: np.ndarray, cap: int, delta: float, min_len: float) -> bool:
    """Scan the cut points from the oldest bucket on; drop the oldest bucket at the first
    significant cut. Returns whether a bucket was dropped."""
    n0 = 0.0
    n1 = s[_WIDTH]
    u0 = 0.0
    u1 = s[_TOTAL]
    # River's evaluate_cut recomputes these two for every cut point; they only change with the
    # width, i.e. after a bucket is dropped and this scan ends, so computing them once is exact
    width = s[_WIDTH]
    delta_prime = math.log(2.0 * math.log(width) / delta)
    variance_in_window = s[_VARIANCE] / width
    for idx in range(int(s[_N_LEVELS]) - 1, -1, -1):
        bucket_size = float(1 << idx)
        current = int(s[ADWIN_HEADER + idx])
        base = _slot(cap, idx, 0)
        for k in range(current):
            n0 += bucket_size
            n1 -= bucket_size
            total_at = s[base + k]
            u0 += total_at
            u1 -= total_at
            if idx == 0 and k == current - 1:
                return False
            if n1 >= min_len and n0 >= min_len:
                delta_mean = (u0 / n0) - (u1 / n1)
                m_recip = 1.0 / (n0 - min_len + 1.0) + 1.0 / (n1 - min_len + 1.0)
                epsilon = (
                    math.sqrt(2.0 * m_recip * variance_in_window * delta_prime)
                    + 2.0 / 3.0 * delta_prime * m_recip
                )
                if abs(delta_mean) > epsilon:
                    _delete_element(s, cap)
                    return True
    return False


@jit
def adwin_update(p: np.ndarray, s: np.ndarray, x: float) -> bool:
    """Add ``x``; return whether ADWIN detected a change (its window then shrank)."""
    if s[_DRIFT] != 0.0:
        adwin_reset(s)
    max_buckets = int(p[2])
    cap = max_buckets + 1
    _insert_element(s, cap, max_buckets, x)
    change = False
    # River tests tick % clock == 0; keeping the tick modulo clock is the same test, without a
    # floating-point remainder
    tick = s[_TICK] + 1.0
    if tick == p[1]:
        tick = 0.0
    s[_TICK] = tick
    if tick == 0.0 and s[_WIDTH] > p[4]:
        while _cut_once(s, cap, p[0], p[3]):
            change = True
    s[_TOTAL_WIDTH] += s[_WIDTH]
    if change:
        s[_N_DETECTIONS] += 1.0
    s[_DRIFT] = 1.0 if change else 0.0
    return change
