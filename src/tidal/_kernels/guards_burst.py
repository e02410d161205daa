"""Kernel of the model-independent label-burst detector (``tidal.guards.BurstDetector``).

A small reference model (running standardisation + softmax regression by SGD) predicts each row
before it may learn it; a CUSUM on its 0/1 errors raises an alarm when the error rate jumps to
what flipped labels give (about the reference's accuracy), and a second CUSUM ends the alarm when
errors fall back under one half. Rows are walked in order and the state changes row by row, so
the verdicts do not depend on the block size.

State layout (float64 vector ``s``): see the ``_S_*`` indices. The kernel returns at the first
event so the caller can act (roll learners back) before the next row.
"""

from __future__ import annotations

import math

import numpy as np

from tidal._kernels import jit

# state slots
S_MODE, S_CUSUM, S_ZERO, S_END, S_END_ZERO, S_BASE, S_SEEN, S_DUR, S_K, S_NSTD = range(10)
STATE_SIZE = 10
# events returned by burst_scan
NONE, ALARM, END, LASTING = 0, 1, 2, 3


@jit
def reference_predict(x, mean, m2, nstd, W, z):
    """Class code the reference predicts for row ``x`` (-1 before it has learned any row)."""
    m = x.shape[0]
    K = W.shape[0]
    if nstd < 1:
        return -1
    for j in range(m):
        sd = math.sqrt(m2[j] / nstd) if nstd > 1 else 1.0
        z[j] = (x[j] - mean[j]) / sd if sd > 1e-12 else 0.0
    best, arg = -1e300, 0
    for c in range(K):
        a = W[c, m]
        for j in range(m):
            a += W[c, j] * z[j]
        if a > best:
            best, arg = a, c
    return arg


@jit
def reference_learn(x, yc, mean, m2, s, W, z, lr):
    """One SGD step of softmax regression on the standardised row (updates the scaler first)."""
    m = x.shape[0]
    K = W.shape[0]
    s[S_NSTD] += 1.0
    n = s[S_NSTD]
    for j in range(m):
        d = x[j] - mean[j]
        mean[j] += d / n
        m2[j] += d * (x[j] - mean[j])
    for j in range(m):
        sd = math.sqrt(m2[j] / n) if n > 1 else 1.0
        z[j] = (x[j] - mean[j]) / sd if sd > 1e-12 else 0.0
    p = np.empty(K)
    top = -1e300
    for c in range(K):
        a = W[c, m]
        for j in range(m):
            a += W[c, j] * z[j]
        p[c] = a
        if a > top:
            top = a
    tot = 0.0
    for c in range(K):
        p[c] = math.exp(p[c] - top)
        tot += p[c]
    for c in range(K):
        g = p[c] / tot - (1.0 if c == yc else 0.0)
        for j in range(m):
            W[c, j] -= lr * g * z[j]
        W[c, m] -= lr * g


@jit
def reference_learn_many(X, yc, mean, m2, s, W, lr):
    z = np.empty(X.shape[1])
    for i in range(X.shape[0]):
        reference_learn(X[i], yc[i], mean, m2, s, W, z, lr)


@jit
def burst_scan(X, yc, learnable, rows, s, mean, m2, W, p, err_out):
    """Walk rows until an event; returns ``(index, event, estimated_row)``.

    ``p``: h, h_end, margin, alpha, warmup, max_duration, lr, learn_below (fraction of h).
    Normal mode: predict, add the error to the CUSUM ``S = max(0, S + err - k)`` with
    ``k = (max(0.5, e0 + margin) + 1 - e0) / 2`` (half-way between the worst error rate a real
    change is assumed to give and the rate flipped labels give), learn the row while ``S`` is
    under ``learn_below * h`` (a suspicious stretch does not teach the reference). Alarm when
    ``S > h``; the burst's start is the row after ``S`` was last zero. In the alarm the
    reference is frozen; ``T = max(0, T + 0.5 - err)`` ends it when ``T > h_end`` (end: the row
    after ``T`` was last zero), or after ``max_duration`` rows (a lasting change, not a burst).
    """
    h, h_end, margin, alpha, warmup, max_dur, lr, below = (
        p[0],
        p[1],
        p[2],
        p[3],
        p[4],
        p[5],
        p[6],
        p[7],
    )
    n, m = X.shape
    z = np.empty(m)
    for i in range(n):
        if not learnable[i]:
            err_out[i] = np.nan
            continue
        code = reference_predict(X[i], mean, m2, s[S_NSTD], W, z)
        err = 1.0 if code != yc[i] else 0.0
        err_out[i] = err
        if s[S_MODE] == 0.0:
            if s[S_SEEN] >= warmup:
                e0 = s[S_BASE]
                hi = max(0.5, e0 + margin)
                e1 = 1.0 - e0
                if e1 - hi >= 0.1:
                    k = 0.5 * (hi + e1)
                    s[S_CUSUM] = max(0.0, s[S_CUSUM] + err - k)
                    if s[S_CUSUM] == 0.0:
                        s[S_ZERO] = rows[i] + 1
                    if s[S_CUSUM] > h:
                        s[S_MODE] = 1.0
                        s[S_END] = 0.0
                        s[S_END_ZERO] = rows[i] + 1
                        s[S_DUR] = 0.0
                        return i, ALARM, s[S_ZERO]
                else:
                    s[S_CUSUM] = 0.0
                    s[S_ZERO] = rows[i] + 1
            s[S_SEEN] += 1.0
            a = max(alpha, 1.0 / s[S_SEEN])
            s[S_BASE] += a * (err - s[S_BASE])
            if s[S_CUSUM] <= below * h:
                reference_learn(X[i], yc[i], mean, m2, s, W, z, lr)
        else:
            s[S_DUR] += 1.0
            s[S_END] = max(0.0, s[S_END] + 0.5 - err)
            if s[S_END] == 0.0:
                s[S_END_ZERO] = rows[i] + 1
            if s[S_END] > h_end or s[S_DUR] > max_dur:
                event = END if s[S_END] > h_end else LASTING
                s[S_MODE] = 0.0
                s[S_CUSUM] = 0.0
                s[S_ZERO] = rows[i] + 1
                return i, event, s[S_END_ZERO]
    return n, NONE, -1.0
