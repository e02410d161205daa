"""Passive-aggressive learners (Crammer et al., 2006), as River's ``linear_model.PA*``."""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal._kernels import linear as K
from tidal.base import Classifier, Regressor, Rows, Tags, store_params
from tidal.base.exceptions import ParameterError
from tidal.base.validation import check_real
from tidal.linear_model._common import kernel_args, named_weights, state_array

__all__ = ["PAClassifier", "PARegressor"]


class _PA:
    """State and kernel call shared by the two passive-aggressive learners."""

    _classify: bool = True

    def _check_params(self) -> None:
        owner = type(self).__name__
        if self.mode not in (0, 1, 2) or isinstance(self.mode, bool):  # type: ignore[attr-defined]
            raise ParameterError(f"{owner}: mode == {self.mode!r}, must be 0, 1 or 2")  # type: ignore[attr-defined]
        check_real("C", self.C, 0.0, closed="(]", owner=owner)  # type: ignore[attr-defined]
        check_real("eps", getattr(self, "eps", 0.0), 0.0, owner=owner)

    def _init_state(self) -> None:
        self._coef = np.zeros(self.n_features_in_)  # type: ignore[attr-defined]
        self._scal = np.zeros(1)

    def _state_dict(self) -> dict[str, Any]:
        return {"coef": self._coef.copy(), "intercept": float(self._scal[0])}

    def _load_state(self, state: dict[str, Any]) -> None:
        d, owner = self.n_features_in_, type(self).__name__  # type: ignore[attr-defined]
        self._coef = state_array(state, "coef", (d,), owner)
        self._scal = np.array([state["intercept"]], dtype=np.float64)

    def _step_arrays(self, X_pred: Rows, X_learn: Rows, y: Any, w: Rows, out: np.ndarray) -> None:
        H = K.new_hyper()
        H[K.H_PA_C] = self.C  # type: ignore[attr-defined]
        H[K.H_PA_EPS] = getattr(self, "eps", 0.0)
        y_dtype = np.int64 if self._classify else np.float64
        args = kernel_args(X_pred, X_learn, y, w, out, self._coef.shape[0], y_dtype)
        K.pa_step(
            *args,
            self._coef,
            self._scal,
            H,
            self._classify,
            int(self.mode),  # type: ignore[attr-defined]
            bool(self.learn_intercept),  # type: ignore[attr-defined]
        )

    @property
    def weights(self) -> dict[str, float]:
        """The current weights, ``{feature name: weight}``."""
        if getattr(self, "_coef", None) is None:
            return {}
        return named_weights(self.feature_names_in_, self._coef)  # type: ignore[attr-defined]

    @property
    def intercept(self) -> float:
        scal = getattr(self, "_scal", None)
        return float(scal[0]) if scal is not None else 0.0


class PAClassifier(_PA, Classifier):
    """Passive-aggressive binary classifier (hinge loss); ``mode`` 0 = PA, 1 = PA-I, 2 = PA-II.

    ``predict_proba_one`` is the sigmoid of the raw score, as in River. Sample weights scale each
    update (River's version takes none; ``w=1`` gives River's numbers).

    >>> from tidal.linear_model import PAClassifier
    >>> m = PAClassifier(C=0.1, mode=1)
    >>> X = [{"a": 1.0, "b": 0.5}, {"a": -1.0, "b": 0.4}] * 10
    >>> m.learn_many(X, [1, 0] * 10).predict_many([{"a": 2.0, "b": 0.0}, {"a": -2.0, "b": 0.0}])
    array([1, 0])
    """

    _tags = Tags(task="binary")
    _classify = True

    def __init__(self, C: float = 1.0, mode: int = 1, learn_intercept: bool = True):
        store_params(self, locals())


class PARegressor(_PA, Regressor):
    """Passive-aggressive regressor (epsilon-insensitive), River's ``PARegressor`` compiled.

    River 0.26 computes its loss against ``2 * y - 1`` (its epsilon-insensitive hinge maps
    targets as if they were 0/1 labels) while stepping towards ``y``; tidal reproduces this so
    predictions equal River's.

    >>> from tidal.linear_model import PARegressor
    >>> m = PARegressor(C=0.5, mode=2, eps=0.0)
    >>> X = [{"x": 1.0}, {"x": 2.0}] * 50
    >>> round(m.learn_many(X, [1.0, 1.5] * 50).predict_one({"x": 1.0}), 1)
    1.0
    """

    _tags = Tags(task="regression")
    _classify = False

    def __init__(
        self, C: float = 1.0, mode: int = 1, eps: float = 0.1, learn_intercept: bool = True
    ):
        store_params(self, locals())
