"""ADWIN: adaptive windowing (Bifet & Gavaldà, 2007).

Speed of ``update(x)``: ADWIN only looks for a change every ``clock`` updates, so the values in
between are kept in a small pending buffer and go to the compiled kernel in one call at the
update that reaches the next check; a call per value would cost more than River's whole update.
Every read of the state (the window statistics, ``state_dict``, pickling, ``update_many``) first
runs the pending values, so what can be observed after each update is what River gives.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np
from numba import config, types

from tidal._kernels.drift_adwin import (
    _TICK,
    adwin_reset,
    adwin_state_size,
    adwin_update_at,
    adwin_update_many,
)
from tidal._kernels.drift_many import ADWIN as _KIND
from tidal.base import store_params
from tidal.base.exceptions import InputError
from tidal.base.validation import check_int, check_real
from tidal.drift.base import _RUNTIME, DriftDetector, _compiled_entry

__all__ = ["ADWIN"]

_RESET = (*_RUNTIME, "_buf")
# values kept pending at most (with a large clock they run in blocks before the check is due)
_MAX_PENDING = 4096


def _run_pending_python(det: ADWIN, _xs_addr: int, n: int) -> int:
    """``adwin_update_at`` for a plain Python run (``NUMBA_DISABLE_JIT=1``): no addresses."""
    s = det._state
    xs = np.array(det._pending[:n])
    adwin_update_many(det._p, s, xs, np.empty(n, dtype=np.int64))
    return 0 if s[0] != 0.0 else int(det._p[1] - s[_TICK])


def _run_pending_entry() -> Any:
    if config.DISABLE_JIT:
        return _run_pending_python
    return _compiled_entry(adwin_update_at, types.int64, types.int64, types.int64)


class ADWIN(DriftDetector):
    """Adaptive Windowing: keeps the longest recent window whose two parts have the same mean.

    Same algorithm, defaults and alarms as River 0.26.1's ``drift.ADWIN`` (its Rust core,
    ported operation by operation): an exponential histogram of at most ``max_buckets + 1``
    buckets per size; every ``clock`` updates, once the window holds more than ``grace_period``
    values, each cut into two sub-windows of at least ``min_window_length`` values is tested, and
    the oldest bucket is dropped while a cut shows a significant change. As in River, the update
    after a drift starts from an empty window. ``drift_detected`` (whether the last update
    signalled a drift) is a plain attribute.

    Parameters
    ----------
    delta
        Significance value, in (0, 1).
    clock
        Check for changes every ``clock`` updates.
    max_buckets
        Buckets of each size kept before two are merged.
    min_window_length
        Smallest sub-window a cut may leave.
    grace_period
        No check until the window holds more than this many values.

    Examples
    --------
    River's own example stream gives River's answer:

    >>> import random
    >>> from tidal.drift import ADWIN
    >>> rng = random.Random(12345)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    >>> ADWIN().update_many(stream)
    array([1023])

    One value at a time:

    >>> adwin = ADWIN()
    >>> [i for i, x in enumerate(stream) if adwin.update(x).drift_detected]
    [1023]
    >>> adwin.width, round(adwin.estimation, 4)
    (976, 5.4672)
    """

    _kind = _KIND
    # The one-value path's attributes, in slots: read at every update, they must cost as little
    # as River's (an instance-dict attribute costs twice as much once anything has read
    # ``__dict__``, which pickling does). ``drift_detected`` is a plain attribute, not the base
    # class's property, for the same reason. None of them is pickled: _bind rebuilds them.
    # ``_pending[:_n_pending]`` are the values waiting; the array keeps its size (and address).
    __slots__ = (
        "_pending",
        "_pending_addr",
        "_n_pending",
        "_need",
        "_run_pending",
        "_state",
        "drift_detected",
    )

    def __init__(
        self,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        store_params(self, locals())
        self.drift_detected = False  # whether the last update signalled a drift

    def _check_params(self) -> None:
        check_real("delta", self.delta, 0.0, 1.0, "()")
        check_int("clock", self.clock, 1)
        check_int("max_buckets", self.max_buckets, 1)
        check_int("min_window_length", self.min_window_length, 1)
        check_int("grace_period", self.grace_period, 0)

    def _param_array(self) -> np.ndarray:
        return np.array(
            [
                self.delta,
                self.clock,
                self.max_buckets,
                self.min_window_length,
                self.grace_period,
            ],
            dtype=np.float64,
        )

    def _new_state(self, p: np.ndarray) -> np.ndarray:
        s = np.zeros(adwin_state_size(int(p[2])), dtype=np.float64)
        adwin_reset(s)
        return s

    # ------------------------------------------------------------------ one value at a time
    @property
    def _s(self) -> np.ndarray:
        """The state array, with the pending values run first."""
        try:
            state, n_pending = self._state, self._n_pending
        except AttributeError:
            raise AttributeError("_s") from None  # not started
        if n_pending:
            self._run()
        return state

    @_s.setter
    def _s(self, s: np.ndarray) -> None:
        self._state = s

    def _started(self) -> bool:
        # (the base class reads __dict__, which would slow every later attribute access)
        return hasattr(self, "_state")

    def _bind(self, p: np.ndarray, s: np.ndarray) -> None:
        self._pending = array("d", bytes(8 * min(int(p[1]), _MAX_PENDING)))
        self._pending_addr = self._pending.buffer_info()[0]
        self._n_pending = 0
        self._run_pending = _run_pending_entry()
        super()._bind(p, s)
        self._sync()

    def _sync(self) -> None:
        """``drift_detected`` and the updates left until the next cut check, from the state."""
        s = self._state
        self.drift_detected = bool(s[0] != 0.0)
        # after a drift the next update restarts the window: it runs at once, alone
        need = int(self._p[1] - s[_TICK])
        self._need = 1 if self.drift_detected else min(need, _MAX_PENDING)

    def _run(self) -> None:
        """Run the pending values through the kernel, in one compiled call."""
        need = self._run_pending(self._addr, self._pending_addr, self._n_pending)
        self._n_pending = 0
        self.drift_detected = need == 0
        self._need = min(need, _MAX_PENDING) if need else 1

    def update(self, x: float) -> ADWIN:
        """Update the detector with one value. Returns ``self``; read :attr:`drift_detected`."""
        try:
            n = self._n_pending
        except AttributeError:
            self._start()
            n = 0
        try:
            if x - x:  # NaN for NaN and infinities
                raise ValueError
            self._pending[n] = x  # stored as a C double: TypeError for anything but a number
        except (TypeError, ValueError, OverflowError):
            self._reject(x)
        n += 1
        self._n_pending = n
        if n >= self._need:  # this update reaches a cut check (or the array is full)
            self._run()
        return self

    def _reject(self, x: Any) -> None:
        try:
            super()._reject(x)
        except OverflowError:  # an int too large for a float
            raise InputError(f"ADWIN.update: x == {x!r}, expected a finite number", row=0) from None

    def update_many(self, xs: Any, return_warnings: bool = False) -> Any:
        arr = self._check_values(xs)
        if not self._started():
            self._start()
        alarms = np.empty(arr.shape[0], dtype=np.int64)
        n = adwin_update_many(self._p, self._s, arr, alarms)
        self._sync()
        if return_warnings:
            return alarms[:n].copy(), np.empty(0, dtype=np.int64)
        return alarms[:n].copy()

    update_many.__doc__ = DriftDetector.update_many.__doc__

    def reset(self) -> ADWIN:
        for k in _RESET + ADWIN.__slots__:
            try:
                delattr(self, k)
            except AttributeError:  # not set (or the _s property)
                pass
        self.drift_detected = False
        return self

    reset.__doc__ = DriftDetector.reset.__doc__

    def __getstate__(self) -> dict[str, Any]:
        if self._started() and self._n_pending:
            self._run()
        return super().__getstate__()  # the instance dict: the slots are left out

    def __setstate__(self, d: dict[str, Any]) -> None:
        d = dict(d)
        buf = d.pop("_buf", None)
        for k, v in d.items():  # not __dict__.update: see _started
            setattr(self, k, v)
        self.drift_detected = False
        if buf is not None:
            n = 3 + int(buf[1])
            self._bind(buf[3:n], buf[n:])

    # ------------------------------------------------------------------ window statistics
    def _header(self, i: int) -> float:
        return float(self._s[i]) if self._started() else 0.0

    @property
    def width(self) -> int:
        """Number of values in the window."""
        return int(self._header(4))

    @property
    def total(self) -> float:
        """Sum of the values in the window."""
        return self._header(2)

    @property
    def variance(self) -> float:
        """Sum of squared deviations from the mean in the window (River's ``variance``)."""
        return self._header(3)

    @property
    def estimation(self) -> float:
        """Mean of the window (0 when empty)."""
        w = self._header(4)
        return 0.0 if w == 0 else self._header(2) / w

    @property
    def n_detections(self) -> int:
        """Drifts detected since construction or :meth:`reset` (River's counter restarts at
        every drift, so it is never more than 1 there)."""
        return int(self._header(9))
