"""Online preprocessing: scaling and encoding that learn as the stream goes.

Every transformer here can be the first step of a :class:`tidal.compose.Pipeline`
(``StandardScaler() | LogisticRegression()``) and has a fixed output width, so the learner after
it sees a fixed feature set.
"""

from tidal.preprocessing._hasher import FeatureHasher
from tidal.preprocessing._impute import MeanImputer
from tidal.preprocessing._one_hot import OneHotEncoder
from tidal.preprocessing._scale import StandardScaler

__all__ = ["FeatureHasher", "MeanImputer", "OneHotEncoder", "StandardScaler"]
