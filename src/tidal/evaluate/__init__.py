"""Prequential evaluation: run learners side by side on one stream, test-then-train.

>>> import numpy as np
>>> from tidal.evaluate import prequential
>>> from tidal.dummy import RunningMeanRegressor
>>> res = prequential((np.zeros((4, 1)), np.array([1.0, 3.0, 5.0, 7.0])), [RunningMeanRegressor()],
...                   window=None, fingerprint=False)
>>> res["RunningMeanRegressor"]["MAE"]
2.5

The result columns (metrics and costs: labels, formats, which direction is better) are
declared once in :mod:`tidal.evaluate.schema`; the metrics themselves come from
:mod:`tidal.metrics`' registry. :class:`CompareOptions` holds the options of a comparison.
"""

from tidal.evaluate._engine import StepEvent, default_metrics, prequential
from tidal.evaluate._grid import AGGREGATION as GRID_AGGREGATION
from tidal.evaluate._grid import Grid, run_grid, without_timing
from tidal.evaluate._keyed_compare import add_key_costs, keyed_learners, keyed_verdict
from tidal.evaluate._memory import model_bytes
from tidal.evaluate._options import CompareOptions
from tidal.evaluate._report import write_json, write_report
from tidal.evaluate._results import Results
from tidal.evaluate._schedule import LabelQueue
from tidal.evaluate._verdict import Verdict, verdict
from tidal.evaluate.schema import COST_COLUMNS, fmt, label

__all__ = [
    "GRID_AGGREGATION",
    "Grid",
    "add_key_costs",
    "keyed_learners",
    "keyed_verdict",
    "run_grid",
    "without_timing",
    "COST_COLUMNS",
    "CompareOptions",
    "LabelQueue",
    "Results",
    "StepEvent",
    "Verdict",
    "default_metrics",
    "fmt",
    "label",
    "model_bytes",
    "prequential",
    "verdict",
    "write_json",
    "write_report",
]
