"""KSWIN (Raab et al., 2020) on one flat float64 state array, with River's random draws.

River 0.26.1's KSWIN draws ``stat_size`` positions of the older part of its window with
``random.Random(seed).sample(range(window_size - stat_size), stat_size)`` at every test, and tests
them against the ``stat_size`` most recent values with ``scipy.stats.ks_2samp(method="auto")``.
This kernel reproduces both exactly: CPython's Mersenne Twister (``init_by_array`` seeding,
``getrandbits``, ``_randbelow``, both branches of ``sample``) and scipy's exact two-sided p-value
for equal sample sizes (``_compute_prob_outside_square``), so alarms fall on the same rows.

Layout. ``p = [alpha, window_size, stat_size, setsize, key_len, key[0..7]]`` (``setsize`` is
``random.sample``'s table-size threshold, ``key`` the 32-bit words of ``abs(seed)``);
``s`` = header + window ring (``window_size``) + MT state (624 words) + scratch
(``2 * stat_size`` sorted samples, ``window_size - stat_size`` pool slots).
"""

from __future__ import annotations

import math

import numpy as np

from tidal._kernels import jit

_DRIFT, _WARNING, _N, _P_VALUE, _COUNT, _START, _MTI, _STATISTIC = 0, 1, 2, 3, 4, 5, 6, 7
KSWIN_HEADER = 8
KSWIN_PARAMS = 13  # alpha, window_size, stat_size, setsize, key_len, 8 key words
_MT_N = 624
_MT_M = 397
_MASK = 0xFFFFFFFF


def kswin_state_size(window_size: int, stat_size: int) -> int:
    return KSWIN_HEADER + window_size + _MT_N + 2 * stat_size + (window_size - stat_size)


# ------------------------------------------------------------------ CPython's Mersenne Twister
@jit
def _mt_init_by_array(mt: np.ndarray, key: np.ndarray) -> None:
    mt[0] = 19650218
    for i in range(1, _MT_N):
        mt[i] = (1812433253 * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i) & _MASK
    i, j = 1, 0
    key_len = key.shape[0]
    for _ in range(max(_MT_N, key_len)):
        mt[i] = ((mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525)) + key[j] + j) & _MASK
        i += 1
        j += 1
        if i >= _MT_N:
            mt[0] = mt[_MT_N - 1]
            i = 1
        if j >= key_len:
            j = 0
    for _ in range(_MT_N - 1):
        mt[i] = ((mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941)) - i) & _MASK
        i += 1
        if i >= _MT_N:
            mt[0] = mt[_MT_N - 1]
            i = 1
    mt[0] = 0x80000000


@jit
def _mt_twist(mt: np.ndarray) -> None:
    for kk in range(_MT_N):
        y = (mt[kk] & 0x80000000) | (mt[(kk + 1) % _MT_N] & 0x7FFFFFFF)
        v = mt[(kk + _MT_M) % _MT_N] ^ (y >> 1)
        if y & 1:
            v ^= 0x9908B0DF
        mt[kk] = v


@jit
def _mt_uint32(s: np.ndarray, base: int) -> int:
    """Next 32-bit word; the generator's words live in ``s[base:base + 624]`` as floats."""
    mti = int(s[_MTI])
    if mti >= _MT_N:
        mt = s[base : base + _MT_N].astype(np.int64)
        _mt_twist(mt)
        s[base : base + _MT_N] = mt
        mti = 0
    y = int(s[base + mti])
    s[_MTI] = mti + 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    y ^= y >> 18
    return y & _MASK


@jit
def _randbelow(s: np.ndarray, base: int, n: int) -> int:
    k = 0
    while (n >> k) > 0:
        k += 1
    r = _mt_uint32(s, base) >> (32 - k)
    while r >= n:
        r = _mt_uint32(s, base) >> (32 - k)
    return r


# ------------------------------------------------------------------------------ the detector
@jit
def kswin_reset(p: np.ndarray, s: np.ndarray) -> None:
    """Empty the window and re-seed the generator, as River's ``_reset`` does."""
    s[:] = 0.0
    base = KSWIN_HEADER + int(p[1])
    mt = np.zeros(_MT_N, dtype=np.int64)
    key = p[5 : 5 + int(p[4])].astype(np.int64)
    _mt_init_by_array(mt, key)
    s[base : base + _MT_N] = mt
    s[_MTI] = _MT_N


@jit
def _ks_p_value(n: int, h: int) -> float:
    """scipy's exact P(D_{n,n} >= h/n) (``_compute_prob_outside_square``), same operation order."""
    P = 0.0
    k = int(math.floor(n / h))
    while k >= 0:
        p1 = 1.0
        for j in range(h):
            p1 = float(n - k * h - j) * p1 / float(n + k * h + j + 1)
        P = p1 * (1.0 - P)
        k -= 1
    return min(max(2 * P, 0.0), 1.0)


@jit
def _ks_distance(a: np.ndarray, b: np.ndarray) -> int:
    """n * the two-sample KS statistic of the sorted samples ``a`` and ``b`` of equal size n."""
    n = a.shape[0]
    i = 0
    j = 0
    h = 0
    while i < n or j < n:
        if j >= n or (i < n and a[i] <= b[j]):
            v = a[i]
        else:
            v = b[j]
        while i < n and a[i] <= v:
            i += 1
        while j < n and b[j] <= v:
            j += 1
        h = max(h, abs(i - j))
    return h


@jit
def _draw_positions(p: np.ndarray, s: np.ndarray, out: np.ndarray) -> None:
    """``random.sample(range(window_size - stat_size), stat_size)`` into ``out``."""
    ws = int(p[1])
    k = int(p[2])
    n = ws - k
    mt_base = KSWIN_HEADER + ws
    pool = s[mt_base + _MT_N + 2 * k : mt_base + _MT_N + 2 * k + n]
    if n <= p[3]:
        for i in range(n):
            pool[i] = i
        for i in range(k):
            j = _randbelow(s, mt_base, n - i)
            out[i] = pool[j]
            pool[j] = pool[n - i - 1]
    else:  # the set-based branch: pool[] marks the positions already drawn
        pool[:] = 0.0
        for i in range(k):
            j = _randbelow(s, mt_base, n)
            while pool[j] != 0.0:
                j = _randbelow(s, mt_base, n)
            pool[j] = 1.0
            out[i] = j


@jit
def kswin_update(p: np.ndarray, s: np.ndarray, x: float) -> bool:
    """Add ``x``; return whether the KS test rejected (``p_value <= alpha`` and statistic > 0.1)."""
    if s[_DRIFT] != 0.0 or s[_MTI] == 0.0:
        kswin_reset(p, s)
    ws = int(p[1])
    k = int(p[2])
    s[_N] += 1.0
    count = int(s[_COUNT])
    start = int(s[_START])
    if count < ws:
        s[KSWIN_HEADER + (start + count) % ws] = x
        count += 1
        s[_COUNT] = count
    else:
        s[KSWIN_HEADER + start] = x
        start = (start + 1) % ws
        s[_START] = start
    if count < ws:
        s[_DRIFT] = 0.0
        return False
    scratch = KSWIN_HEADER + ws + _MT_N
    a = s[scratch : scratch + k]
    b = s[scratch + k : scratch + 2 * k]
    _draw_positions(p, s, a)
    for i in range(k):
        a[i] = s[KSWIN_HEADER + (start + int(a[i])) % ws]
        b[i] = s[KSWIN_HEADER + (start + ws - k + i) % ws]
    a.sort()
    b.sort()
    h = _ks_distance(a, b)
    st = h * 1.0 / k
    p_value = 1.0 if h == 0 else _ks_p_value(k, h)
    s[_P_VALUE] = p_value
    s[_STATISTIC] = st
    drift = p_value <= p[0] and st > 0.1
    s[_DRIFT] = 1.0 if drift else 0.0
    return drift
