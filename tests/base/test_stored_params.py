"""scikit-learn's rule for constructors, over every public estimator-like class of tidal: the
constructor stores each parameter unchanged under its own name and binds no other public
attribute, so ``get_params`` / ``set_params`` / ``clone`` / ``repr`` give back what was passed.

Each parameter is given a distinct marker object: a constructor that converts, checks or swaps a
parameter, or that stores a stray local (``store_params(self, locals())`` called too late), fails.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest
from sklearn.base import BaseEstimator, clone

from tidal.checks import learner_classes
from tidal.stream.synth import Generator

#: public classes, besides the learners, whose constructor takes parameters in scikit-learn's way
_MODULES = ("tidal.drift", "tidal.optim", "tidal.optim.schedulers", "tidal.batch")

#: constructors that check their parameters when called (a marker cannot pass), each with why
CHECKED_IN_INIT = {
    # builds its reference window at once; errors there are a user-facing contract
    "FeatureDriftMonitor",
    # a factory: ``__new__`` picks the classifier or regressor subclass from the learners' tasks
    "Hybrid",
}


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _classes() -> list[type]:
    found = set(learner_classes())
    for name in _MODULES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if isinstance(obj, type) and issubclass(obj, BaseEstimator):
                found.add(obj)
    found.add(importlib.import_module("tidal.monitor").FeatureDriftMonitor)
    synth = importlib.import_module("tidal.stream.synth")
    found |= {getattr(synth, n) for n in synth.__all__ if isinstance(getattr(synth, n), type)}
    return sorted(
        (c for c in found if _params(c) and not inspect.isabstract(c) and c is not Generator),
        key=lambda c: (c.__name__, c.__module__),
    )


def _params(cls: type) -> list[str] | None:
    """The constructor's parameter names; None for a signature without plain named ones
    (``*steps``, ``*policies``: those classes store a tuple under another name)."""
    if cls.__init__ is object.__init__:
        return None
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    if not params or any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return None
    return [p.name for p in params]


_CLASSES = _classes()


@pytest.mark.parametrize("cls", [c for c in _CLASSES if c.__name__ not in CHECKED_IN_INIT])
def test_constructor_stores_every_parameter_unchanged(cls):
    names = _params(cls)
    given = {n: _Marker(n) for n in names}
    obj = cls(**given)
    for n in names:
        assert getattr(obj, n) is given[n], f"{cls.__name__}.{n} is not the object passed"
    public = {k for k in vars(obj) if not k.startswith("_") and not k.endswith("_")}
    assert public == set(names), f"{cls.__name__}.__init__ binds {sorted(public - set(names))}"
    if isinstance(obj, BaseEstimator):
        got = obj.get_params(deep=False)
        assert got.keys() == given.keys() and all(got[n] is given[n] for n in names)


@pytest.mark.parametrize("cls", _CLASSES)
def test_default_parameters_come_back_from_get_params_and_repr(cls):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    defaults = {p.name: _Marker(p.name) if p.default is p.empty else p.default for p in params}
    required = {n: v for n, v in defaults.items() if isinstance(v, _Marker)}
    obj = cls(**required)
    if not isinstance(obj, BaseEstimator):
        assert all(getattr(obj, n) is v for n, v in defaults.items())
        return
    got: dict[str, Any] = obj.get_params(deep=False)
    assert got.keys() == defaults.keys() and all(got[n] is defaults[n] for n in defaults)
    twin = clone(obj)
    assert type(twin) is type(obj) and repr(twin) == repr(obj)


def test_the_classes_were_found():
    names = {c.__name__ for c in _CLASSES}
    assert {"ADWIN", "Adam", "BatchLearner", "Hyperplane", "HoeffdingTreeClassifier"} <= names
    assert CHECKED_IN_INIT <= names
