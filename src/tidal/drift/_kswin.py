"""KSWIN: Kolmogorov-Smirnov windowing (Raab et al., 2020)."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from tidal._kernels.drift_kswin import (
    KSWIN_HEADER,
    KSWIN_PARAMS,
    kswin_reset,
    kswin_state_size,
)
from tidal._kernels.drift_many import KSWIN as _KIND
from tidal.base import store_params
from tidal.base.exceptions import InputError, ParameterError
from tidal.base.validation import check_int, check_real
from tidal.drift.base import DriftDetector

__all__ = ["KSWIN"]

_MAX_KEY_WORDS = KSWIN_PARAMS - 5


def _seed_key(seed: int | None) -> list[int]:
    """The 32-bit words CPython's ``random.Random(seed)`` seeds its Mersenne Twister with."""
    n = int.from_bytes(os.urandom(8), "little") if seed is None else abs(int(seed))
    words = []
    while True:
        words.append(n & 0xFFFFFFFF)
        n >>= 32
        if n == 0:
            return words


def _sample_setsize(k: int) -> int:
    """``random.sample``'s threshold between its pool and its set algorithm (CPython 3.11)."""
    setsize = 21
    if k > 5:
        setsize += 4 ** math.ceil(math.log(k * 3, 4))
    return setsize


class KSWIN(DriftDetector):
    """Kolmogorov-Smirnov windowing: a KS test between recent values and a sample of older ones.

    Keeps the last ``window_size`` values; once full, at every update it draws ``stat_size``
    values from the oldest ``window_size - stat_size`` and tests them against the ``stat_size``
    newest with the exact two-sample KS test; a drift is a p-value ``<= alpha`` with a statistic
    above 0.1. No warning zone.

    Same defaults and, for an integer ``seed``, the same random draws and alarms as River
    0.26.1's ``drift.KSWIN``: the kernel runs CPython's Mersenne Twister and
    ``random.sample`` algorithm and scipy's exact p-value formula, re-seeding at every drift as
    River does. With ``seed=None`` River seeds from the operating system at every restart, which
    cannot be reproduced; tidal then draws one random seed when the detector starts and keeps it
    (in the state dict too), so a restored detector continues identically.

    Parameters
    ----------
    alpha
        Significance level of the KS test, in (0, 1).
    window_size
        Length of the sliding window.
    stat_size
        Size of each tested sample (at most 10,000, where scipy's exact test stops).
    seed
        Integer seed of the draws (River-compatible), or None.
    window
        Values that fill the window before the first update.

    Examples
    --------
    River's own example stream and seed give River's answer:

    >>> import random
    >>> from tidal.drift import KSWIN
    >>> rng = random.Random(12345)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    >>> KSWIN(alpha=0.0001, seed=42).update_many(stream)[:1]
    array([1016])
    """

    _kind = _KIND

    def __init__(
        self,
        alpha: float = 0.005,
        window_size: int = 100,
        stat_size: int = 30,
        seed: int | None = None,
        window: Any = None,
    ) -> None:
        store_params(self, locals())

    def _check_params(self) -> None:
        check_real("alpha", self.alpha, 0.0, 1.0, "()")
        check_int("stat_size", self.stat_size, 1)
        if self.stat_size > 10_000:
            raise ParameterError(
                f"stat_size == {self.stat_size}, must be <= 10000 (scipy's exact KS test)"
            )
        check_int("window_size", self.window_size, 2 * self.stat_size)
        if self.seed is not None:
            if not isinstance(self.seed, int | np.integer) or isinstance(self.seed, bool):
                raise ParameterError(f"seed == {self.seed!r}, must be an integer or None")
            if abs(int(self.seed)) >= 2 ** (32 * _MAX_KEY_WORDS):
                raise ParameterError(f"seed == {self.seed!r}, must be below 2**256 in size")
        if self.window is not None:
            w = np.asarray(self.window, dtype=np.float64)
            if w.ndim != 1 or not np.isfinite(w).all():
                raise ParameterError("window must be a 1-D sequence of finite numbers")

    def _param_array(self) -> np.ndarray:
        key = _seed_key(self.seed)
        p = np.zeros(KSWIN_PARAMS, dtype=np.float64)
        p[:5] = [
            self.alpha,
            self.window_size,
            self.stat_size,
            _sample_setsize(self.stat_size),
            len(key),
        ]
        p[5 : 5 + len(key)] = key
        return p

    def _restore_params(self, saved: np.ndarray) -> np.ndarray:
        p = self._param_array()
        if saved.shape != p.shape:
            raise InputError(f"KSWIN parameter array has shape {saved.shape}, expected {p.shape}")
        p[4:] = saved[4:]  # the seed words: drawn at random when seed is None
        return p

    def _new_state(self, p: np.ndarray) -> np.ndarray:
        ws = int(p[1])
        s = np.zeros(kswin_state_size(ws, int(p[2])), dtype=np.float64)
        kswin_reset(p, s)
        if self.window is not None and len(self.window):
            w = np.asarray(self.window, dtype=np.float64)[-ws:]
            s[KSWIN_HEADER : KSWIN_HEADER + w.shape[0]] = w
            s[4] = w.shape[0]
        return s

    @property
    def p_value(self) -> float:
        """p-value of the last KS test (0 before the first one, as in River)."""
        s = self.__dict__.get("_s")
        return 0.0 if s is None else float(s[3])

    @property
    def n(self) -> int:
        """Values seen since the last restart."""
        s = self.__dict__.get("_s")
        return 0 if s is None else int(s[2])
