"""Incremental decision trees, compiled: the tree lives in flat, growable arrays.

>>> from tidal.tree import HoeffdingTreeClassifier
>>> HoeffdingTreeClassifier().learn_one({"x": 1.0}, "a").predict_one({"x": 1.0})
'a'
"""

from tidal.tree._hoeffding_adaptive import HoeffdingAdaptiveTreeClassifier
from tidal.tree._hoeffding_classifier import HoeffdingTreeClassifier
from tidal.tree._hoeffding_regressor import HoeffdingTreeRegressor

__all__ = ["HoeffdingAdaptiveTreeClassifier", "HoeffdingTreeClassifier", "HoeffdingTreeRegressor"]
