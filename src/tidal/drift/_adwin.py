"""ADWIN: adaptive windowing (Bifet & Gavaldà, 2007)."""

from __future__ import annotations

import numpy as np

from tidal._kernels.drift_adwin import adwin_reset, adwin_state_size
from tidal._kernels.drift_many import ADWIN as _KIND
from tidal.drift.base import DriftDetector, check_int, check_real

__all__ = ["ADWIN"]


class ADWIN(DriftDetector):
    """Adaptive Windowing: keeps the longest recent window whose two parts have the same mean.

    Same algorithm, defaults and alarms as River 0.26.1's ``drift.ADWIN`` (its Rust core,
    ported operation by operation): an exponential histogram of at most ``max_buckets + 1``
    buckets per size; every ``clock`` updates, once the window holds more than ``grace_period``
    values, each cut into two sub-windows of at least ``min_window_length`` values is tested, and
    the oldest bucket is dropped while a cut shows a significant change. As in River, the update
    after a drift starts from an empty window.

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
    """

    _kind = _KIND

    def __init__(
        self,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        self.delta = delta
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window_length = min_window_length
        self.grace_period = grace_period

    def _check_params(self) -> None:
        check_real("delta", self.delta, 0.0, 1.0)
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

    def _header(self, i: int) -> float:
        s = self.__dict__.get("_s")
        return 0.0 if s is None else float(s[i])

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
