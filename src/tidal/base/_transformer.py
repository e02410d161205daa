"""Online transformers (scalers, encoders): the row before and after learning it."""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal.base._learner import Learner
from tidal.base.tags import Tags

__all__ = ["Transformer"]


class Transformer(Learner):
    """Base of online transformers (scalers, encoders).

    Subclasses implement ``_init_state``, ``_state_dict``/``_load_state``, ``_output_names()`` and
    ``_transform_arrays(X, learn) -> (X_pred, X_learn)``: for each row, ``X_pred[i]`` is the row
    transformed with the state *before* learning it and ``X_learn[i]`` the row transformed after
    (River's pipeline order). With ``learn=False`` both are the same and nothing is learned.

    >>> from tidal.preprocessing import StandardScaler
    >>> s = StandardScaler().learn_many({"x": [1.0, 3.0]})
    >>> s.transform_one({"x": 3.0})
    {'x': 1.0}
    """

    _tags = Tags(task="transformer", unsupervised=True)

    def _output_names(self) -> tuple[str, ...]:
        return tuple(self.feature_names_in_)

    def _transform_arrays(self, X: np.ndarray, learn: bool) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _steps(self, X: Any, learn: bool) -> tuple[np.ndarray, np.ndarray]:
        M = self._matrix(X, learn=learn)
        if M.shape[0] == 0:  # kernels may assume at least one row
            empty = np.empty((0, len(self._output_names())), dtype=np.float64)
            return empty, empty.copy()
        out = self._transform_arrays(M, learn)
        if learn:
            self.n_samples_seen_ += float(M.shape[0])
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array(self._output_names(), dtype=object)

    def learn_one(self, x: dict, y: Any = None, w: float = 1.0) -> Transformer:
        self._steps(x, learn=True)
        return self

    def learn_many(self, X: Any, y: Any = None, w: Any = None) -> Transformer:
        self._steps(X, learn=True)
        return self

    def transform_one(self, x: dict) -> dict[str, float]:
        _, out = self._steps(x, learn=False)
        return dict(zip(self._output_names(), out[0].tolist()))

    def transform_many(self, X: Any) -> np.ndarray:
        return self._steps(X, learn=False)[1]

    # scikit-learn face
    def fit(self, X: Any, y: Any = None) -> Transformer:
        self.reset()
        return self.learn_many(X)

    def partial_fit(self, X: Any, y: Any = None) -> Transformer:
        return self.learn_many(X)

    def transform(self, X: Any) -> np.ndarray:
        return self.transform_many(X)
