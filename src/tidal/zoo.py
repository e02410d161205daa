"""Short model names for the command line and quick experiments: ``lr``, ``nb``, ``majority``...

Grammar: ``NAME`` or ``NAME:key=value:key=value`` -- parameters are separated by ``:`` so that
a comma-separated list of models (``--models lr,nb,lr:l2=0.01:lr=0.1``) stays unambiguous.
Values are Python literals (``0.01``, ``3``, ``True``, ``'gini'``); anything else is a string.
A parameter goes to the model's final estimator (``lr:l2=0.01`` sets the l2 of the logistic
regression behind the scaler); ``lr=`` on a linear model sets the SGD learning rate.

Entries whose module cannot be imported are left out of :func:`entries`, so the zoo never
breaks when an optional family is missing.

>>> from tidal import zoo
>>> m = zoo.make("majority")
>>> type(m).__name__
'MajorityClassifier'
>>> zoo.parse("lr:l2=0.01:lr=0.1")
('lr', {'l2': 0.01, 'lr': 0.1})
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from tidal.base.exceptions import ParameterError

__all__ = ["ZooEntry", "entries", "make", "names", "parse"]


@dataclass(frozen=True)
class ZooEntry:
    """One short name: how to build it, what it is, and which task it serves.

    >>> from tidal.zoo import entries
    >>> e = entries()["nochange"]
    >>> e.task, e.description
    ('classification', 'baseline: predicts the previous label')
    """

    name: str
    #: "module:Class" of the final estimator (its constructor's parameters are the entry's)
    target: str
    description: str
    task: str  # "binary", "classification" (any number of classes) or "regression"
    scaled: bool = False  # StandardScaler in front
    sgd: bool = False  # accepts lr= (an SGD learning rate, default 0.01)

    def estimator_class(self) -> type:
        module, _, cls = self.target.partition(":")
        return getattr(importlib.import_module(module), cls)

    def param_names(self) -> list[str]:
        sig = inspect.signature(self.estimator_class().__init__)
        names = [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if self.sgd:
            names = [p for p in names if p != "optimizer"] + ["lr"]
        return names

    def build(self, categorical: bool = False, **params: Any) -> Any:
        cls = self.estimator_class()
        params = dict(params)
        if self.sgd:
            from tidal.optim import SGD

            params["optimizer"] = SGD(params.pop("lr", 0.01))
        estimator = cls(**params)
        check = getattr(estimator, "_check_params", None)
        if check is not None:
            check()  # a bad value fails now, naming the parameter, not at the first row
        front = []
        if categorical and not estimator.tags.handles_categorical:
            from tidal.preprocessing import OneHotEncoder

            front.append(OneHotEncoder())
        if self.scaled:
            from tidal.preprocessing import StandardScaler

            front.append(StandardScaler())
        model = estimator
        for step in reversed(front):
            model = step | model
        return model


_ENTRIES = [
    ZooEntry(
        "lr",
        "tidal.linear_model:LogisticRegression",
        "standard scaler | logistic regression (SGD)",
        "binary",
        True,
        True,
    ),
    ZooEntry(
        "softmax",
        "tidal.linear_model:SoftmaxRegression",
        "standard scaler | softmax regression (SGD)",
        "classification",
        True,
        True,
    ),
    ZooEntry(
        "perceptron",
        "tidal.linear_model:Perceptron",
        "standard scaler | perceptron",
        "binary",
        True,
    ),
    ZooEntry(
        "pa",
        "tidal.linear_model:PAClassifier",
        "standard scaler | passive-aggressive classifier",
        "binary",
        True,
    ),
    ZooEntry("nb", "tidal.naive_bayes:GaussianNB", "Gaussian naive Bayes", "classification"),
    ZooEntry(
        "ht", "tidal.tree:HoeffdingTreeClassifier", "Hoeffding tree classifier", "classification"
    ),
    ZooEntry(
        "arf",
        "tidal.ensemble:AdaptiveRandomForestClassifier",
        "adaptive random forest classifier",
        "classification",
    ),
    ZooEntry(
        "linreg",
        "tidal.linear_model:LinearRegression",
        "standard scaler | linear regression (SGD)",
        "regression",
        True,
        True,
    ),
    ZooEntry(
        "par",
        "tidal.linear_model:PARegressor",
        "standard scaler | passive-aggressive regressor",
        "regression",
        True,
    ),
    ZooEntry("htr", "tidal.tree:HoeffdingTreeRegressor", "Hoeffding tree regressor", "regression"),
    ZooEntry(
        "majority",
        "tidal.dummy:MajorityClassifier",
        "baseline: predicts the most frequent label",
        "classification",
    ),
    ZooEntry(
        "nochange",
        "tidal.dummy:NoChangeClassifier",
        "baseline: predicts the previous label",
        "classification",
    ),
    ZooEntry(
        "mean",
        "tidal.dummy:RunningMeanRegressor",
        "baseline: predicts the running mean",
        "regression",
    ),
]


def entries() -> dict[str, ZooEntry]:
    """The entries whose estimator can be imported, by name."""
    out = {}
    for e in _ENTRIES:
        try:
            e.estimator_class()
        except (ImportError, AttributeError):
            continue
        out[e.name] = e
    return out


def names(task: str | None = None) -> list[str]:
    """Available names, optionally only those for ``task`` ("binary" streams accept
    "classification" and "binary" entries; "multiclass" ones only "classification").

    >>> "majority" in names("binary"), "mean" in names("binary")
    (True, False)
    """
    out = []
    for name, e in entries().items():
        if task is None or e.task == task:
            out.append(name)
        elif task == "binary" and e.task == "classification":
            out.append(name)
        elif task == "multiclass" and e.task == "classification":
            out.append(name)
    return out


def _value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name:k=v:k2=v2"`` into the name and the parameters (values as literals)."""
    name, *parts = spec.strip().split(":")
    params: dict[str, Any] = {}
    for part in parts:
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise ParameterError(
                f"model {spec!r}: parameter {part!r} must look like key=value "
                "(parameters are separated by ':', e.g. lr:l2=0.01:lr=0.1)"
            )
        params[key.strip()] = _value(value.strip())
    return name.strip(), params


def make(spec: str, categorical: bool = False) -> Any:
    """A new learner from a name with optional parameters (see the module docstring).

    ``categorical=True`` (the data has text columns) puts a one-hot encoder in front of models
    that need numbers.

    >>> from tidal import zoo
    >>> zoo.make("nohcange")
    Traceback (most recent call last):
    ...
    tidal.base.exceptions.ParameterError: unknown model 'nohcange' (did you mean 'nochange'?); ...
    """
    name, params = parse(spec)
    available = entries()
    entry = available.get(name)
    if entry is None:
        close = difflib.get_close_matches(name, list(available), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ParameterError(f"unknown model {name!r}{hint}; valid names: {', '.join(available)}")
    valid = entry.param_names()
    bad = [k for k in params if k not in valid]
    if bad:
        listed = ", ".join(valid) if valid else "none"
        raise ParameterError(
            f"model {spec!r}: unknown parameter {bad[0]!r}; {name} takes: {listed}"
        )
    try:
        return entry.build(categorical, **params)
    except ParameterError as err:
        raise ParameterError(f"model {spec!r}: {err}") from None
    except TypeError as err:
        raise ParameterError(f"model {spec!r}: {err}") from None
