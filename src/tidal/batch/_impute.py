"""Mean imputation in front of a scikit-learn estimator that does not accept NaN."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone

__all__ = ["MeanImputed", "allows_nan"]


def allows_nan(estimator: Any) -> bool:
    """scikit-learn's ``allow_nan`` tag (LightGBM and HistGradientBoosting say yes)."""
    try:
        from sklearn.utils import get_tags

        return bool(get_tags(estimator).input_tags.allow_nan)
    except (AttributeError, TypeError, ValueError):  # not a scikit-learn estimator: assume not
        return False


class MeanImputed(BaseEstimator):
    """``estimator`` trained and queried with each NaN replaced by its column's (weighted) mean
    over the training rows (0 for a column with no value). Unlike a ``Pipeline`` with a
    ``SimpleImputer``, ``fit`` takes ``sample_weight`` as the estimator itself does; on rows
    without NaN it is the estimator, exactly.

    >>> from sklearn.linear_model import LinearRegression
    >>> m = MeanImputed(LinearRegression()).fit([[1.0], [3.0], [np.nan]], [1.0, 3.0, 2.0])
    >>> m.means_.tolist(), m.predict([[np.nan]]).round(6).tolist()
    ([2.0], [2.0])
    """

    def __init__(self, estimator: Any = None):
        self.estimator = estimator

    def _fill(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        missing = np.isnan(X)
        if not missing.any():
            return X
        return np.where(missing, self.means_, X)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MeanImputed:
        X = np.asarray(X, dtype=np.float64)
        present = ~np.isnan(X)
        w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
        weight = (present * w[:, None]).sum(axis=0)
        total = (np.where(present, X, 0.0) * w[:, None]).sum(axis=0)
        self.means_ = np.divide(total, weight, out=np.zeros(X.shape[1]), where=weight > 0)
        self.estimator_ = clone(self.estimator)
        if sample_weight is None:
            self.estimator_.fit(self._fill(X), y)
        else:
            self.estimator_.fit(self._fill(X), y, sample_weight=sample_weight)
        return self

    def __getattr__(self, name: str) -> Any:
        # fitted attributes (classes_, coef_...) are the estimator's
        inner = self.__dict__.get("estimator_")
        if inner is not None and name.endswith("_") and not name.startswith("__"):
            return getattr(inner, name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def predict(self, X: Any) -> np.ndarray:
        return self.estimator_.predict(self._fill(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.estimator_.predict_proba(self._fill(X))
