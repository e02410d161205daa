"""HDDM_A and HDDM_W: drift detection with Hoeffding's and McDiarmid's bounds."""

from __future__ import annotations

import math

import numpy as np

from tidal._kernels.drift_many import HDDM_A as _HDDM_A
from tidal._kernels.drift_many import HDDM_W as _HDDM_W
from tidal._kernels.drift_stats import (
    HDDM_A_STATE_SIZE,
    HDDM_W_STATE_SIZE,
    hddm_a_reset,
    hddm_w_reset,
)
from tidal.base import store_params
from tidal.base.validation import check_bool, check_real
from tidal.drift.base import DriftDetector, WarningMixin

__all__ = ["HDDM_A", "HDDM_W"]


class _HDDM(WarningMixin, DriftDetector):
    """What HDDM_A and HDDM_W share: the two confidence levels and the two-sided option."""

    def _check_params(self) -> None:
        check_real("drift_confidence", self.drift_confidence, 0.0, 1.0, "()")
        check_real("warning_confidence", self.warning_confidence, 0.0, 1.0, "()")
        check_bool("two_sided_test", self.two_sided_test)


class HDDM_A(_HDDM):
    """Drift detection with Hoeffding's bound on moving averages (Frías-Blanco et al., 2014).

    Input: 1 for an error, 0 for a correct prediction. Same defaults, arithmetic, warnings and
    alarms as River 0.26.1's ``drift.binary.HDDMA``.

    Parameters
    ----------
    drift_confidence
        Confidence level of the drift test, in (0, 1).
    warning_confidence
        Confidence level of the warning test, in (0, 1).
    two_sided_test
        Also monitor decreases of the mean.

    Examples
    --------
    River's own example stream gives River's answer:

    >>> import random
    >>> from tidal.drift import HDDM_A
    >>> rng = random.Random(42)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])
    >>> alarms, warnings = HDDM_A().update_many(stream, return_warnings=True)
    >>> alarms, warnings[0]
    (array([1206]), np.int64(451))
    """

    _kind = _HDDM_A
    _state_size = HDDM_A_STATE_SIZE
    _reset_state = staticmethod(hddm_a_reset)

    def __init__(
        self,
        drift_confidence: float = 0.001,
        warning_confidence: float = 0.005,
        two_sided_test: bool = False,
    ) -> None:
        store_params(self, locals())

    def _param_array(self) -> np.ndarray:
        dc, wc = self.drift_confidence, self.warning_confidence
        p = [dc, wc, float(self.two_sided_test)]
        # the same values River's math.log gives at every update, computed once
        p += [math.log(1.0 / dc), math.log(2.0 / dc), math.log(2.0 / wc)]
        return np.array(p, dtype=np.float64)


class HDDM_W(_HDDM):
    """Drift detection with McDiarmid's bound on weighted moving averages (Frías-Blanco et al.).

    Input: 1 for an error, 0 for a correct prediction. Same defaults, arithmetic, warnings and
    alarms as River 0.26.1's ``drift.binary.HDDMW``.

    Parameters
    ----------
    drift_confidence
        Confidence level of the drift test, in (0, 1).
    warning_confidence
        Confidence level of the warning test, in (0, 1).
    lambda_val
        Weight of the newest value in the moving averages, in (0, 1].
    two_sided_test
        Also monitor decreases of the mean.

    Examples
    --------
    >>> import random
    >>> from tidal.drift import HDDM_W
    >>> rng = random.Random(42)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])
    >>> alarms, warnings = HDDM_W().update_many(stream, return_warnings=True)
    >>> alarms, warnings[0]
    (array([1077]), np.int64(451))
    """

    _kind = _HDDM_W
    _state_size = HDDM_W_STATE_SIZE
    _reset_state = staticmethod(hddm_w_reset)

    def __init__(
        self,
        drift_confidence: float = 0.001,
        warning_confidence: float = 0.005,
        lambda_val: float = 0.05,
        two_sided_test: bool = False,
    ) -> None:
        store_params(self, locals())

    def _check_params(self) -> None:
        super()._check_params()
        check_real("lambda_val", self.lambda_val, 0.0, 1.0, "(]")

    def _param_array(self) -> np.ndarray:
        p = [
            self.drift_confidence,
            self.warning_confidence,
            self.lambda_val,
            float(self.two_sided_test),
            math.log(1 / self.drift_confidence),
            math.log(1 / self.warning_confidence),
        ]
        return np.array(p, dtype=np.float64)
