"""Short model names for the command line and quick experiments: ``lr``, ``nb``, ``majority``...

Grammar: ``NAME`` or ``NAME:key=value:key=value`` -- parameters are separated by ``:`` so that
a comma-separated list of models (``--models lr,nb,lr:l2=0.01:lr=0.1``) stays unambiguous.
Values are Python literals (``0.01``, ``3``, ``True``, ``'gini'``); anything else is a string.
A parameter goes to the model's final estimator (``lr:l2=0.01`` sets the l2 of the logistic
regression behind the scaler); ``lr=`` on a linear model sets the learning rate.

Default regressors are safe on unscaled data: a linear model on raw features with plain SGD
diverged on Elec2's ``nswdemand`` (R2 = -4.3e26: a feature constant for 17k rows, then scaled to
~130) and tree leaves holding linear models did on the weather stream's temperature. So
``linreg`` takes AdaGrad steps (per coordinate at most ``lr``) behind the scaler, and ``htr``
and ``arf`` (regression) predict with the mean of their leaves; ask for the others explicitly
(``htr:leaf_prediction='adaptive'``).

Batch and hybrid entries (``batch-lr``, ``batch-lgbm``, ``hybrid``, ``switch``) are task-aware:
:func:`make` builds the classifier or the regressor variant from ``task=``. Their parameters are
the retraining schedule (``every`` rows, sliding ``window`` of rows, deployment ``delay`` in
rows, ``half_life``) plus a few of the estimator's; see :class:`BatchEntry` for the defaults.

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

__all__ = ["BatchEntry", "DEFAULT_SEED", "ZooEntry", "entries", "make", "names", "parse"]

#: the seed given to stochastic learners built from a short name without ``seed=``
DEFAULT_SEED = 42


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
    sgd: bool = False  # accepts lr= (the learning rate of ``optimizer``, default 0.01)
    #: "module:Class" built instead of ``target`` when the task is regression (task "any")
    regression_target: str | None = None
    #: the :mod:`tidal.optim` optimiser behind ``lr=``
    optimizer: str = "SGD"
    #: parameters given to the regressor unless set by the user (safe defaults: see below)
    regression_defaults: tuple[tuple[str, Any], ...] = ()

    def estimator_class(self, task: str | None = None) -> type:
        target = self.target
        if task == "regression" and self.regression_target is not None:
            target = self.regression_target
        module, _, cls = target.partition(":")
        return getattr(importlib.import_module(module), cls)

    def param_names(self, task: str | None = None) -> list[str]:
        sig = inspect.signature(self.estimator_class(task).__init__)
        names = [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if self.sgd:
            names = [p for p in names if p != "optimizer"] + ["lr"]
        return names

    def build(self, categorical: bool = False, task: str | None = None, **params: Any) -> Any:
        cls = self.estimator_class(task)
        params = dict(params)
        if task == "regression" or self.task == "regression":
            params = {**dict(self.regression_defaults), **params}
        if self.sgd:
            from tidal import optim

            params["optimizer"] = getattr(optim, self.optimizer)(params.pop("lr", 0.01))
        if "seed" in self.param_names(task) and params.get("seed") is None:
            # a short name must give the same numbers twice: stochastic learners get seed 42
            # unless one is given (the results are stamped with it)
            params["seed"] = DEFAULT_SEED
        estimator = cls(**params)
        check = getattr(estimator, "_check_params", None)
        if check is not None:
            check()  # a bad value fails now, naming the parameter, not at the first row
        front = []
        if categorical and not estimator.tags.handles_categorical:
            from tidal.preprocessing import OneHotEncoder

            front.append(OneHotEncoder())
        if not estimator.tags.handles_missing:
            front.append(_imputer())
        if self.scaled:
            from tidal.preprocessing import StandardScaler

            front.append(StandardScaler())
        if not front:
            return estimator
        from tidal.compose import Pipeline

        return Pipeline(*front, estimator)


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
        "hat",
        "tidal.tree:HoeffdingAdaptiveTreeClassifier",
        "Hoeffding adaptive tree classifier (ADWIN at every node)",
        "classification",
    ),
    ZooEntry(
        "arf",
        "tidal.ensemble:ARFClassifier",
        "adaptive random forest (10 trees; the regressor, with mean leaves, for task=regression)",
        "any",
        regression_target="tidal.ensemble:ARFRegressor",
        regression_defaults=(("leaf_prediction", "mean"),),
    ),
    ZooEntry(
        "lbag",
        "tidal.ensemble:LeveragingBaggingClassifier",
        "leveraging bagging of Hoeffding trees (10)",
        "classification",
    ),
    ZooEntry(
        "bag",
        "tidal.ensemble:BaggingClassifier",
        "Oza online bagging of Hoeffding trees (10)",
        "classification",
    ),
    ZooEntry(
        "knn",
        "tidal.neighbors:KNNClassifier",
        "k nearest neighbours over a sliding window",
        "classification",
    ),
    ZooEntry(
        "linreg",
        "tidal.linear_model:LinearRegression",
        "standard scaler | linear regression (AdaGrad: bounded steps)",
        "regression",
        True,
        True,
        optimizer="AdaGrad",
    ),
    ZooEntry(
        "par",
        "tidal.linear_model:PARegressor",
        "standard scaler | passive-aggressive regressor",
        "regression",
        True,
    ),
    ZooEntry(
        "htr",
        "tidal.tree:HoeffdingTreeRegressor",
        "Hoeffding tree regressor (mean leaves)",
        "regression",
        regression_defaults=(("leaf_prediction", "mean"),),
    ),
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


_BATCH_DEFAULTS: dict[str, dict[str, Any]] = {
    # LR retrains are cheap (~20 ms on 5,000 rows): retrain often, keep a short window
    "batch-lr": {"every": 1000, "window": 5000, "delay": 0, "half_life": None, "C": 1.0},
    # a boosted model costs ~0.3 s per retrain: retrain every window, single thread
    "batch-lgbm": {
        "every": 5000,
        "window": 5000,
        "delay": 0,
        "half_life": None,
        "n_estimators": 100,
        "num_leaves": 31,
        "learning_rate": 0.1,
    },
    "hybrid": {"every": 1000, "window": 5000, "delay": 0, "half_life": None, "C": 1.0, "lr": 0.01},
    "switch": {
        "every": 1000,
        "window": 5000,
        "delay": 0,
        "half_life": None,
        "C": 1.0,
        "lr": 0.01,
        "switch_window": 500,
    },
}


@dataclass(frozen=True)
class BatchEntry(ZooEntry):
    """A batch or hybrid entry: builds a :class:`tidal.batch.BatchLearner` (or a
    :class:`~tidal.batch.Hybrid` / :class:`~tidal.batch.Switch` around one) for the task.

    Defaults (chosen so that Elec2 runs in seconds; all overridable as ``name:key=value``):

    - ``batch-lr``: scikit-learn ``StandardScaler`` + ``LogisticRegression(C=1)`` (``Ridge`` for
      regression), retrained every 1,000 rows on the last 5,000, deployed at once (delay 0).
    - ``batch-lgbm``: LightGBM (100 trees, 31 leaves, one thread) retrained every 5,000 rows on
      the last 5,000.
    - ``hybrid``: ``batch-lr`` plus an online scaled logistic regression (SGD, ``lr=0.01``)
      stacked on its log-odds (residuals for regression).
    - ``switch``: serves whichever of online ``lr`` and ``batch-lr`` had the better accuracy
      over the last ``switch_window`` rows.

    >>> from tidal import zoo
    >>> m = zoo.make("batch-lr:every=2000:window=4000:delay=200")
    >>> type(m).__name__, m.retrain, m.window, m.deploy_delay
    ('BatchClassifier', EveryN(n=2000), 4000, 200)
    >>> type(zoo.make("batch-lr", task="regression")).__name__
    'BatchRegressor'
    """

    def param_names(self, task: str | None = None) -> list[str]:
        return list(_BATCH_DEFAULTS[self.name])

    def build(self, categorical: bool = False, task: str | None = None, **params: Any) -> Any:
        from tidal.batch import BatchLearner, EveryN, Hybrid, Switch

        p = {**_BATCH_DEFAULTS[self.name], **params}
        regression = task == "regression"
        for key in ("every", "window", "delay"):
            if not isinstance(p[key], int) or p[key] < (0 if key == "delay" else 1):
                low = 0 if key == "delay" else 1
                raise ParameterError(f"{key} == {p[key]!r}, must be an integer >= {low}")
        estimator = _lgbm(p, regression) if self.name == "batch-lgbm" else _sk_linear(p, regression)
        batch = BatchLearner(
            estimator,
            retrain=EveryN(p["every"]),
            window=p["window"],
            half_life=p["half_life"],
            deploy_delay=p["delay"],
            n_jobs=1,
        )
        batch._check_params()
        model: Any = batch
        if self.name in ("hybrid", "switch"):
            online = _online_linear(p["lr"], task)
            if self.name == "hybrid":
                model = Hybrid(batch, online)
            else:
                model = Switch(online, batch, window=p["switch_window"])
            model._check_params()
        if categorical:
            from tidal.preprocessing import OneHotEncoder

            model = OneHotEncoder() | model
        return model


def _sk_linear(p: dict[str, Any], regression: bool) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    final = Ridge(alpha=1.0 / p["C"]) if regression else LogisticRegression(C=p["C"], max_iter=200)
    return make_pipeline(StandardScaler(), final)


def _lgbm(p: dict[str, Any], regression: bool) -> Any:
    import lightgbm

    cls = lightgbm.LGBMRegressor if regression else lightgbm.LGBMClassifier
    return cls(
        n_estimators=p["n_estimators"],
        num_leaves=p["num_leaves"],
        learning_rate=p["learning_rate"],
        n_jobs=1,
        verbose=-1,
        random_state=0,
    )


def _online_linear(lr: float, task: str | None) -> Any:
    from tidal.linear_model import LinearRegression, LogisticRegression, SoftmaxRegression
    from tidal.optim import SGD, AdaGrad
    from tidal.preprocessing import StandardScaler

    if task == "regression":  # bounded steps, as linreg: see the module docstring
        return _imputer() | StandardScaler() | LinearRegression(optimizer=AdaGrad(lr))
    final = SoftmaxRegression if task == "multiclass" else LogisticRegression
    return _imputer() | StandardScaler() | final(optimizer=SGD(lr))


def _imputer() -> Any:
    """A running-mean imputer in front of learners that do not take NaN: on rows without NaN
    it changes nothing; a stream with NaN then runs to the end with every model."""
    from tidal.preprocessing import MeanImputer

    return MeanImputer()


_ENTRIES += [
    BatchEntry(
        "batch-lr",
        "sklearn.linear_model:LogisticRegression",
        "batch: scaler + logistic regression (Ridge), every 1000 rows, window 5000",
        "any",
    ),
    BatchEntry(
        "batch-lgbm",
        "lightgbm:LGBMClassifier",
        "batch: LightGBM, 100 trees, 1 thread, every 5000 rows, window 5000",
        "any",
    ),
    BatchEntry(
        "hybrid",
        "tidal.batch:Hybrid",
        "hybrid: online logistic regression stacked on batch-lr",
        "any",
    ),
    BatchEntry(
        "switch",
        "tidal.batch:Switch",
        "serves the better of lr and batch-lr over the last 500 rows",
        "any",
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
        if task is None or e.task in (task, "any"):
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


def make(spec: str, categorical: bool = False, task: str | None = None) -> Any:
    """A new learner from a name with optional parameters (see the module docstring).

    ``categorical=True`` (the data has text columns) puts a one-hot encoder in front of models
    that need numbers. ``task`` ("binary", "multiclass", "regression") picks the variant of the
    task-aware batch and hybrid entries (classification by default).

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
    valid = entry.param_names(task)
    bad = [k for k in params if k not in valid]
    if bad:
        listed = ", ".join(valid) if valid else "none"
        raise ParameterError(
            f"model {spec!r}: unknown parameter {bad[0]!r}; {name} takes: {listed}"
        )
    try:
        return entry.build(categorical, task=task, **params)
    except ParameterError as err:
        raise ParameterError(f"model {spec!r}: {err}") from None
    except TypeError as err:
        raise ParameterError(f"model {spec!r}: {err}") from None
