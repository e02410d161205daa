"""Kernels of the statistic-based drift detectors: DDM, EDDM, Page-Hinkley, HDDM_A, HDDM_W.

Every detector is a pair ``(p, s)`` of flat float64 arrays: ``p`` holds the parameters, ``s`` the
state, so a tree or a forest can keep one detector per node as a row of a 2-D array and call the
same ``*_update(p, s, x) -> bool`` from its own kernel. ``s[0]`` is the drift flag of the last
update and ``s[1]`` the warning flag. As in River, a detector that signalled a drift starts afresh
at its next update (the ``*_update`` functions reset ``s`` themselves).

The arithmetic follows River 0.26.1 operation by operation (``stats.Mean``, ``stats.Var``,
``stats.EWMean``), so alarms fall on exactly the same rows.
"""

from __future__ import annotations

import math

import numpy as np

from tidal._kernels import jit


@jit
def _mean_update(s: np.ndarray, i: int, x: float) -> None:
    """River's ``stats.Mean.update`` on the count ``s[i]`` and the mean ``s[i + 1]``."""
    s[i] += 1.0
    s[i + 1] += (1.0 / s[i]) * (x - s[i + 1])


# -------------------------------------------------------------------------------------- DDM
# p: warm_start, warning_threshold, drift_threshold
# s: drift, warning, n, mean, p_min, s_min, ps_min
DDM_STATE_SIZE = 7


@jit
def ddm_reset(s: np.ndarray) -> None:
    s[:] = 0.0
    s[6] = np.inf


@jit
def ddm_update(p: np.ndarray, s: np.ndarray, x: float) -> bool:
    if s[0] != 0.0:
        ddm_reset(s)
    _mean_update(s, 2, x)
    n = s[2]
    p_i = s[3]
    s_i = math.sqrt(p_i * (1 - p_i) / n)
    if n > p[0]:
        if p_i + s_i <= s[6]:
            s[4] = p_i
            s[5] = s_i
            s[6] = s[4] + s[5]
        s[1] = 1.0 if p_i + s_i > s[4] + p[1] * s[5] else 0.0
        if p_i + s_i > s[4] + p[2] * s[5]:
            s[0] = 1.0
            s[1] = 0.0
    return s[0] != 0.0


# ------------------------------------------------------------------------------------- EDDM
# p: warm_start, alpha, beta
# s: drift, warning, n, last_error, n_errors, p2s_max, var_n, var_mean, var_S
EDDM_STATE_SIZE = 9


@jit
def eddm_reset(s: np.ndarray) -> None:
    s[:] = 0.0
    s[5] = -1.0


@jit
def eddm_update(p: np.ndarray, s: np.ndarray, x: float) -> bool:
    if s[0] != 0.0:
        eddm_reset(s)
    s[2] += 1.0
    if x == 1:
        s[4] += 1.0
        d = s[2] - s[3]
        mean_old = s[7]
        _mean_update(s, 6, d)
        s[8] += 1.0 * (d - mean_old) * (d - s[7])
        if s[2] > p[0]:
            var = s[8] / (s[6] - 1) if s[6] > 1 else 0.0
            p2s = s[7] + 2 * var**0.5
            if p2s > s[5]:
                s[5] = p2s
            elif s[4] > p[0]:
                level = p2s / s[5]
                if level < p[2]:
                    s[0] = 1.0
                elif level < p[1]:
                    s[1] = 1.0
                else:
                    s[1] = 0.0
        s[3] = s[2]
    return s[0] != 0.0


# ------------------------------------------------------------------------------ Page-Hinkley
# p: min_instances, delta, threshold, alpha, mode (0 up, 1 down, 2 both)
# s: drift, warning, n, mean, sum_increase, sum_decrease, min_increase, max_decrease
PAGE_HINKLEY_STATE_SIZE = 8


@jit
def page_hinkley_reset(s: np.ndarray) -> None:
    s[:] = 0.0
    s[6] = np.inf
    s[7] = -1.0


@jit
def page_hinkley_update(p: np.ndarray, s: np.ndarray, x: float) -> bool:
    if s[0] != 0.0:
        page_hinkley_reset(s)
    _mean_update(s, 2, x)
    dev = x - s[3]
    s[4] = p[3] * s[4] + dev - p[1]
    s[5] = p[3] * s[5] + dev + p[1]
    if s[4] < s[6]:
        s[6] = s[4]
    if s[5] > s[7]:
        s[7] = s[5]
    if s[2] >= p[0]:
        up = s[4] - s[6] > p[2]
        down = s[7] - s[5] > p[2]
        mode = p[4]
        hit = up if mode == 0.0 else (down if mode == 1.0 else (up or down))
        s[0] = 1.0 if hit else 0.0
    return s[0] != 0.0


# ------------------------------------------------------------------------------------ HDDM_A
# p: drift_confidence, warning_confidence, two_sided (0/1), then the logarithms River computes at
#    every update: log(1 / drift_confidence), log(2 / drift_confidence), log(2 / warning_confidence)
# s: drift, warning, z_n, z_mean, min_n, min_mean, max_n, max_mean
HDDM_A_STATE_SIZE = 8


@jit
def hddm_a_reset(s: np.ndarray) -> None:
    s[:] = 0.0


@jit
def _hoeffding_bound(n: float, log_inv_confidence: float) -> float:
    return math.sqrt(1.0 / (2 * n) * log_inv_confidence)


@jit
def _mean_moved(n_cut: float, n: float, diff: float, log_2_inv_confidence: float) -> bool:
    """HDDM_A's test that the mean moved by ``diff`` since a cut point seen after ``n_cut`` rows."""
    if n_cut == n:
        return False
    m = (n - n_cut) / n_cut * (1.0 / n)
    eps = math.sqrt(m / 2 * log_2_inv_confidence)
    return diff >= eps


@jit
def hddm_a_update(p: np.ndarray, s: np.ndarray, x: float) -> bool:
    if s[0] != 0.0:
        hddm_a_reset(s)
    _mean_update(s, 2, x)
    if s[4] == 0.0:
        s[4] = s[2]
        s[5] = s[3]
    if s[6] == 0.0:
        s[6] = s[2]
        s[7] = s[3]
    eps_z = _hoeffding_bound(s[2], p[3])
    eps_x = _hoeffding_bound(s[4], p[3])
    if s[5] + eps_x >= s[3] + eps_z:
        s[4] = s[2]
        s[5] = s[3]
    eps_x = _hoeffding_bound(s[6], p[3])
    if s[7] - eps_x <= s[3] - eps_z:
        s[6] = s[2]
        s[7] = s[3]
    if _mean_moved(s[4], s[2], s[3] - s[5], p[4]):
        s[1] = 0.0
        s[0] = 1.0
    elif _mean_moved(s[4], s[2], s[3] - s[5], p[5]):
        s[1] = 1.0
        s[0] = 0.0
    else:
        s[1] = 0.0
        s[0] = 0.0
    if p[2] != 0.0:
        if _mean_moved(s[6], s[2], s[7] - s[3], p[4]):
            s[0] = 1.0
        elif _mean_moved(s[6], s[2], s[7] - s[3], p[5]):
            s[1] = 1.0
    return s[0] != 0.0


# ------------------------------------------------------------------------------------ HDDM_W
# p: drift_confidence, warning_confidence, lambda, two_sided (0/1), then the logarithms River
#    computes at every update: log(1 / drift_confidence), log(1 / warning_confidence)
# s: drift, warning, incr_cut, decr_cut, then five samples of 3 slots (ewma, is_init, ibc):
#    total, s1_incr, s2_incr, s1_decr, s2_decr
HDDM_W_STATE_SIZE = 19
_TOTAL, _S1_INCR, _S2_INCR, _S1_DECR, _S2_DECR = 4, 7, 10, 13, 16


@jit
def _sample_clear(s: np.ndarray, i: int) -> None:
    s[i] = 0.0
    s[i + 1] = 0.0
    s[i + 2] = 1.0


@jit
def _sample_update(p: np.ndarray, s: np.ndarray, i: int, x: float) -> None:
    lam = p[2]
    if s[i + 1] == 0.0:
        s[i] = x
    else:
        s[i] = lam * x + (1.0 - lam) * s[i]
    s[i + 1] = 1.0
    s[i + 2] = lam * lam + ((1 - lam) * (1 - lam)) * s[i + 2]


@jit
def _sample_copy(s: np.ndarray, src: int, dst: int) -> None:
    s[dst] = s[src]
    s[dst + 1] = s[src + 1]
    s[dst + 2] = s[src + 2]


@jit
def hddm_w_reset(s: np.ndarray) -> None:
    s[:] = 0.0
    s[2] = np.inf
    s[3] = -np.inf
    for i in (_TOTAL, _S1_INCR, _S2_INCR, _S1_DECR, _S2_DECR):
        _sample_clear(s, i)


@jit
def _mcdiarmid_bound(ibc: float, log_inv_confidence: float) -> float:
    return math.sqrt(ibc * log_inv_confidence / 2)


@jit
def _ewma_increased(s: np.ndarray, a: int, b: int, log_inv_confidence: float) -> bool:
    """Whether sample ``b``'s EWMA exceeds sample ``a``'s by more than McDiarmid's bound."""
    if s[a + 1] == 0.0 or s[b + 1] == 0.0:
        return False
    bound = _mcdiarmid_bound(s[a + 2] + s[b + 2], log_inv_confidence)
    return s[b] - s[a] > bound


@jit
def hddm_w_update(p: np.ndarray, s: np.ndarray, x: float) -> bool:
    if s[0] != 0.0:
        hddm_w_reset(s)
    _sample_update(p, s, _TOTAL, x)
    eps = _mcdiarmid_bound(s[_TOTAL + 2], p[4])
    if s[_TOTAL] + eps < s[2]:
        s[2] = s[_TOTAL] + eps
        _sample_copy(s, _TOTAL, _S1_INCR)
        _sample_clear(s, _S2_INCR)
    else:
        _sample_update(p, s, _S2_INCR, x)
    if _ewma_increased(s, _S1_INCR, _S2_INCR, p[4]):
        s[1] = 0.0
        s[0] = 1.0
    elif _ewma_increased(s, _S1_INCR, _S2_INCR, p[5]):
        s[1] = 1.0
        s[0] = 0.0
    else:
        s[1] = 0.0
        s[0] = 0.0
    eps = _mcdiarmid_bound(s[_TOTAL + 2], p[4])
    if s[_TOTAL] - eps > s[3]:
        s[3] = s[_TOTAL] - eps
        _sample_copy(s, _TOTAL, _S1_DECR)
        _sample_clear(s, _S2_DECR)
    else:
        _sample_update(p, s, _S2_DECR, x)
    if p[3] != 0.0:
        if _ewma_increased(s, _S2_DECR, _S1_DECR, p[4]):
            s[0] = 1.0
        elif _ewma_increased(s, _S2_DECR, _S1_DECR, p[5]):
            s[1] = 1.0
    return s[0] != 0.0
