"""Learning-rate schedulers: immutable configurations, as River's ``optim.schedulers``.

A scheduler maps the optimiser's iteration count ``t`` (0 for the first step) to a rate.

>>> from tidal.optim.schedulers import InverseScaling
>>> InverseScaling(0.1, power=0.5).get(3)
0.05
"""

from __future__ import annotations

import math

from tidal.base import store_params
from tidal.base.validation import check_real
from tidal.optim.config import Config

__all__ = ["Scheduler", "Constant", "InverseScaling"]


class Scheduler(Config):
    """Base of schedulers; ``_code`` selects the kernel's formula.

    >>> from tidal.optim.schedulers import Constant, Scheduler
    >>> isinstance(Constant(0.1), Scheduler)
    True
    """

    _code: int = 0

    def get(self, t: int) -> float:
        raise NotImplementedError

    def _pack(self) -> tuple[int, float, float]:
        raise NotImplementedError

    def _check(self, owner: str) -> None:
        raise NotImplementedError


class Constant(Scheduler):
    """The same rate at every step.

    >>> Constant(0.01).get(1000)
    0.01
    """

    _code = 0

    def __init__(self, learning_rate: float = 0.01):
        self.learning_rate = learning_rate

    def get(self, t: int) -> float:
        return self.learning_rate

    def _pack(self) -> tuple[int, float, float]:
        return self._code, float(self.learning_rate), 0.0

    def _check(self, owner: str) -> None:
        _check_rate(self.learning_rate, owner)


class InverseScaling(Scheduler):
    """``learning_rate / (t + 1) ** power``, River's ``optim.schedulers.InverseScaling``.

    >>> [round(InverseScaling(1.0, power=1.0).get(t), 3) for t in range(3)]
    [1.0, 0.5, 0.333]
    """

    _code = 1

    def __init__(self, learning_rate: float = 0.01, power: float = 0.5):
        store_params(self, locals())

    def get(self, t: int) -> float:
        return self.learning_rate / math.pow(t + 1, self.power)

    def _pack(self) -> tuple[int, float, float]:
        return self._code, float(self.learning_rate), float(self.power)

    def _check(self, owner: str) -> None:
        _check_rate(self.learning_rate, owner)
        check_real("power", self.power, 0.0, owner=owner)


def _check_rate(lr: object, owner: str) -> None:
    check_real("learning_rate", lr, 0.0, owner=owner)


def as_scheduler(lr: float | Scheduler, owner: str) -> Scheduler:
    """A float becomes a :class:`Constant` (River's convention); a scheduler is checked."""
    sched = lr if isinstance(lr, Scheduler) else Constant(lr)  # type: ignore[arg-type]
    sched._check(owner)
    return sched
