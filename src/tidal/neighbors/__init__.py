"""Nearest-neighbour learners over a sliding window, compiled (exact search).

>>> from tidal.neighbors import KNNClassifier, KNNRegressor
>>> KNNClassifier().learn_one({"x": 1.0}, "a").predict_one({"x": 1.5})
'a'
"""

from tidal.neighbors._knn import KNNClassifier, KNNRegressor

__all__ = ["KNNClassifier", "KNNRegressor"]
