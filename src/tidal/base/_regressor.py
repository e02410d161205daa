"""The regressor face: finite float targets, predictions as float64 vectors."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin

from tidal.base._learner import _plain_finite, _Supervised
from tidal.base.tags import Tags

__all__ = ["Regressor"]


class Regressor(RegressorMixin, _Supervised):
    """Base of regressors: targets are finite floats.

    >>> from tidal.dummy import RunningMeanRegressor
    >>> RunningMeanRegressor().fit([[0.0], [0.0]], [1.0, 2.0]).predict([[5.0]]).tolist()
    [1.5]
    """

    _tags = Tags(task="regression")

    def _out(self, n: int) -> np.ndarray:
        return np.zeros(n, dtype=np.float64)

    def _encode_y(self, y: Any, n: int) -> np.ndarray:
        from tidal.base._input import as_float_vector

        if n == 1 and type(y) is list and len(y) == 1 and _plain_finite(y[0]):
            return np.array(y, dtype=np.float64)  # learn_one's target
        return as_float_vector(y, "target", self._name(), n)

    def predict_one(self, x: dict) -> float:
        """The predicted value for one row (0.0 before anything was learned)."""
        if not self.is_fitted:
            return 0.0
        return float(self._predict_out(x)[0])

    def predict_many(self, X: Any) -> np.ndarray:
        return self._predict_out(X)

    def step_many(self, X: Any, y: Any, w: Any = None) -> np.ndarray:
        """Prequential step: for each row, predict it, then learn it. Returns the predictions."""
        return self._run(X, y, w, predict=True)

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_many(X)
