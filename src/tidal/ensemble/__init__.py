"""Ensembles of compiled Hoeffding trees: adaptive random forests (classification and
regression), online and leveraging bagging.

All members live in one set of arrays and are updated in parallel, member by member over each
block; results do not depend on the block size or the number of threads.

>>> from tidal.ensemble import ARFClassifier
>>> model = ARFClassifier(n_models=3, seed=0).learn_one({"x": 1.0}, "a")
>>> model.predict_one({"x": 1.0})
'a'
"""

from tidal.ensemble._arf import ARFClassifier
from tidal.ensemble._arf_regressor import ARFRegressor
from tidal.ensemble._bagging import BaggingClassifier, LeveragingBaggingClassifier

__all__ = ["ARFClassifier", "ARFRegressor", "BaggingClassifier", "LeveragingBaggingClassifier"]
