"""DDM and EDDM: drift detection from a stream of error bits."""

from __future__ import annotations

import numpy as np

from tidal._kernels.drift_many import DDM as _DDM
from tidal._kernels.drift_many import EDDM as _EDDM
from tidal._kernels.drift_stats import (
    DDM_STATE_SIZE,
    EDDM_STATE_SIZE,
    ddm_reset,
    eddm_reset,
)
from tidal.base import store_params
from tidal.base.exceptions import ParameterError
from tidal.base.validation import check_int, check_real
from tidal.drift.base import DriftDetector, WarningMixin

__all__ = ["DDM", "EDDM"]


class DDM(WarningMixin, DriftDetector):
    """Drift Detection Method (Gama et al., 2004): the error rate's minimum plus k deviations.

    Input: 1 for an error, 0 for a correct prediction. Same defaults, arithmetic, warnings and
    alarms as River 0.26.1's ``drift.binary.DDM`` (like River, any finite number is accepted and
    averaged).

    Parameters
    ----------
    warm_start
        Values seen before a change can be signalled.
    warning_threshold
        Deviations above the minimum that mean "warning".
    drift_threshold
        Deviations above the minimum that mean "drift".

    Examples
    --------
    River's own example stream gives River's answer:

    >>> import random
    >>> from tidal.drift import DDM
    >>> rng = random.Random(42)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])
    >>> alarms, warnings = DDM().update_many(stream, return_warnings=True)
    >>> alarms, warnings[0]
    (array([1334]), np.int64(1084))
    """

    _kind = _DDM
    _state_size = DDM_STATE_SIZE
    _reset_state = staticmethod(ddm_reset)

    def __init__(
        self, warm_start: int = 30, warning_threshold: float = 2.0, drift_threshold: float = 3.0
    ) -> None:
        store_params(self, locals())

    def _check_params(self) -> None:
        check_int("warm_start", self.warm_start, 0)
        check_real("warning_threshold", self.warning_threshold, 0.0)
        check_real("drift_threshold", self.drift_threshold, 0.0)

    def _param_array(self) -> np.ndarray:
        p = [self.warm_start, self.warning_threshold, self.drift_threshold]
        return np.array(p, dtype=np.float64)


class EDDM(WarningMixin, DriftDetector):
    """Early Drift Detection Method (Baena-García et al., 2006): the distance between errors.

    Input: 1 for an error, anything else for a correct prediction. Same defaults, arithmetic,
    warnings and alarms as River 0.26.1's ``drift.binary.EDDM``; like River, the warning flag
    only changes when an error arrives.

    Parameters
    ----------
    warm_start
        Rows and errors seen before a change can be signalled.
    alpha
        Warning when the distance statistic falls below ``alpha`` times its maximum.
    beta
        Drift when it falls below ``beta`` times its maximum (``beta <= alpha``).

    Examples
    --------
    >>> import random
    >>> from tidal.drift import EDDM
    >>> rng = random.Random(42)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])
    >>> alarms, warnings = EDDM(alpha=0.8, beta=0.75).update_many(stream, return_warnings=True)
    >>> alarms, warnings[0]
    (array([1278]), np.int64(1059))
    """

    _kind = _EDDM
    _state_size = EDDM_STATE_SIZE
    _reset_state = staticmethod(eddm_reset)

    def __init__(self, warm_start: int = 30, alpha: float = 0.95, beta: float = 0.9) -> None:
        store_params(self, locals())

    def _check_params(self) -> None:
        check_int("warm_start", self.warm_start, 0)
        check_real("alpha", self.alpha, 0.0, 1.0, "(]")
        check_real("beta", self.beta, 0.0, 1.0, "(]")
        if self.alpha < self.beta:
            raise ParameterError(
                f"alpha == {self.alpha!r} and beta == {self.beta!r}: alpha must be >= beta"
            )

    def _param_array(self) -> np.ndarray:
        return np.array([self.warm_start, self.alpha, self.beta], dtype=np.float64)
