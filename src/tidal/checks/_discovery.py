"""Find every public learner tidal exports, the way River's ``utils.inspect`` does.

>>> names = [type(m).__name__ for m in all_learners()]
>>> "MajorityClassifier" in names and "RunningMeanRegressor" in names
True
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from typing import Any

from tidal.base import Classifier, Learner, Regressor, Transformer

__all__ = ["SKIPPED_PACKAGES", "all_learners", "learner_cases", "learner_classes"]

#: not libraries of learners (and slow or optional-dependency imports)
SKIPPED_PACKAGES = ("tidal.cli", "tidal.service", "tidal.checks", "tidal._kernels")
_BASES = {Learner, Classifier, Regressor, Transformer}


def _public_modules(errors: dict[str, BaseException] | None) -> Iterator[Any]:
    import tidal

    for info in pkgutil.walk_packages(tidal.__path__, prefix="tidal.", onerror=lambda _: None):
        name = info.name
        if any(name == s or name.startswith(s + ".") for s in SKIPPED_PACKAGES):
            continue
        if any(part.startswith("_") for part in name.split(".")):
            continue
        try:
            yield importlib.import_module(name)
        except Exception as e:  # a module still being written must not hide the others
            if errors is not None:
                errors[name] = e


def _is_concrete(cls: type) -> bool:
    return (
        cls not in _BASES
        and not cls.__name__.startswith("_")
        and not inspect.isabstract(cls)
        and not cls.__dict__.get("_abstract", False)
        and getattr(cls, "_init_state", None) is not getattr(Learner, "_init_state", None)
    )


def learner_classes(errors: dict[str, BaseException] | None = None) -> list[type]:
    """Concrete public subclasses of :class:`~tidal.base.Learner` listed in a module's ``__all__``,
    sorted by name. A class opts out with ``_abstract = True`` in its own body (public bases such
    as a ``BatchLearner``). Modules that fail to import are recorded in ``errors`` and skipped."""
    found: dict[str, type] = {}
    for module in _public_modules(errors):
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr, None)
            if isinstance(obj, type) and issubclass(obj, Learner) and _is_concrete(obj):
                found.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return sorted(found.values(), key=lambda c: (c.__name__, c.__module__))


def learner_cases(errors: dict[str, BaseException] | None = None) -> Iterator[tuple[str, Learner]]:
    """``(id, learner)`` for every instance :func:`all_learners` builds, the id being the name
    of the class as exported (a factory such as ``Hybrid`` may build an instance of a subclass),
    then ``-1``, ``-2``... for further parameter sets."""
    for cls in learner_classes(errors):
        for i, learner in enumerate(_instances(cls, errors)):
            yield (cls.__name__ if i == 0 else f"{cls.__name__}-{i}"), learner


def _pipeline_params(cls: type) -> list[dict[str, Any]] | None:
    """The pipelines the suite builds: their steps come from other packages, which
    :mod:`tidal.compose` must not import (``Learner.__or__`` imports it, and they import base)."""
    from tidal.compose import ClassifierPipeline, RegressorPipeline, TransformerPipeline
    from tidal.linear_model import LinearRegression, LogisticRegression
    from tidal.naive_bayes import GaussianNB
    from tidal.preprocessing import FeatureHasher, OneHotEncoder, StandardScaler

    if cls is ClassifierPipeline:
        return [
            {"steps": [StandardScaler(), GaussianNB()]},
            {"steps": [OneHotEncoder(max_categories=3), StandardScaler(), LogisticRegression()]},
            {"steps": [FeatureHasher(n_features=16), GaussianNB()]},
        ]
    if cls is RegressorPipeline:
        return [{"steps": [StandardScaler(), LinearRegression()]}]
    if cls is TransformerPipeline:
        return [{"steps": [OneHotEncoder(max_categories=2), StandardScaler(with_std=False)]}]
    return None


def _instances(cls: type, errors: dict[str, BaseException] | None) -> list[Learner]:
    pipeline = _pipeline_params(cls) if cls.__module__.startswith("tidal.compose") else None
    params = (lambda: pipeline) if pipeline is not None else getattr(cls, "_unit_test_params", None)
    try:
        return [cls(**kwargs) for kwargs in (params() if params is not None else [{}])]
    except Exception as e:  # one class that cannot be built must not hide the others
        if errors is not None:
            errors[f"{cls.__module__}.{cls.__qualname__}()"] = e
        return []


def all_learners(errors: dict[str, BaseException] | None = None) -> Iterator[Learner]:
    """One instance per parameter set of each learner class.

    A class may define a classmethod ``_unit_test_params()`` yielding dicts of parameters
    (River's convention: the estimator a wrapper needs...; a pipeline's steps are given here, in
    ``_pipeline_params``); otherwise it is built with its default constructor. A class that
    cannot be built is recorded in ``errors`` under ``"module.Class()"`` and skipped.
    """
    for _, learner in learner_cases(errors):
        yield learner
