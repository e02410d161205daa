"""Batch learning on a stream: keep rows, retrain any scikit-learn estimator under a policy.

>>> from tidal.batch import BatchLearner, EveryN
>>> from sklearn.linear_model import LogisticRegression
>>> BatchLearner(LogisticRegression(), retrain=EveryN(500), window=2000)
BatchClassifier(estimator=LogisticRegression(), retrain=EveryN(n=500), window=2000)
"""

from tidal.batch._combine import Hybrid, HybridClassifier, HybridRegressor, Switch
from tidal.batch._learner import BatchClassifier, BatchLearner, BatchRegressor
from tidal.batch._policies import AnyOf, EveryN, EveryT, MetricBelow, OnDrift, RetrainPolicy
from tidal.batch._refit import (
    DoneHook,
    RefitFuture,
    RefitPool,
    refit_backend,
    set_refit_backend,
    settle,
)
from tidal.batch._store import RowStore

__all__ = [
    "AnyOf",
    "BatchClassifier",
    "BatchLearner",
    "BatchRegressor",
    "DoneHook",
    "EveryN",
    "EveryT",
    "Hybrid",
    "HybridClassifier",
    "HybridRegressor",
    "MetricBelow",
    "OnDrift",
    "RefitFuture",
    "RefitPool",
    "RetrainPolicy",
    "RowStore",
    "Switch",
    "refit_backend",
    "set_refit_backend",
    "settle",
]
