"""Tags: what a learner can do. Conformance checks and the engine read tags, never class names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Task = Literal["binary", "multiclass", "regression", "transformer"]


@dataclass(frozen=True)
class Tags:
    """Capabilities of a learner.

    >>> Tags(task="binary").is_classifier
    True
    >>> Tags(task="regression").is_classifier
    False
    """

    task: Task = "multiclass"
    #: accepts non-numeric (categorical) feature values as they are
    handles_categorical: bool = False
    #: accepts NaN / missing features (otherwise they are rejected with an InputError)
    handles_missing: bool = False
    #: draws random numbers: has a ``seed`` parameter
    stochastic: bool = False
    #: keeps rows and retrains (batch family); the engine reports data kept and retrains
    batch: bool = False
    #: learns nothing from labels (transformers, preprocessing)
    unsupervised: bool = False
    #: an honest reference that ignores the features (majority class, no-change, running mean):
    #: reported as the "baseline" family, the numbers every model must beat
    baseline: bool = False

    @property
    def is_classifier(self) -> bool:
        return self.task in ("binary", "multiclass")

    @property
    def is_regressor(self) -> bool:
        return self.task == "regression"
