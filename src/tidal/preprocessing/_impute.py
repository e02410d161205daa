"""Missing values replaced by a running mean, so that any learner can take NaN."""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal.base import Tags
from tidal.preprocessing._base import PairTransformer

__all__ = ["MeanImputer"]


class MeanImputer(PairTransformer):
    """Replaces each NaN (or missing feature) by the mean of the values of that feature seen in
    earlier rows (0.0 before any), as River's ``preprocessing.StatImputer`` with a mean. Values
    that are present pass unchanged, so in front of a learner it changes nothing on rows
    without NaN. Put it first: ``MeanImputer() | StandardScaler() | LogisticRegression()``.

    >>> from tidal.preprocessing import MeanImputer
    >>> imp = MeanImputer()
    >>> imp.learn_many({"a": [1.0, float("nan"), 3.0], "b": [float("nan"), 2.0, 4.0]})
    MeanImputer()
    >>> imp.transform_one({"a": float("nan"), "b": 1.0})
    {'a': 2.0, 'b': 1.0}
    """

    _tags = Tags(task="transformer", unsupervised=True, handles_missing=True)

    def _init_state(self) -> None:
        n = self.n_features_in_
        self._count = np.zeros(n)
        self._sum = np.zeros(n)

    def _state_dict(self) -> dict[str, Any]:
        return {"count": self._count.copy(), "sum": self._sum.copy()}

    def _load_state(self, state: dict[str, Any]) -> None:
        self._count = np.array(state["count"], dtype=np.float64)
        self._sum = np.array(state["sum"], dtype=np.float64)

    def _fill(self, X: np.ndarray, learn: bool) -> np.ndarray:
        """``X`` with each NaN replaced by the mean of the earlier rows (learning them if
        ``learn``). A row's own value is never missing where it is imputed, so the means before
        and after learning that row agree there: one pass serves both outputs of a pair."""
        present = ~np.isnan(X)
        values = np.where(present, X, 0.0)
        # sums and counts before each row, accumulated left to right from the state exactly as
        # row-by-row learning would (block-size invariance, bit for bit); the last is after all
        total = np.cumsum(np.vstack([self._sum[None, :], values]), axis=0)
        count = np.cumsum(np.vstack([self._count[None, :], present]), axis=0)
        if present.all():
            out = np.array(X, dtype=np.float64)
        else:
            before, n = total[:-1], count[:-1]
            means = np.divide(before, n, out=np.zeros_like(before), where=n > 0)
            out = np.where(present, X, means)
        if learn:
            self._sum, self._count = total[-1].copy(), count[-1].copy()
        return out

    def _transform_pair(
        self, X_pred: np.ndarray | None, X_learn: np.ndarray | None
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        if X_learn is None:
            return self._fill(np.asarray(X_pred, dtype=np.float64), False), None
        if X_pred is None or X_pred is X_learn:
            out = self._fill(np.asarray(X_learn, dtype=np.float64), True)
            return (out if X_pred is not None else None), out
        # the two inputs differ (a later pipeline step): keep the per-row order row by row
        p_rows, l_rows = [], []
        for i in range(X_learn.shape[0]):
            p_rows.append(self._fill(X_pred[i : i + 1], False))
            l_rows.append(self._fill(X_learn[i : i + 1], True))
        return np.vstack(p_rows), np.vstack(l_rows)
