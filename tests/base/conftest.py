"""Small learners for testing the base with tags the baselines do not have."""

from __future__ import annotations

from tidal.base import Tags
from tidal.dummy import MajorityClassifier, RunningMeanRegressor


class StrictMajority(MajorityClassifier):
    """Majority class, rejecting missing and categorical values."""

    _tags = Tags(task="multiclass")


class BinaryMajority(MajorityClassifier):
    _tags = Tags(task="binary")


class StrictMean(RunningMeanRegressor):
    _tags = Tags(task="regression")
