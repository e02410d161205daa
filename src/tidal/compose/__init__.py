"""Composing learners: ``Pipeline`` (also built with ``a | b``).

``Pipeline(...)`` returns a :class:`ClassifierPipeline`, :class:`RegressorPipeline` or
:class:`TransformerPipeline` depending on its last step, so it has the right face (and
scikit-learn sees a classifier, a regressor or a transformer).
"""

from tidal.compose._pipeline import (
    ClassifierPipeline,
    Pipeline,
    RegressorPipeline,
    TransformerPipeline,
)

__all__ = ["ClassifierPipeline", "Pipeline", "RegressorPipeline", "TransformerPipeline"]
