"""Kernels of the data-quality guards: growing robust bounds, robust z-scores and burst alarms.

Every kernel walks the rows in order and updates its state row by row, so a block of one row and
a block of 4,096 rows give the same verdicts. NaN cells are "not applicable" (the missing-value
rule deals with them) and never move any state.
"""

from __future__ import annotations

from tidal._kernels import inlined, jit


@inlined
def robust_scale(floor, dev):
    """A column's scale: its floor, or its mean absolute deviation times sqrt(pi/2) (the
    normal-consistent factor) when that is larger."""
    return max(floor, 1.2533141373155001 * dev)


@inlined
def follow(V, i, center, dev, alpha):
    """Move each column's running centre and mean absolute deviation toward row ``i`` of ``V``
    (exponentially weighted by ``alpha``); NaN cells move nothing."""
    for j in range(V.shape[1]):
        x = V[i, j]
        if x != x:
            continue
        center[j] += alpha * (x - center[j])
        dev[j] += alpha * (abs(x - center[j]) - dev[j])


@jit
def bounds_check_grow(V, skip, lo, hi, base_scale, ew_mean, ew_dev, k, alpha, bad, lo_at, hi_at):
    """Flag cells outside ``[lo, hi]``; rows that pass widen the bounds around their values.

    A row updates the state only when ``skip`` is False and every one of its cells is in bounds,
    so a corrupted row never moves the bounds. The slack around an accepted value is ``k`` times
    the column's scale: the larger of ``base_scale`` (from the schema, floored) and a running
    mean absolute deviation (times sqrt(pi/2), the normal-consistent factor) of accepted values.
    ``lo_at``/``hi_at`` receive the bounds each cell was checked against. Returns the number of
    rows that updated the state.
    """
    n, m = V.shape
    n_updates = 0
    for i in range(n):
        row_ok = True
        for j in range(m):
            x = V[i, j]
            lo_at[i, j] = lo[j]
            hi_at[i, j] = hi[j]
            if x == x and (x < lo[j] or x > hi[j]):
                bad[i, j] = True
                row_ok = False
        if skip[i] or not row_ok:
            continue
        n_updates += 1
        follow(V, i, ew_mean, ew_dev, alpha)
        for j in range(m):
            x = V[i, j]
            if x != x:
                continue
            scale = robust_scale(base_scale[j], ew_dev[j])
            if x - k * scale < lo[j]:
                lo[j] = x - k * scale
            if x + k * scale > hi[j]:
                hi[j] = x + k * scale
    return n_updates


@jit
def robust_z(V, skip, center, dev, floor, alpha, z):
    """Per row, the largest ``|x - center| / scale`` over the columns (NaN cells ignored).

    ``center`` and ``dev`` are running (exponentially weighted) location and mean absolute
    deviation, updated by rows whose ``skip`` is False after their score was computed; the
    scale is ``max(floor, sqrt(pi/2) * dev)``.
    """
    n, m = V.shape
    for i in range(n):
        best = 0.0
        for j in range(m):
            x = V[i, j]
            if x != x:
                continue
            s = abs(x - center[j]) / robust_scale(floor[j], dev[j])
            if s > best:
                best = s
        z[i] = best
        if not skip[i]:
            follow(V, i, center, dev, alpha)


# burst state: fast rate, slow (baseline) rate, events seen, alarm flag, rows in the alarm
BURST_STATE_SIZE = 5


@jit
def burst_update(state, events, groups, p, alarm):
    """Rate-jump alarm per group (a source): ``alarm[i]`` is the alarm state after row ``i``.

    ``events[i]`` is 1.0 (a rejection / a disagreement), 0.0, or NaN (not applicable: the row
    leaves the state alone). ``state`` has one row of BURST_STATE_SIZE per group. ``p`` holds
    alpha_fast, alpha_slow, delta, min_rate, warmup, max_duration, release. The alarm goes on
    when the fast rate exceeds the baseline by ``delta`` (and is at least ``min_rate``), and off
    when the excess falls under ``release * delta`` or the alarm has lasted ``max_duration``
    events (then the new rate becomes the baseline: a lasting change is a new normal, not a
    burst). The baseline is frozen while the alarm is on, so a long burst cannot teach it that
    the burst is normal.
    """
    a_fast, a_slow, delta, min_rate, warmup, max_duration = p[0], p[1], p[2], p[3], p[4], p[5]
    release = p[6]
    for i in range(events.shape[0]):
        g = groups[i]
        e = events[i]
        s = state[g]
        if e == e:
            s[2] += 1.0
            # a running mean until 1/alpha events are seen, so the start carries no bias
            s[0] += max(a_fast, 1.0 / s[2]) * (e - s[0])
            if s[3] == 0.0:
                s[1] += max(a_slow, 1.0 / s[2]) * (e - s[1])
            if s[3] != 0.0:
                s[4] += 1.0
                if s[0] - s[1] < release * delta:
                    s[3] = 0.0
                elif s[4] >= max_duration:
                    s[3] = 0.0
                    s[1] = s[0]
            elif s[2] >= warmup and s[0] - s[1] > delta and s[0] >= min_rate:
                s[3] = 1.0
                s[4] = 0.0
        alarm[i] = s[3] != 0.0


@jit
def first_seen_max(ts, skip, last, out_back, tolerance):
    """Timestamps going backwards: ``ts[i] < max(previous accepted ts) - tolerance``.

    ``last`` is a 1-element array with the running maximum (NaN before the first row).
    """
    for i in range(ts.shape[0]):
        t = ts[i]
        if t != t:
            continue
        if last[0] == last[0] and t < last[0] - tolerance:
            out_back[i] = True
            continue
        if not skip[i] and (last[0] != last[0] or t > last[0]):
            last[0] = t
