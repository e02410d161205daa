"""Optimisers: immutable configurations. Their state (accumulators, moments) lives in arrays owned
by the learner, so ``state_dict`` captures it and one optimiser object can serve many learners."""

from __future__ import annotations

import numpy as np

from tidal._kernels import linear as K
from tidal.base import store_params
from tidal.base.validation import check_real
from tidal.optim.config import Config
from tidal.optim.schedulers import Scheduler, as_scheduler

__all__ = ["Optimizer", "SGD", "AdaGrad", "Adam", "FTRLProximal"]


class Optimizer(Config):
    """Base of optimisers: ``_pack`` writes the configuration into the kernel's vectors.

    An optimiser holds no state: the learner owns the accumulators, so one optimiser object
    can configure many learners and every learner's ``state_dict`` holds its own.

    >>> from tidal.optim import Adam, Optimizer
    >>> isinstance(Adam(), Optimizer), Adam().get_params()
    (True, {'beta_1': 0.9, 'beta_2': 0.999, 'eps': 1e-08, 'lr': 0.1})
    """

    _code: int = K.SGD
    #: whether the kernel uses a learning-rate schedule (FTRL has its own alpha/beta)
    _scheduled: bool = True

    def _pack(self, H: np.ndarray, C: np.ndarray, owner: str) -> None:
        C[K.C_OPT] = self._code
        if self._scheduled:
            code, lr, power = as_scheduler(self.lr, owner)._pack()  # type: ignore[attr-defined]
            C[K.C_SCHED] = code
            H[K.H_LR] = lr
            H[K.H_POWER] = power


class SGD(Optimizer):
    """Plain stochastic gradient descent: ``w -= lr(t) * g``.

    ``lr`` is a float (constant rate) or a scheduler such as
    :class:`~tidal.optim.schedulers.InverseScaling`.

    >>> from tidal.optim import SGD
    >>> from tidal.optim.schedulers import InverseScaling
    >>> SGD(0.1)
    SGD(lr=0.1)
    >>> SGD(InverseScaling(0.1, power=0.25)).get_params()["lr"]
    InverseScaling(learning_rate=0.1, power=0.25)
    """

    _code = K.SGD

    def __init__(self, lr: float | Scheduler = 0.01):
        self.lr = lr


class AdaGrad(Optimizer):
    """AdaGrad: per-weight rate ``lr / sqrt(sum of squared gradients + eps)``.

    >>> from tidal.linear_model import LogisticRegression
    >>> from tidal.optim import AdaGrad
    >>> m = LogisticRegression(optimizer=AdaGrad(lr=0.1))
    >>> m.learn_many([{"x": 1.0}, {"x": -1.0}], [1, 0]).predict_one({"x": 2.0})
    1
    """

    _code = K.ADAGRAD

    def __init__(self, lr: float | Scheduler = 0.1, eps: float = 1e-8):
        store_params(self, locals())

    def _pack(self, H: np.ndarray, C: np.ndarray, owner: str) -> None:
        super()._pack(H, C, owner)
        H[K.H_EPS] = check_real("eps", self.eps, 0.0, owner=owner)


class Adam(Optimizer):
    """Adam with River's bias corrections folded into the step size.

    >>> from tidal.linear_model import LinearRegression
    >>> from tidal.optim import Adam
    >>> m = LinearRegression(optimizer=Adam(lr=0.1))
    >>> round(m.learn_many([{"x": 1.0}] * 50, [2.0] * 50).predict_one({"x": 1.0}), 2)
    1.98
    """

    _code = K.ADAM

    def __init__(
        self,
        lr: float | Scheduler = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        eps: float = 1e-8,
    ):
        store_params(self, locals())

    def _pack(self, H: np.ndarray, C: np.ndarray, owner: str) -> None:
        super()._pack(H, C, owner)
        for name in ("beta_1", "beta_2"):
            check_real(name, getattr(self, name), 0.0, 1.0, "[)", owner=owner)
        H[K.H_BETA1] = float(self.beta_1)
        H[K.H_BETA2] = float(self.beta_2)
        H[K.H_EPS] = check_real("eps", self.eps, 0.0, owner=owner)


class FTRLProximal(Optimizer):
    """FTRL-Proximal (McMahan et al., 2013), as River's ``optim.FTRLProximal``.

    ``l1`` and ``l2`` here are the optimiser's own penalties (``l1`` gives exact zeros).

    >>> from tidal.linear_model import LogisticRegression
    >>> from tidal.optim import FTRLProximal
    >>> m = LogisticRegression(optimizer=FTRLProximal(alpha=0.5, l1=0.1))
    >>> m.learn_many([{"x": 1.0, "noise": 0.0}] * 5 + [{"x": -1.0, "noise": 0.0}] * 5,
    ...              [1] * 5 + [0] * 5).weights["noise"]
    0.0
    """

    _code = K.FTRL
    _scheduled = False

    def __init__(self, alpha: float = 0.05, beta: float = 1.0, l1: float = 0.0, l2: float = 1.0):
        store_params(self, locals())

    def _pack(self, H: np.ndarray, C: np.ndarray, owner: str) -> None:
        super()._pack(H, C, owner)
        H[K.H_ALPHA] = check_real("alpha", self.alpha, 0.0, closed="(]", owner=owner)
        H[K.H_BETA] = check_real("beta", self.beta, 0.0, owner=owner)
        H[K.H_FL1] = check_real("l1", self.l1, 0.0, owner=owner)
        H[K.H_FL2] = check_real("l2", self.l2, 0.0, owner=owner)
