"""Multiclass logistic (softmax) regression trained online."""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal._kernels import linear as K
from tidal.base import Classifier, Rows, Tags, store_params
from tidal.base.exceptions import StateError
from tidal.base.validation import check_real
from tidal.linear_model._common import cached_config, kernel_args, packed_optimizer, state_array
from tidal.optim import SGD, Optimizer

__all__ = ["SoftmaxRegression"]


class SoftmaxRegression(Classifier):
    """Softmax regression, River's ``linear_model.SoftmaxRegression`` compiled.

    One weight row per class and no intercept, as in River. Each class has its own copy of the
    optimiser state (River deep-copies the optimiser per class), so Adam's bias correction and
    inverse-scaling rates count each class's own steps. Classes are added as they appear; a class
    gets probability 0 until it has been learned once. Sample weights multiply the loss gradient
    (River's version takes none; ``w=1`` gives River's numbers).

    >>> from tidal.linear_model import SoftmaxRegression
    >>> from tidal.optim import SGD
    >>> m = SoftmaxRegression(optimizer=SGD(0.5))
    >>> X = [{"x": 1.0, "y": 0.0}, {"x": 0.0, "y": 1.0}, {"x": -1.0, "y": -1.0}] * 30
    >>> m.learn_many(X, ["a", "b", "c"] * 30).predict_one({"x": 0.1, "y": 0.9})
    'b'
    """

    _tags = Tags(task="multiclass")

    @classmethod
    def _unit_test_params(cls) -> list[dict[str, Any]]:
        from tidal.optim import Adam

        return [{}, {"optimizer": Adam(), "l2": 0.01}]

    def __init__(self, optimizer: Optimizer | None = None, l2: float = 0.0):
        store_params(self, locals())

    def _config(self) -> tuple[np.ndarray, np.ndarray]:
        return cached_config(self, self._build_config)

    def _build_config(self) -> tuple[np.ndarray, np.ndarray]:
        owner = type(self).__name__
        opt = self.optimizer if self.optimizer is not None else SGD(0.01)
        H, C = packed_optimizer(opt, owner)
        H[K.H_L2] = check_real("l2", self.l2, 0.0, owner=owner)
        return H, C

    def _check_params(self) -> None:
        self._config()

    def _init_state(self) -> None:
        d = self.n_features_in_
        k = self._n_classes
        self._W = np.zeros((k, d))
        self._acc = np.zeros((2, k, d))
        self._n_iter = np.zeros(k)
        self._active = np.zeros(1, dtype=np.int64)

    def _on_new_classes(self, n_classes: int) -> None:
        extra = n_classes - self._W.shape[0]
        if extra <= 0:
            return
        d = self._W.shape[1]
        self._W = np.concatenate([self._W, np.zeros((extra, d))])
        self._acc = np.concatenate([self._acc, np.zeros((2, extra, d))], axis=1)
        self._n_iter = np.concatenate([self._n_iter, np.zeros(extra)])

    def _state_dict(self) -> dict[str, Any]:
        return {
            "weights": self._W.copy(),
            "optimizer_state": self._acc.copy(),
            "n_iterations": self._n_iter.copy(),
            "n_active": int(self._active[0]),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        d, k, owner = self.n_features_in_, self._n_classes, type(self).__name__
        self._W = state_array(state, "weights", (k, d), owner)
        self._acc = state_array(state, "optimizer_state", (2, k, d), owner)
        self._n_iter = state_array(state, "n_iterations", (k,), owner)
        active = int(state["n_active"])
        if not 0 <= active <= k:
            raise StateError(f"{owner} state: n_active == {active}, expected 0..{k}")
        self._active = np.array([active], dtype=np.int64)

    def _step_arrays(self, X_pred: Rows, X_learn: Rows, y: Any, w: Rows, out: np.ndarray) -> None:
        H, C = self._config()
        args = kernel_args(X_pred, X_learn, y, w, out, self._W.shape[1], y_dtype=np.int64)
        K.softmax_step(*args, self._W, self._acc, self._n_iter, self._active, H, C)

    @property
    def weights(self) -> dict[Any, dict[str, float]]:
        """``{label: {feature: weight}}`` for the classes learned so far."""
        if not self.is_fitted:
            return {}
        names = self.feature_names_in_
        return {
            lab: {n: float(v) for n, v in zip(names, self._W[k])}
            for k, lab in enumerate(self._labels[: int(self._active[0])])
        }
