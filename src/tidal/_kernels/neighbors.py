# ruff: noqa: ANN001  (numba kernels: untyped array arguments, as in tidal._kernels)
"""k-nearest-neighbour kernels over a sliding window (a ring buffer), exact brute-force search.

Neighbours are ranked by Euclidean distance; equal distances keep the older row first (River's
``LazySearch`` ranks ``(distance, position in the window)``).
"""

from __future__ import annotations

import math

import numpy as np

from tidal._kernels import jit

# meta (int64)
M_COUNT = 0  # rows in the window
M_HEAD = 1  # where the next row is written
M_NCLASSES = 2  # classes learned so far (codes are in order of appearance)
N_META = 3


@jit
def _search(x, win_T, meta, k, best_d, best_t, acc):
    """The ``k`` nearest rows: fills best_d (distances) and best_t (window slots).

    ``win_T[f, slot]`` holds the window feature by feature; ``acc`` is scratch of one float per
    slot. Each slot's sum of squares adds its features in column order, as a row-by-row loop
    would: the distances are the same to the bit."""
    W = win_T.shape[1]
    count = meta[M_COUNT]
    # the filled slots are 0..count-1 (until the window is full, rows go in from slot 0)
    for p in range(count):
        acc[p] = 0.0
    for f in range(win_T.shape[0]):
        xf = x[f]
        col = win_T[f]
        for p in range(count):
            d = xf - col[p]
            acc[p] += d * d
    start = (meta[M_HEAD] - count) % W
    m = 0
    # a little above the k-th best distance squared: a row with a larger sum of squares
    # has sqrt(sum) > that distance (the margin covers both roundings), so needs no sqrt
    worst = np.inf
    # oldest to newest: the ring's two runs, without a modulo per row
    for a, b in ((start, min(start + count, W)), (0, max(0, start + count - W))):
        for pos in range(a, b):
            if acc[pos] > worst:
                continue
            dist = math.sqrt(acc[pos])
            if m < k:
                j = m
                m += 1
            elif dist < best_d[m - 1]:
                j = m - 1
            else:
                continue
            while j > 0 and best_d[j - 1] > dist:
                best_d[j] = best_d[j - 1]
                best_t[j] = best_t[j - 1]
                j -= 1
            best_d[j] = dist
            best_t[j] = pos
            if m == k:
                worst = best_d[m - 1] * best_d[m - 1] * (1.0 + 1e-15)
    return m


@jit
def _append(x, yv, win_T, win_y, meta):
    W = win_T.shape[1]
    head = meta[M_HEAD]
    win_T[:, head] = x
    win_y[head] = yv
    meta[M_HEAD] = (head + 1) % W
    if meta[M_COUNT] < W:
        meta[M_COUNT] += 1


@jit
def knn_classifier_step(
    Xp, Xl, y, out, do_pred, do_learn, win_T, win_y, meta, k, weighted, softmax
):
    n = out.shape[0]
    best_d = np.empty(k)
    best_t = np.empty(k, dtype=np.int64)
    sq = np.empty(win_T.shape[1])
    for i in range(n):
        if do_pred:
            m = _search(Xp[i], win_T, meta, k, best_d, best_t, sq)
            known = meta[M_NCLASSES]
            if m > 0:
                row = out[i]
                if best_d[0] == 0.0:
                    row[int(win_y[best_t[0]])] = 1.0
                else:
                    for r in range(m):
                        row[int(win_y[best_t[r]])] += 1.0 / best_d[r] if weighted else 1.0
                    if softmax:
                        mx = -np.inf
                        for c in range(known):
                            mx = max(mx, row[c])
                        total = 0.0
                        for c in range(known):
                            row[c] = math.exp(row[c] - mx)
                            total += row[c]
                    else:
                        total = 0.0
                        for c in range(known):
                            total += row[c]
                    for c in range(known):
                        row[c] /= total
        if do_learn:
            _append(Xl[i], float(y[i]), win_T, win_y, meta)
            if y[i] + 1 > meta[M_NCLASSES]:
                meta[M_NCLASSES] = y[i] + 1


@jit
def knn_regressor_step(Xp, Xl, y, out, do_pred, do_learn, win_T, win_y, meta, k, method):
    """``method``: 0 mean, 1 median, 2 distance-weighted mean."""
    n = out.shape[0]
    best_d = np.empty(k)
    best_t = np.empty(k, dtype=np.int64)
    sq = np.empty(win_T.shape[1])
    vals = np.empty(k)
    for i in range(n):
        if do_pred:
            m = _search(Xp[i], win_T, meta, k, best_d, best_t, sq)
            if m == 0:
                out[i] = 0.0
            elif best_d[0] == 0.0:
                out[i] = win_y[best_t[0]]
            else:
                for r in range(m):
                    vals[r] = win_y[best_t[r]]
                if method == 1:
                    s = np.sort(vals[:m])
                    h = m // 2
                    out[i] = s[h] if m % 2 == 1 else (s[h - 1] + s[h]) / 2.0
                else:
                    inv = 0.0
                    for r in range(m):
                        inv += 1.0 / best_d[r]
                    if method == 0 or inv == 0.0:
                        out[i] = _mean(vals, m)
                    else:
                        acc = 0.0
                        for r in range(m):
                            acc += vals[r] / best_d[r]
                        out[i] = acc / inv
        if do_learn:
            _append(Xl[i], y[i], win_T, win_y, meta)


@jit
def _mean(vals, m):
    # Neumaier-compensated sum: close to ``statistics.mean``, which rounds an exact sum
    s = 0.0
    comp = 0.0
    for r in range(m):
        v = vals[r]
        t = s + v
        if abs(s) >= abs(v):
            comp += (s - t) + v
        else:
            comp += (v - t) + s
        s = t
    return (s + comp) / m
