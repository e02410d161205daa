"""Prequential evaluation: run learners side by side on one stream, test-then-train.

>>> import numpy as np
>>> from tidal.evaluate import prequential
>>> from tidal.dummy import RunningMeanRegressor
>>> res = prequential((np.zeros((4, 1)), np.array([1.0, 3.0, 5.0, 7.0])), [RunningMeanRegressor()],
...                   window=None, fingerprint=False)
>>> res["RunningMeanRegressor"]["MAE"]
2.5
"""

from tidal.evaluate._engine import StepEvent, default_metrics, prequential
from tidal.evaluate._memory import model_bytes
from tidal.evaluate._report import write_json, write_report
from tidal.evaluate._results import Results
from tidal.evaluate._schedule import LabelQueue
from tidal.evaluate._verdict import COST_COLUMNS, LABELS, Verdict, fmt, verdict

__all__ = [
    "COST_COLUMNS",
    "LABELS",
    "LabelQueue",
    "Results",
    "StepEvent",
    "Verdict",
    "default_metrics",
    "fmt",
    "model_bytes",
    "prequential",
    "verdict",
    "write_json",
    "write_report",
]
