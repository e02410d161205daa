"""Composing learners: ``Pipeline`` (also built with ``a | b``); ``Keyed``, a model per key.

``Pipeline(...)`` returns a :class:`ClassifierPipeline`, :class:`RegressorPipeline` or
:class:`TransformerPipeline` depending on its last step, so it has the right face (and
scikit-learn sees a classifier, a regressor or a transformer).
"""

from tidal.compose._keyed import Keyed
from tidal.compose._pipeline import (
    ClassifierPipeline,
    Pipeline,
    RegressorPipeline,
    TransformerPipeline,
)

__all__ = ["ClassifierPipeline", "Keyed", "Pipeline", "RegressorPipeline", "TransformerPipeline"]
