"""ADWIN (Bifet & Gavaldà, 2007) on one flat float64 state array.

Computes what River 0.26.1's ``rust_src/adwin.rs`` (a port of the former ``adwin_c.pyx``)
computes: the exponential histogram keeps, for each level ``i``, up to ``max_buckets + 1`` buckets
summarising ``2**i`` values each; every ``clock`` updates, once the window is longer than
``grace_period``, every cut point between buckets is tested and the oldest bucket is dropped while
some cut shows a significant difference of means. Every number River stores or compares is
computed by the same floating-point operations in the same order (or by operations that give the
same bits, e.g. a product by ``2**-i`` for a quotient by ``2**i``), so the states and the alarms
are identical. Work whose result cannot change a decision is skipped (see :func:`_scan`).

Layout. ``p = [delta, clock, max_buckets, min_window_length, grace_period]``;
``s`` = header (see the ``_`` constants) + ``counts[ADWIN_LEVELS]``
+ ``totals[ADWIN_LEVELS * cap]`` + ``variances[ADWIN_LEVELS * cap]`` with ``cap = max_buckets + 1``.
``s[0]`` is the drift flag of the last update (River resets ADWIN at the update following a drift;
so does :func:`adwin_update`), ``s[1]`` the (always zero) warning flag.

Entry points: :func:`adwin_update` (one value; also called from the tree and forest kernels, one
detector per node or member), :func:`adwin_update_many` (a whole array) and
:func:`adwin_update_at` (pending values of the Python ``ADWIN.update``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import carray

from tidal._kernels import jit, njit
from tidal._kernels.drift_buffer import detector_at, f64_ptr

ADWIN_LEVELS = 64  # 5 * 2**63 values: more than a float64 width can count exactly
_DRIFT, _WARNING, _TOTAL, _VARIANCE, _WIDTH, _TOTAL_WIDTH = 0, 1, 2, 3, 4, 5
_N_BUCKETS, _MAX_N_BUCKETS, _TICK, _N_DETECTIONS, _N_LEVELS = 6, 7, 8, 9, 10
ADWIN_HEADER = 11
_COUNTS = ADWIN_HEADER
_TOTALS = ADWIN_HEADER + ADWIN_LEVELS
# a margin far above the rounding errors (~1e-16) of the quantities compared with it in _scan
_SAFE = 1e-12


def _inlined(fn):  # type: ignore[no-untyped-def]
    """Small helpers of the hot loops: inlined by numba itself (a call would spill registers)."""
    return njit(cache=True, nogil=True, inline="always")(fn)


def adwin_state_size(max_buckets: int) -> int:
    return ADWIN_HEADER + ADWIN_LEVELS * (1 + 2 * (max_buckets + 1))


@jit
def adwin_reset(s: np.ndarray) -> None:
    """Empty the window (``n_detections`` is kept: it counts over the detector's whole life)."""
    n_detections = s[_N_DETECTIONS]
    s[:] = 0.0
    s[_N_LEVELS] = 1.0
    s[_N_DETECTIONS] = n_detections


@_inlined
def _window_add(width: float, total: float, variance: float, x: float) -> tuple:
    """River's ``insert_element``: the window's width, total and variance with ``x`` added."""
    width += 1.0
    incremental_variance = 0.0
    if width > 1.0:
        delta_v = x - total / (width - 1.0)
        incremental_variance = (width - 1.0) * delta_v * delta_v / width
    return width, total + x, variance + incremental_variance


@_inlined
def _drop_two(s: np.ndarray, base: int, cap: int) -> None:
    """Move the ``cap - 2`` newest buckets of a level to its front and zero the freed slots (as
    River does, so that equal histories give equal arrays). Written two by two: a plain loop
    becomes a call to ``memmove``, which costs more than these few moves."""
    if cap == 6:  # max_buckets == 5, the default: straight-line code (about 10% faster)
        a = s[base + 2]
        b = s[base + 3]
        c = s[base + 4]
        d = s[base + 5]
        s[base] = a
        s[base + 1] = b
        s[base + 2] = c
        s[base + 3] = d
        s[base + 4] = 0.0
        s[base + 5] = 0.0
        return
    j = 0
    while j < cap - 3:
        a = s[base + j + 2]
        b = s[base + j + 3]
        s[base + j] = a
        s[base + j + 1] = b
        j += 2
    if j < cap - 2:
        s[base + j] = s[base + j + 2]
    s[base + cap - 2] = 0.0
    s[base + cap - 1] = 0.0


@_inlined
def _carry(
    s: np.ndarray, counts: np.ndarray, c0: int, cap: int, level: int, t: float, v: float
) -> tuple:
    """Insert the bucket ``(t, v)`` at ``level`` >= 1, then merge the two oldest buckets of each
    level that overflows into the next (River's ``compress_buckets``). The bucket counts of the
    levels are ``counts[c0 + level]`` (``s`` itself, or an int copy in :func:`_run`). Returns
    the highest level touched and the number of merges."""
    off = ADWIN_LEVELS * cap  # from a bucket's total to its variance
    k = int(counts[c0 + level])
    i = _TOTALS + level * cap + k
    s[i] = t
    s[i + off] = v
    k += 1
    merges = 0
    n1 = float(1 << level)
    inv = 1.0 / n1  # exact, and t * 2**-level is t / 2**level, bit for bit
    while k == cap:
        base = _TOTALS + level * cap
        t0 = s[base]
        t1 = s[base + 1]
        mu1 = t0 * inv
        mu2 = t1 * inv
        total12 = t0 + t1
        temp = n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2)
        v12 = s[base + off] + s[base + off + 1] + temp
        _drop_two(s, base, cap)
        _drop_two(s, base + off, cap)
        counts[c0 + level] = cap - 2
        level += 1
        merges += 1
        n1 *= 2.0
        inv *= 0.5
        k = int(counts[c0 + level])
        i = _TOTALS + level * cap + k
        s[i] = total12
        s[i + off] = v12
        k += 1
    counts[c0 + level] = k
    return level, merges


@_inlined
def _merge_level_0(s: np.ndarray, counts: np.ndarray, c0: int, cap: int) -> tuple:
    """Level 0 is full (``cap`` buckets): merge its two oldest into level 1 (``counts`` as in
    :func:`_carry`; the caller sets the level-0 count to ``cap - 2``). Returns the highest level
    touched and the number of merges. Level-0 variances are never written: all are 0."""
    # River's merge with n1 = 1: mu = t / 1 = t
    t0 = s[_TOTALS]
    t1 = s[_TOTALS + 1]
    temp = 1.0 * 0.5 * (t0 - t1) * (t0 - t1)
    _drop_two(s, _TOTALS, cap)
    top, merges = _carry(s, counts, c0, cap, 1, t0 + t1, 0.0 + 0.0 + temp)
    return top, merges + 1


@jit
def _delete_oldest(s: np.ndarray, cap: int) -> None:
    """River's ``delete_element``: drop the oldest bucket (the first of the highest level)."""
    last = int(s[_N_LEVELS]) - 1
    n = float(1 << last)
    base = _TOTALS + last * cap
    off = ADWIN_LEVELS * cap
    u = s[base]
    v = s[base + off]
    mu = u / n
    s[_WIDTH] -= n
    s[_TOTAL] -= u
    width = s[_WIDTH]
    mu_window = s[_TOTAL] / width
    inc = v + n * width * (mu - mu_window) * (mu - mu_window) / (n + width)
    s[_VARIANCE] -= inc
    current = int(s[_COUNTS + last])
    for j in range(current - 1):
        s[base + j] = s[base + j + 1]
        s[base + off + j] = s[base + off + j + 1]
    s[base + current - 1] = 0.0
    s[base + off + current - 1] = 0.0
    s[_COUNTS + last] = current - 1
    s[_N_BUCKETS] -= 1.0
    if current == 1:
        # River drops the emptied level. With max_buckets == 1 the levels below it can be empty
        # too; River keeps them and its next deletion fails ("slice index starts at 1 but ends
        # at 0"): dropping them as well changes nothing else (no cut point lies in an empty level)
        while last > 0 and s[_COUNTS + last - 1] == 0.0:
            last -= 1
        s[_N_LEVELS] = last


@_inlined
def _epsilon(m_recip: float, variance_in_window: float, delta_prime: float, c: float) -> float:
    """River's ``evaluate_cut`` threshold, ``c`` being ``2 / 3 * delta_prime``."""
    return math.sqrt(2.0 * m_recip * variance_in_window * delta_prime) + c * m_recip


@jit
def _scan(s: np.ndarray, cap: int, delta: float, min_len: float) -> bool:
    """One pass of River's cut check: the cut points from the oldest bucket on; drop the oldest
    bucket at the first significant cut. Returns whether a bucket was dropped.

    River computes, at every cut point whose sides are both at least ``min_len`` long,
    ``delta_mean = u0/n0 - u1/n1`` and ``epsilon(m)``, ``m = 1/(n0-min_len+1) + 1/(n1-min_len+1)``,
    and cuts if ``|delta_mean| > epsilon(m)``. ``epsilon`` is computed by IEEE operations that
    are monotone in ``m`` (every other factor is positive whenever a cut point is tested), so a
    lower bound of ``m`` gives a lower bound of ``epsilon`` and a cut point under that bound
    cannot cut. Two bounds: for the whole pass, ``m >= 4/(n0+n1-2*min_len+2)`` (shrunk by
    ``_SAFE`` to cover rounding); for the rest of a level, ``m`` at the level's last ``n0`` and
    current ``n1`` (``n0`` only grows and ``n1`` only shrinks). Against the first, the test
    ``|u0*n1 - u1*n0| <= bound*n0*n1`` needs no division; its rounding, a few 1e-16 of
    ``|u0|*n1 + |u1|*n0`` and of the bound, is covered by a ``_SAFE`` share of that sum and by
    shrinking the bound by ``_SAFE`` again (the bound is not used where the products could
    overflow or underflow). Only the cut points above both bounds (rare in a stable stream) get
    River's own test.
    """
    width = s[_WIDTH]
    two_sides = width - 2.0 * min_len + 2.0  # (n0 - min_len + 1) + (n1 - min_len + 1)
    if not two_sides >= 2.0:
        return False  # no cut point leaves min_len values on both sides
    # River recomputes these for every cut point; they only change with the width, i.e. after
    # a bucket is dropped and this pass ends
    delta_prime = math.log(2.0 * math.log(width) / delta)
    variance_in_window = s[_VARIANCE] / width
    c = 2.0 / 3.0 * delta_prime
    bound_all = _epsilon(4.0 / two_sides * (1.0 - _SAFE), variance_in_window, delta_prime, c)
    bound_all *= 1.0 - _SAFE
    if not 1e-250 < bound_all < 1e250:
        bound_all = -1.0  # no shortcut: bound_all * n0 * n1 could underflow or overflow
    n0 = 0.0
    n1 = width
    u0 = 0.0
    u1 = s[_TOTAL]
    for idx in range(int(s[_N_LEVELS]) - 1, -1, -1):
        size = float(1 << idx)
        current = int(s[_COUNTS + idx])
        base = _TOTALS + idx * cap
        bound = -1.0  # the level's bound, computed when first needed
        for k in range(current):
            n0 += size
            n1 -= size
            total_at = s[base + k]
            u0 += total_at
            u1 -= total_at
            if idx == 0 and k == current - 1:
                return False
            if n1 >= min_len and n0 >= min_len:
                spread = abs(u0 * n1 - u1 * n0) + _SAFE * (abs(u0) * n1 + abs(u1) * n0)
                if spread <= bound_all * n0 * n1:
                    continue
                delta_mean = (u0 / n0) - (u1 / n1)
                if bound < 0.0:
                    a_last = n0 + (current - 1 - k) * size - min_len + 1.0
                    m_low = 1.0 / a_last + 1.0 / (n1 - min_len + 1.0)
                    bound = _epsilon(m_low, variance_in_window, delta_prime, c)
                if abs(delta_mean) <= bound:
                    continue
                m_recip = 1.0 / (n0 - min_len + 1.0) + 1.0 / (n1 - min_len + 1.0)
                if abs(delta_mean) > _epsilon(m_recip, variance_in_window, delta_prime, c):
                    _delete_oldest(s, cap)
                    return True
    return False


@jit
def adwin_update(p: np.ndarray, s: np.ndarray, x: float) -> bool:
    """Add ``x``; return whether ADWIN detected a change (its window then shrank)."""
    if s[_DRIFT] != 0.0:
        adwin_reset(s)
    cap = int(p[2]) + 1
    n_buckets = s[_N_BUCKETS] + 1.0
    if n_buckets > s[_MAX_N_BUCKETS]:
        s[_MAX_N_BUCKETS] = n_buckets
    s[_WIDTH], s[_TOTAL], s[_VARIANCE] = _window_add(s[_WIDTH], s[_TOTAL], s[_VARIANCE], x)
    k0 = int(s[_COUNTS])
    s[_TOTALS + k0] = x  # a level-0 bucket (its variance slot stays 0)
    k0 += 1
    if k0 == cap:
        top, merges = _merge_level_0(s, s, _COUNTS, cap)
        k0 = cap - 2
        n_buckets += merges
        if top >= s[_N_LEVELS]:
            s[_N_LEVELS] = top + 1
    s[_COUNTS] = k0
    s[_N_BUCKETS] = n_buckets
    change = False
    # River tests tick % clock == 0; keeping the tick modulo clock is the same test, without a
    # floating-point remainder
    tick = s[_TICK] + 1.0
    if tick == p[1]:
        tick = 0.0
    s[_TICK] = tick
    if tick == 0.0 and s[_WIDTH] > p[4]:
        while _scan(s, cap, p[0], p[3]):
            change = True
    s[_TOTAL_WIDTH] += s[_WIDTH]
    if change:
        s[_N_DETECTIONS] += 1.0
        s[_DRIFT] = 1.0
    return change


@jit
def _run(p: np.ndarray, s: np.ndarray, xs: np.ndarray, alarms: np.ndarray) -> int:
    """:func:`adwin_update` with every ``xs[i]`` in order, same results; writes the positions of
    the alarms into ``alarms`` (as many as fit) and returns their count.

    The window's sums, the tick and the count of level-0 buckets live in local variables, and
    the other levels' counts in an int array, between cut checks: kept in ``s``, each update
    would wait for the previous one's stores and for float/int conversions of the counts, which
    cost more than the update's arithmetic. Levels from ``n_levels`` up always count 0.
    """
    delta, clock, min_len, grace = p[0], p[1], p[3], p[4]
    cap = int(p[2]) + 1
    n_alarms = 0
    drift = s[_DRIFT] != 0.0
    width, total, variance = s[_WIDTH], s[_TOTAL], s[_VARIANCE]
    n_buckets, max_n_buckets = s[_N_BUCKETS], s[_MAX_N_BUCKETS]
    total_width, tick = s[_TOTAL_WIDTH], s[_TICK]
    n_levels = int(s[_N_LEVELS])
    k0 = int(s[_COUNTS])
    counts = np.zeros(ADWIN_LEVELS, dtype=np.int64)
    for j in range(1, n_levels):
        counts[j] = int(s[_COUNTS + j])
    for i in range(xs.shape[0]):
        x = xs[i]
        if drift:
            adwin_reset(s)
            drift = False
            width = total = variance = n_buckets = max_n_buckets = total_width = tick = 0.0
            n_levels = 1
            k0 = 0
            counts[:] = 0
        n_buckets += 1.0
        if n_buckets > max_n_buckets:
            max_n_buckets = n_buckets
        width, total, variance = _window_add(width, total, variance, x)
        s[_TOTALS + k0] = x  # a level-0 bucket (its variance slot stays 0)
        k0 += 1
        if k0 == cap:
            top, merges = _merge_level_0(s, counts, 0, cap)
            k0 = cap - 2
            n_buckets += merges
            if top >= n_levels:
                n_levels = top + 1
        tick += 1.0
        if tick == clock:
            tick = 0.0
        if tick == 0.0 and width > grace:
            s[_WIDTH], s[_TOTAL], s[_VARIANCE] = width, total, variance
            s[_N_BUCKETS], s[_N_LEVELS], s[_COUNTS] = n_buckets, n_levels, k0
            for j in range(1, n_levels):
                s[_COUNTS + j] = counts[j]
            change = False
            while _scan(s, cap, delta, min_len):
                change = True
            width, total, variance = s[_WIDTH], s[_TOTAL], s[_VARIANCE]
            for j in range(1, n_levels):  # deletions only lower counts and n_levels
                counts[j] = int(s[_COUNTS + j])
            n_buckets, n_levels, k0 = s[_N_BUCKETS], int(s[_N_LEVELS]), int(s[_COUNTS])
            if change:
                s[_N_DETECTIONS] += 1.0
                drift = True
                if n_alarms < alarms.shape[0]:
                    alarms[n_alarms] = i
                n_alarms += 1
        total_width += width
    s[_DRIFT] = 1.0 if drift else 0.0
    s[_WIDTH], s[_TOTAL], s[_VARIANCE] = width, total, variance
    s[_N_BUCKETS], s[_MAX_N_BUCKETS] = n_buckets, max_n_buckets
    s[_TOTAL_WIDTH], s[_TICK] = total_width, tick
    s[_N_LEVELS], s[_COUNTS] = n_levels, k0
    for j in range(1, n_levels):
        s[_COUNTS + j] = counts[j]
    return n_alarms


@jit
def adwin_update_many(p: np.ndarray, s: np.ndarray, xs: np.ndarray, alarms: np.ndarray) -> int:
    """:func:`adwin_update` with every ``xs[i]`` in order; writes the positions of the alarms
    into ``alarms`` and returns their count."""
    return _run(p, s, xs, alarms)


# not nogil: releasing and re-taking the GIL would cost more than a few updates
@njit(cache=True)
def adwin_update_at(addr: int, xs_addr: int, n: int) -> int:
    """Update the ADWIN stored at ``addr`` as ``[kind, len(p), len(buf), p..., s...]`` (the
    detector's buffer, see ``tidal.drift.base``) with the ``n`` float64 values at ``xs_addr``.

    Returns 0 if the last update detected a drift, else the number of updates until the next cut
    check (``clock - tick``). Called by the Python ``ADWIN.update`` with the values it kept
    pending: integer arguments avoid the cost of passing arrays from Python.
    """
    _, p, s = detector_at(addr)
    _run(p, s, carray(f64_ptr(xs_addr), n), np.empty(0, dtype=np.int64))
    if s[_DRIFT] != 0.0:
        return 0
    return int(p[1] - s[_TICK])
