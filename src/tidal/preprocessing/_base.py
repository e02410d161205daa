"""The pair protocol shared by tidal's transformers (see :mod:`tidal.compose`)."""

from __future__ import annotations

import numpy as np

from tidal.base import Transformer

__all__ = ["PairTransformer"]


def as_matrix(X: np.ndarray | None, n_features: int) -> np.ndarray:
    """``X`` as a contiguous float64 matrix; None becomes an empty one (kernels need arrays)."""
    if X is None:
        return np.empty((0, n_features), dtype=np.float64)
    return np.ascontiguousarray(X, dtype=np.float64)


class PairTransformer(Transformer):
    """A transformer that can transform two inputs in one pass: ``_transform_pair``.

    ``_transform_pair(X_pred, X_learn) -> (O_pred, O_learn)``: for each row ``i``, transform
    ``X_pred[i]`` with the state before learning row ``i``, then learn ``X_learn[i]`` and transform
    it with the state after. Either input may be None (predict only / learn only). Inside a
    pipeline the two inputs differ from the second step on (the previous step transformed them
    with different states), which is why the hook takes both.
    """

    def _transform_pair(
        self, X_pred: np.ndarray | None, X_learn: np.ndarray | None
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        raise NotImplementedError

    def _transform_arrays(self, X: np.ndarray, learn: bool) -> tuple[np.ndarray, np.ndarray]:
        P, L = self._transform_pair(X, X if learn else None)
        assert P is not None
        return P, (L if L is not None else P)

    def _outputs(
        self, X_pred: np.ndarray | None, X_learn: np.ndarray | None, width: int, fill: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Contiguous inputs and the output matrices (filled with ``fill``) for a kernel call."""
        n_in = self.n_features_in_
        Xp, Xl = as_matrix(X_pred, n_in), as_matrix(X_learn, n_in)
        Op = np.full((Xp.shape[0], width), fill)
        Ol = np.full((Xl.shape[0], width), fill)
        return Xp, Xl, Op, Ol
