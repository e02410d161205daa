"""Regression metrics: MAE, RMSE, R2."""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal.metrics.base import Metric, _Ring
from tidal.metrics.probabilistic import _RowMean

__all__ = ["MAE", "RMSE", "R2"]


def _floats(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def _mean_m2(y: np.ndarray, w: np.ndarray, n: float) -> tuple[float, float]:
    """Weighted mean and sum of squared deviations, two-pass with one correction step (so a
    constant ``y`` gives exactly 0, as River's Welford update does)."""
    mean = float(np.dot(w, y)) / n
    mean += float(np.dot(w, y - mean)) / n
    d = y - mean
    return mean, float(np.dot(w, d * d))


class _ErrorMean(_RowMean):
    """Weighted mean of a function of the error ``y_true - y_pred``."""

    task = "regression"
    higher_is_better = False

    @staticmethod
    def _loss(e: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _update_many(self, y_true: Any, y_pred: Any, w: np.ndarray, classes: Any) -> None:
        self._push(self._loss(_floats(y_true) - _floats(y_pred)), w)


class MAE(_ErrorMean):
    """Mean absolute error.

    >>> from tidal.metrics import MAE
    >>> MAE().update_many([3.0, -0.5, 2.0], [2.5, 0.0, 2.0]).get()
    0.333...
    """

    _loss = staticmethod(np.abs)

    @staticmethod
    def row_losses(y_true: Any, y_pred: Any) -> np.ndarray:
        """Per-row absolute errors as float32 (four bytes a row: what the engine keeps of every
        row for the steady state and the recovery analysis).

        >>> MAE.row_losses([1.0, 2.0], [1.5, 0.0]).tolist()
        [0.5, 2.0]
        """
        return np.abs(_floats(y_pred) - _floats(y_true)).astype(np.float32)


class RMSE(_ErrorMean):
    """Root mean squared error.

    >>> from tidal.metrics import RMSE
    >>> RMSE().update_many([3.0, -0.5, 2.0], [2.5, 0.0, 2.0]).get()
    0.408...
    """

    _loss = staticmethod(np.square)

    def get(self) -> float:
        return self._mean() ** 0.5


class R2(Metric):
    """Coefficient of determination, ``1 - SS_res / SS_tot`` (0.0 while undefined, as River).

    >>> from tidal.metrics import R2
    >>> R2().update_many([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]).get()
    0.948...
    """

    task = "regression"

    def _reset(self) -> None:
        if self.window is None:
            self._n = 0.0  # sum of weights
            self._mean = 0.0
            self._m2 = 0.0  # weighted sum of squared deviations of y_true
            self._ss_res = 0.0
        else:
            self._ring = _Ring(self.window, 3)

    def _update_many(self, y_true: Any, y_pred: Any, w: np.ndarray, classes: Any) -> None:
        y, p = _floats(y_true), _floats(y_pred)
        if self.window is not None:
            self._ring.push(y, p, w)
            return
        e = y - p
        self._ss_res += float(np.dot(w, e * e))
        n_b = float(w.sum())
        if n_b <= 0:
            return
        mean_b, m2_b = _mean_m2(y, w, n_b)
        n = self._n + n_b
        delta = mean_b - self._mean
        # Chan et al.'s pairwise combination: stable for blocks of any size
        self._m2 += m2_b + delta * delta * self._n * n_b / n
        self._mean += delta * n_b / n
        self._n = n

    def get(self) -> float:
        if self.window is None:
            n, m2, ss_res = self._n, self._m2, self._ss_res
        else:
            y, p, w = self._ring.columns()
            n = float(w.sum())
            if n <= 0:
                return 0.0
            m2 = _mean_m2(y, w, n)[1]
            ss_res = float(np.dot(w, (y - p) ** 2))
        if n <= 1 or m2 == 0:
            return 0.0
        return 1.0 - ss_res / m2
