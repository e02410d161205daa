"""Kernels of the incremental metrics: per-row window updates and the exact ROC AUC."""

from __future__ import annotations

import numpy as np

from tidal._kernels import jit


@jit
def window_counts_push(true_w, pred_w, tp_w, total, buf_t, buf_p, buf_w, pos, count, t, p, w):
    """Push rows into a sliding window of (true code, predicted code, weight), row by row.

    ``true_w[k]`` / ``pred_w[k]`` / ``tp_w[k]`` hold the weight of the rows in the window whose
    true / predicted / both labels are ``k``; ``total[0]`` the window's weight. A predicted code
    of -1 means "no prediction". When the window is full the oldest row is removed first, exactly
    as River's ``utils.Rolling`` reverts it. Returns the new (pos, count).
    """
    size = buf_t.shape[0]
    for i in range(t.shape[0]):
        if count == size:
            ot = buf_t[pos]
            op = buf_p[pos]
            ow = buf_w[pos]
            true_w[ot] -= ow
            total[0] -= ow
            if op >= 0:
                pred_w[op] -= ow
                if op == ot:
                    tp_w[ot] -= ow
        else:
            count += 1
        ti = t[i]
        pi = p[i]
        wi = w[i]
        buf_t[pos] = ti
        buf_p[pos] = pi
        buf_w[pos] = wi
        true_w[ti] += wi
        total[0] += wi
        if pi >= 0:
            pred_w[pi] += wi
            if pi == ti:
                tp_w[ti] += wi
        pos += 1
        if pos == size:
            pos = 0
    return pos, count


@jit
def roc_auc_groups(positive, weight, group_end):
    """Area under the ROC curve: rows sorted by decreasing score, ``group_end[g]`` is one past
    the last row of the ``g``-th group of tied scores (the trapezoid rule over tied groups, as
    scikit-learn's ``roc_auc_score``). Returns NaN when one of the two classes has no weight."""
    tp = 0.0
    fp = 0.0
    area = 0.0
    start = 0
    for g in range(group_end.shape[0]):
        end = group_end[g]
        dtp = 0.0
        dfp = 0.0
        for i in range(start, end):
            if positive[i] > 0.0:
                dtp += weight[i]
            else:
                dfp += weight[i]
        area += dfp * (tp + 0.5 * dtp)
        tp += dtp
        fp += dfp
        start = end
    if tp <= 0.0 or fp <= 0.0:
        return np.nan
    return area / (tp * fp)
