"""One kernel call for a whole sequence of drift-detector updates.

Every detector kernel has the signature ``update(p, s, x) -> bool`` (see ``drift_stats``,
``drift_adwin`` and ``drift_kswin``); ``drift_update`` picks one by its integer ``kind`` so that
a single compiled loop serves all of them.
"""

from __future__ import annotations

import numpy as np
from numba import carray, config

from tidal._kernels import jit, njit
from tidal._kernels.drift_adwin import adwin_update
from tidal._kernels.drift_buffer import detector_at, f64_ptr
from tidal._kernels.drift_kswin import kswin_update
from tidal._kernels.drift_stats import (
    ddm_update,
    eddm_update,
    hddm_a_update,
    hddm_w_update,
    page_hinkley_update,
)

ADWIN, DDM, EDDM, PAGE_HINKLEY, KSWIN, HDDM_A, HDDM_W = range(7)


if config.DISABLE_JIT:  # plain Python run (debugging): no pointers

    def _uncounted(a: np.ndarray) -> np.ndarray:
        return a

else:

    @jit
    def _uncounted(a: np.ndarray) -> np.ndarray:
        """A view of the contiguous ``a`` without a reference count: passing it down the calls
        costs no atomic operations (with ``a`` itself, they cost more than most updates)."""
        return carray(f64_ptr(a.ctypes.data), a.shape[0])


@jit
def drift_update(kind: int, p: np.ndarray, s: np.ndarray, x: float) -> bool:
    if kind == ADWIN:
        return adwin_update(p, s, x)
    if kind == DDM:
        return ddm_update(p, s, x)
    if kind == EDDM:
        return eddm_update(p, s, x)
    if kind == PAGE_HINKLEY:
        return page_hinkley_update(p, s, x)
    if kind == KSWIN:
        return kswin_update(p, s, x)
    if kind == HDDM_A:
        return hddm_a_update(p, s, x)
    return hddm_w_update(p, s, x)


@jit
def drift_update_many(
    kind: int, p: np.ndarray, s: np.ndarray, xs: np.ndarray, alarms: np.ndarray, warns: np.ndarray
) -> tuple[int, int]:
    """Update with every ``xs[i]`` in order; write the positions of drift alarms into ``alarms``
    and of warnings (``s[1]`` set after the update) into ``warns``. Returns both counts."""
    pv = _uncounted(p)
    sv = _uncounted(s)
    n_alarms = 0
    n_warns = 0
    for i in range(xs.shape[0]):
        if drift_update(kind, pv, sv, xs[i]):
            alarms[n_alarms] = i
            n_alarms += 1
        if sv[1] != 0.0:
            warns[n_warns] = i
            n_warns += 1
    return n_alarms, n_warns


# not nogil: releasing and re-taking the GIL costs more than the whole update of most detectors
@njit(cache=True)
def drift_update_at(addr: int, x: float) -> int:
    """One update of the detector stored at ``addr`` as ``[kind, len(p), len(buf), p..., s...]``.

    Returns 0 (no drift), 1 (drift) or 2 (``x`` is not finite: nothing changed). This is the
    Python one-value path: two scalar arguments are unboxed several times faster than arrays,
    which is most of the cost of a call from Python.
    """
    if x - x != 0.0:
        return 2
    kind, p, s = detector_at(addr)
    return 1 if drift_update(kind, p, s, x) else 0


def drift_update_python(det, x: float) -> int:  # type: ignore[no-untyped-def]
    """``drift_update_at`` for a plain Python run (``NUMBA_DISABLE_JIT=1``): ``det`` is the
    detector object (whose ``_kind``, ``_p`` and ``_s`` it reads) instead of an address."""
    if x - x != 0.0:
        return 2
    return 1 if drift_update(det._kind, det._p, det._s, float(x)) else 0
