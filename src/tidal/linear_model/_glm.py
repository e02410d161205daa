"""Generalised linear models trained online: logistic and linear regression, the perceptron.

The arithmetic is River's ``linear_model.base.GLM.learn_one``, row by row, inside one numba kernel
(:func:`tidal._kernels.linear.glm_step`) that dispatches on the optimiser code.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from tidal._kernels import linear as K
from tidal.base import Classifier, Regressor, Rows, Tags, store_params
from tidal.base.exceptions import ParameterError
from tidal.base.validation import check_real
from tidal.linear_model._common import (
    cached_config,
    kernel_args,
    named_weights,
    packed_optimizer,
    state_array,
)
from tidal.optim import SGD, FTRLProximal, Optimizer
from tidal.optim.schedulers import Scheduler, as_scheduler

__all__ = ["LogisticRegression", "LinearRegression", "Perceptron"]


class _GLM:
    """State and kernel call shared by the three GLMs (a mixin over Classifier / Regressor)."""

    _loss: ClassVar[int] = K.LOG
    _threshold: ClassVar[float] = 0.0

    # River's GLM parameters; Perceptron, which fixes most of them, has its own
    def __init__(
        self,
        optimizer: Optimizer | None = None,
        l2: float = 0.0,
        l1: float = 0.0,
        intercept_init: float = 0.0,
        intercept_lr: float | Scheduler = 0.01,
        clip_gradient: float = 1e12,
    ):
        store_params(self, locals())

    # the effective settings; Perceptron fixes some of them
    def _settings(self) -> tuple[Optimizer, float, float, float | Scheduler, float]:
        opt = self.optimizer if self.optimizer is not None else SGD(0.01)  # type: ignore[attr-defined]
        return opt, self.l2, self.l1, self.intercept_lr, self.clip_gradient  # type: ignore[attr-defined]

    def _config(self) -> tuple[np.ndarray, np.ndarray]:
        return cached_config(self, self._build_config)

    def _build_config(self) -> tuple[np.ndarray, np.ndarray]:
        owner = type(self).__name__
        opt, l2, l1, intercept_lr, clip = self._settings()
        H, C = packed_optimizer(opt, owner)
        H[K.H_L2] = check_real("l2", l2, 0.0, owner=owner)
        H[K.H_L1] = check_real("l1", l1, 0.0, owner=owner)
        if H[K.H_L1] != 0.0 and isinstance(opt, FTRLProximal):
            raise ParameterError(
                f"{owner}: l1 == {l1!r} with FTRLProximal, whose learning rate is not defined; "
                "use FTRLProximal(l1=...) instead"
            )
        C[K.C_ISCHED], H[K.H_ILR], H[K.H_IPOWER] = as_scheduler(intercept_lr, owner)._pack()
        H[K.H_CLIP] = check_real("clip_gradient", clip, 0.0, closed="(]", owner=owner)
        H[K.H_THRESHOLD] = self._threshold
        C[K.C_LOSS] = self._loss
        return H, C

    def _intercept_init(self) -> float:
        return check_real(
            "intercept_init", getattr(self, "intercept_init", 0.0), owner=type(self).__name__
        )

    def _check_params(self) -> None:
        self._config()
        self._intercept_init()

    def _init_state(self) -> None:
        d = self.n_features_in_  # type: ignore[attr-defined]
        self._coef = np.zeros(d)
        self._acc = np.zeros((2, d))
        self._cum_l1 = np.zeros(d)
        self._scal = np.array([self._intercept_init(), 0.0, 0.0])

    def _state_dict(self) -> dict[str, Any]:
        return {
            "coef": self._coef.copy(),
            "optimizer_state": self._acc.copy(),
            "cum_l1": self._cum_l1.copy(),
            "intercept": float(self._scal[0]),
            "n_iterations": float(self._scal[1]),
            "max_cum_l1": float(self._scal[2]),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        d, owner = self.n_features_in_, type(self).__name__  # type: ignore[attr-defined]
        self._coef = state_array(state, "coef", (d,), owner)
        self._acc = state_array(state, "optimizer_state", (2, d), owner)
        self._cum_l1 = state_array(state, "cum_l1", (d,), owner)
        self._scal = np.array(
            [state["intercept"], state["n_iterations"], state["max_cum_l1"]], dtype=np.float64
        )

    def _step_arrays(self, X_pred: Rows, X_learn: Rows, y: Any, w: Rows, out: np.ndarray) -> None:
        H, C = self._config()
        y_dtype = np.float64 if self._loss == K.SQUARED else np.int64
        args = kernel_args(X_pred, X_learn, y, w, out, self._coef.shape[0], y_dtype)
        K.glm_step(*args, self._coef, self._acc, self._cum_l1, self._scal, H, C)

    @property
    def weights(self) -> dict[str, float]:
        """The current weights, ``{feature name: weight}`` (empty before the first learn)."""
        if not getattr(self, "feature_names_in_", None):
            return {}
        return named_weights(self.feature_names_in_, self._coef)  # type: ignore[attr-defined]

    @property
    def intercept(self) -> float:
        """The current intercept (``intercept_init`` before the first learn)."""
        scal = getattr(self, "_scal", None)
        return float(scal[0]) if scal is not None else float(getattr(self, "intercept_init", 0.0))


class LogisticRegression(_GLM, Classifier):
    """Binary logistic regression trained by online gradient descent (River's defaults).

    Labels are ``0/1`` or ``False/True`` (or any two labels, the first seen being the negative
    class). A third class raises an InputError naming its row. The intercept has its own
    learning rate; ``w`` multiplies the loss gradient, as in River. ``l1`` uses River's cumulative
    L1 penalty; unlike River, ``l1`` and ``l2`` may be combined. Weights start at zero (River's
    default initializer; other initializers are not offered).

    Parameters
    ----------
    optimizer
        A :mod:`tidal.optim` optimiser for the weights; ``None`` means ``SGD(0.01)``.
    l2, l1
        Penalties pushing the weights towards 0.
    intercept_init
        Starting intercept.
    intercept_lr
        The intercept's learning rate (a float or a :mod:`tidal.optim.schedulers` scheduler);
        0 freezes the intercept.
    clip_gradient
        Bound on the absolute loss gradient.

    >>> from tidal.linear_model import LogisticRegression
    >>> from tidal.optim import SGD
    >>> m = LogisticRegression(optimizer=SGD(0.5))
    >>> X = [{"x": 1.0}, {"x": -1.0}] * 20
    >>> m.step_many(X, [True, False] * 20)[-4:].tolist()
    [True, False, True, False]
    >>> round(m.predict_proba_one({"x": 1.0})[True], 3)
    0.949
    """

    _tags = Tags(task="binary")
    _loss = K.LOG

    @classmethod
    def _unit_test_params(cls) -> list[dict[str, Any]]:
        from tidal.optim import Adam, schedulers

        return [
            {},
            {"optimizer": Adam(), "l2": 0.01},
            {"optimizer": FTRLProximal(l1=0.1), "intercept_lr": schedulers.InverseScaling(0.1)},
        ]


class LinearRegression(_GLM, Regressor):
    """Linear regression on the squared loss, trained online (River's defaults).

    Same parameters as :class:`LogisticRegression`. Scale the features first (for example with
    ``tidal.preprocessing.StandardScaler``): plain SGD diverges on large inputs.

    >>> from tidal.linear_model import LinearRegression
    >>> m = LinearRegression(intercept_lr=0.1)
    >>> X = [{"x": float(i % 5)} for i in range(500)]
    >>> y = [3.0 * r["x"] + 1.0 for r in X]
    >>> round(m.learn_many(X, y).predict_one({"x": 2.0}), 2)
    7.0
    """

    _tags = Tags(task="regression")
    _loss = K.SQUARED

    @classmethod
    def _unit_test_params(cls) -> list[dict[str, Any]]:
        from tidal.optim import AdaGrad

        return [{}, {"optimizer": AdaGrad(), "l1": 0.01}]


class Perceptron(_GLM, Classifier):
    """The perceptron: hinge loss with threshold 0, ``SGD(1)``, intercept rate 1 (as River).

    ``predict_proba_one`` is the sigmoid of the raw score, as in River.

    >>> from tidal.linear_model import Perceptron
    >>> m = Perceptron()
    >>> X = [{"a": 1.0, "b": 0.2}, {"a": -1.0, "b": 0.1}] * 5
    >>> m.step_many(X, [1, 0] * 5).tolist()
    [0, 1, 1, 0, 1, 0, 1, 0, 1, 0]
    """

    _tags = Tags(task="binary")
    _loss = K.HINGE
    _threshold = 0.0

    def __init__(self, l2: float = 0.0, clip_gradient: float = 1e12):
        store_params(self, locals())

    def _settings(self) -> tuple[Optimizer, float, float, float | Scheduler, float]:
        return SGD(1.0), self.l2, 0.0, 1.0, self.clip_gradient
