"""The immutable-configuration base shared by optimisers and schedulers (their parameter checks
are in :mod:`tidal.base.validation`)."""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator

#: bumped by every ``set_params`` on a configuration, so learners know to repack their kernels'
#: parameter vectors (they cache them: packing costs more than a small block's kernel call)
_EPOCH = [0]


def config_epoch() -> int:
    return _EPOCH[0]


class Config(BaseEstimator):
    """A configuration object: its parameters change only through ``set_params``.

    Learners cache what they derive from an optimiser (the kernel's parameter vectors), and one
    optimiser may be shared by many learners; ``set_params`` tells them all, while plain
    attribute assignment would be silently ignored, so it is refused.

    >>> from tidal.optim import SGD
    >>> opt = SGD(0.1)
    >>> opt.lr = 0.5
    Traceback (most recent call last):
    ...
    AttributeError: SGD is immutable: use set_params(lr=0.5) or build a new one, SGD(lr=0.5)
    >>> opt.set_params(lr=0.5)
    SGD(lr=0.5)
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__ and not self.__dict__.get("_unlocked", False):
            cls = type(self).__name__
            raise AttributeError(
                f"{cls} is immutable: use set_params({name}={value!r}) or build a new one, "
                f"{cls}({name}={value!r})"
            )
        super().__setattr__(name, value)

    def set_params(self, **params: Any) -> Config:
        _EPOCH[0] += 1
        self.__dict__["_unlocked"] = True
        try:
            return super().set_params(**params)
        finally:
            del self.__dict__["_unlocked"]
