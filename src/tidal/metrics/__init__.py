"""Incremental metrics, cumulative or over a sliding window of the last ``window`` rows.

Each metric has ``update(y_true, y_pred, w=1.0)``, ``update_many(y_true, y_pred, w=None)`` and
``get()``; ``update_many`` on a block gives exactly what as many ``update`` calls would.

Every report, verdict and service reads its metrics from one registry
(:mod:`tidal.metrics._registry`): :func:`register` a :class:`MetricSpec` and the new metric is
in ``tidal compare``'s table, JSON, report and verdict, and in the service's promotion gate.

>>> from tidal import metrics
>>> acc = metrics.Accuracy()
>>> for yt, yp in [(1, 1), (0, 1), (1, 1)]:
...     _ = acc.update(yt, yp)
>>> round(acc.get(), 4)
0.6667
"""

from tidal.metrics._registry import (
    MetricSpec,
    headline,
    metric_spec,
    metric_specs,
    register,
    specs_for,
    unregister,
)
from tidal.metrics.base import Metric
from tidal.metrics.classification import F1, Accuracy, BalancedAccuracy, MacroF1
from tidal.metrics.probabilistic import ROCAUC, LogLoss
from tidal.metrics.regression import MAE, R2, RMSE

__all__ = [
    "Accuracy",
    "BalancedAccuracy",
    "F1",
    "LogLoss",
    "MAE",
    "MacroF1",
    "Metric",
    "MetricSpec",
    "R2",
    "RMSE",
    "ROCAUC",
    "headline",
    "metric_spec",
    "metric_specs",
    "register",
    "specs_for",
    "unregister",
]
