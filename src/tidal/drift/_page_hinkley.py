"""Page-Hinkley test (Page, 1954)."""

from __future__ import annotations

import numpy as np

from tidal._kernels.drift_many import PAGE_HINKLEY as _KIND
from tidal._kernels.drift_stats import (
    PAGE_HINKLEY_STATE_SIZE,
    page_hinkley_reset,
)
from tidal.base import store_params
from tidal.base.exceptions import ParameterError
from tidal.base.validation import check_int, check_real
from tidal.drift.base import DriftDetector

__all__ = ["PageHinkley"]

_MODES = {"up": 0.0, "down": 1.0, "both": 2.0}


class PageHinkley(DriftDetector):
    """Page-Hinkley test on a fading mean: signals increases, decreases or both.

    Same defaults, arithmetic and alarms as River 0.26.1's ``drift.PageHinkley``; no warning zone.

    Parameters
    ----------
    min_instances
        Values seen before a change can be signalled.
    delta
        Magnitude of changes tolerated.
    threshold
        Detection threshold (lambda).
    alpha
        Forgetting factor of the cumulative sums, in (0, 1].
    mode
        ``"up"``, ``"down"`` or ``"both"``.

    Examples
    --------
    >>> import random
    >>> from tidal.drift import PageHinkley
    >>> rng = random.Random(12345)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    >>> PageHinkley().update_many(stream)[:1]
    array([1006])
    """

    _kind = _KIND
    _state_size = PAGE_HINKLEY_STATE_SIZE
    _reset_state = staticmethod(page_hinkley_reset)

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: str = "both",
    ) -> None:
        store_params(self, locals())

    def _check_params(self) -> None:
        check_int("min_instances", self.min_instances, 0)
        check_real("delta", self.delta, 0.0)
        check_real("threshold", self.threshold, 0.0)
        check_real("alpha", self.alpha, 0.0, 1.0, "(]")
        if self.mode not in _MODES:
            raise ParameterError(f"mode == {self.mode!r}, must be one of {list(_MODES)}")

    def _param_array(self) -> np.ndarray:
        return np.array(
            [self.min_instances, self.delta, self.threshold, self.alpha, _MODES[self.mode]],
            dtype=np.float64,
        )
