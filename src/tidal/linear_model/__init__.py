"""Online linear models: compiled, test-then-train per row, numerically equal to River's.

>>> from tidal.linear_model import LogisticRegression
>>> LogisticRegression().step_many([{"x": 1.0}, {"x": -1.0}, {"x": 1.0}], [1, 0, 1]).tolist()
[0, 0, 1]
"""

from tidal.linear_model._glm import LinearRegression, LogisticRegression, Perceptron
from tidal.linear_model._pa import PAClassifier, PARegressor
from tidal.linear_model._softmax import SoftmaxRegression

__all__ = [
    "LinearRegression",
    "LogisticRegression",
    "PAClassifier",
    "PARegressor",
    "Perceptron",
    "SoftmaxRegression",
]
