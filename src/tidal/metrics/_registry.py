"""The metrics every report, verdict and service reads: one registry, declared once.

A :class:`MetricSpec` names a metric's result column, how it is written (table cell, words),
which direction is better, the tasks whose reports include it by default, the tasks for which it
is *the* headline metric (the verdict's steady state, the service's shadows, dashboard and
promotion gate), and its name in the service's configuration (``gate_metric``). Registering a
spec is the one step that makes a new metric appear in ``tidal compare``'s table, its JSON and
HTML report, the verdict's details and the service's promotion gate.

>>> from tidal.metrics import Accuracy, headline, metric_spec, specs_for
>>> [s.name for s in specs_for("binary")]
['Accuracy', 'F1', 'ROCAUC', 'LogLoss']
>>> headline("regression").name, metric_spec("rmse").higher_is_better
('MAE', False)
>>> metric_spec("Accuracy").make(window=50).name
'Accuracy[50]'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tidal.base.exceptions import ParameterError
from tidal.metrics.base import Metric, _PositiveLabel
from tidal.metrics.classification import F1, Accuracy, BalancedAccuracy, MacroF1
from tidal.metrics.probabilistic import ROCAUC, LogLoss
from tidal.metrics.regression import MAE, R2, RMSE

__all__ = [
    "MetricSpec",
    "headline",
    "metric_spec",
    "metric_specs",
    "register",
    "specs_for",
    "unregister",
]

TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class MetricSpec:
    """How a metric is made, shown and judged. ``name`` is its result column (the class's
    name unless given); ``cell`` the format of its table cell, ``words`` of the verdict's
    sentences; ``tasks`` the tasks whose reports include it by default (in registration
    order); ``headline`` the tasks for which it is the headline metric; ``noun`` how a
    sentence names it ("accuracy", "MAE"); ``key`` its name in the service's configuration.

    >>> from tidal.metrics import MetricSpec, RMSE
    >>> MetricSpec(RMSE, tasks=("regression",), words=".4g").key
    'rmse'
    """

    cls: Callable[..., Metric]
    tasks: tuple[str, ...] = ()
    name: str = ""
    label: str = ""
    cell: str = ".4f"
    words: str = ".3g"
    higher_is_better: bool | None = None
    headline: tuple[str, ...] = ()
    noun: str = ""
    key: str = ""

    def __post_init__(self) -> None:
        name = self.name or getattr(self.cls, "__name__", "")
        if not name:
            raise ParameterError("MetricSpec: name the metric (name=...); its class has no name")
        for task in (*self.tasks, *self.headline):
            if task not in TASKS:
                raise ParameterError(f"MetricSpec {name}: task {task!r}, expected one of {TASKS}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "label", self.label or name)
        object.__setattr__(self, "noun", self.noun or name)
        object.__setattr__(self, "key", self.key or name.lower())
        if self.higher_is_better is None:
            better = getattr(self.cls, "higher_is_better", True)
            object.__setattr__(self, "higher_is_better", bool(better))

    @property
    def requires_proba(self) -> bool:
        """Whether the metric scores probabilities (the gate and shadows score labels)."""
        return bool(getattr(self.cls, "requires_proba", False))

    def make(self, pos_label: Any = None, window: int | None = None) -> Metric:
        """A fresh metric: cumulative, or over the last ``window`` rows; ``pos_label`` for the
        metrics of one positive label (their default when None)."""
        kwargs: dict[str, Any] = {"window": window} if window is not None else {}
        if pos_label is not None and isinstance(self.cls, type):
            if issubclass(self.cls, _PositiveLabel):
                kwargs["pos_label"] = pos_label
        return self.cls(**kwargs)

    def format(self, value: float) -> str:
        """The table cell of ``value``."""
        return format(value, self.cell)

    def say(self, value: float) -> str:
        """``value`` as the verdict writes it."""
        return format(value, self.words)


_SPECS: dict[str, MetricSpec] = {}


def register(spec: MetricSpec) -> MetricSpec:
    """Add ``spec`` (replacing one of the same name); returns it.

    >>> from tidal.metrics import MetricSpec, register, unregister, MAE
    >>> _ = register(MetricSpec(MAE, name="MAE2", tasks=("regression",)))
    >>> [s.name for s in specs_for("regression")]
    ['MAE', 'RMSE', 'R2', 'MAE2']
    >>> unregister("MAE2")
    """
    for other in _SPECS.values():
        if other.name != spec.name and other.key == spec.key:
            raise ParameterError(f"metric key {spec.key!r} is taken by {other.name}")
        if other.name != spec.name and set(other.headline) & set(spec.headline):
            taken = sorted(set(other.headline) & set(spec.headline))
            raise ParameterError(f"{other.name} is already the headline metric of {taken}")
    _SPECS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove the spec named ``name`` (a no-op when absent)."""
    _SPECS.pop(name, None)


def metric_specs() -> list[MetricSpec]:
    """Every registered spec, in registration order."""
    return list(_SPECS.values())


def metric_spec(name: str) -> MetricSpec:
    """The spec of result column ``name`` or configuration key ``name`` (any case)."""
    spec = _SPECS.get(name)
    if spec is not None:
        return spec
    for s in _SPECS.values():
        if s.key == name.lower():
            return s
    known = sorted(s.key for s in _SPECS.values())
    raise ParameterError(f"metric {name!r}: not registered; expected one of {known}")


def specs_for(task: str) -> list[MetricSpec]:
    """The metrics reported by default for ``task``, in registration order."""
    return [s for s in _SPECS.values() if task in s.tasks]


def headline(task: str) -> MetricSpec:
    """The headline metric of ``task`` ("binary" and "multiclass": accuracy; "regression": MAE).

    >>> headline("multiclass").noun
    'accuracy'
    """
    for s in _SPECS.values():
        if task in s.headline:
            return s
    raise ParameterError(f"task {task!r}: no headline metric registered; expected one of {TASKS}")


_CLASSES = ("binary", "multiclass")
for _spec in (
    MetricSpec(Accuracy, _CLASSES, cell=".4f", words=".3f", headline=_CLASSES, noun="accuracy"),
    MetricSpec(BalancedAccuracy, ("multiclass",), words=".3f"),
    MetricSpec(F1, ("binary",), words=".3f"),
    MetricSpec(MacroF1, ("multiclass",)),
    MetricSpec(ROCAUC, ("binary",)),
    MetricSpec(LogLoss, _CLASSES),
    MetricSpec(MAE, ("regression",), words=".4g", headline=("regression",)),
    MetricSpec(RMSE, ("regression",), words=".4g"),
    MetricSpec(R2, ("regression",), words=".3f"),
):
    register(_spec)
