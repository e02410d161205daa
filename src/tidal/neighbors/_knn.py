"""k-nearest neighbours over a sliding window of the most recent rows."""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal._kernels import neighbors as K
from tidal.base import Classifier, Regressor, Tags, store_params
from tidal.base.validation import check_choice, check_int

__all__ = ["KNNClassifier", "KNNRegressor"]

_METHODS = {"mean": 0, "median": 1, "weighted_mean": 2}


class _Window:
    """State and checks shared by the two window learners."""

    n_neighbors: int
    window_size: int
    n_features_in_: int

    def _check_window(self) -> None:
        for name in ("n_neighbors", "window_size"):
            check_int(name, getattr(self, name), 1)

    # the window is held feature by feature (``_win_T[f, slot]``): the search then runs over
    # contiguous slots, which the compiler vectorises; the saved state keeps rows (``win_X``)

    def _init_state(self) -> None:
        self._win_T = np.zeros((self.n_features_in_, self.window_size))
        self._win_y = np.zeros(self.window_size)
        self._meta = np.zeros(K.N_META, dtype=np.int64)

    def _state_dict(self) -> dict[str, Any]:
        return {
            "win_X": self._win_T.T.copy(),
            "win_y": self._win_y.copy(),
            "meta": self._meta.copy(),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self._win_T = np.ascontiguousarray(np.array(state["win_X"], dtype=np.float64).T)
        self._win_y = np.array(state["win_y"], dtype=np.float64)
        self._meta = np.array(state["meta"], dtype=np.int64)

    @property
    def n_rows_in_window(self) -> int:
        """Rows currently kept (at most ``window_size``)."""
        meta = getattr(self, "_meta", None)
        return 0 if meta is None else int(meta[K.M_COUNT])

    def _arrays(self, X_pred, X_learn) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
        empty = np.zeros((0, self.n_features_in_))
        Xp = empty if X_pred is None else np.ascontiguousarray(X_pred, dtype=np.float64)
        Xl = empty if X_learn is None else np.ascontiguousarray(X_learn, dtype=np.float64)
        return Xp, Xl


class KNNClassifier(_Window, Classifier):
    """k-nearest-neighbours classifier over the ``window_size`` most recent rows.

    Exact search (River's ``neighbors.LazySearch`` semantics) by Euclidean distance; the votes
    of the ``n_neighbors`` nearest rows are weighted by inverse distance (``weighted``) and
    normalised by their sum (or by a softmax). A row at distance 0 decides alone. Scale the
    features first (for example with a standard scaler): distances mix their units.

    River 0.26.1's ``KNNClassifier`` defaults to an approximate search engine (SWINN); this one
    is the exact search River gives with ``engine=LazySearch(window_size=1000)``, with the same
    results.

    >>> from tidal.neighbors import KNNClassifier
    >>> m = KNNClassifier(n_neighbors=3)
    >>> m = m.learn_many([{"x": 0.0}, {"x": 0.1}, {"x": 1.0}, {"x": 1.1}], ["a", "a", "b", "b"])
    >>> m.predict_one({"x": 0.2}), m.predict_one({"x": 0.9})
    ('a', 'b')
    """

    _tags = Tags(task="multiclass")

    def __init__(
        self,
        n_neighbors: int = 5,
        window_size: int = 1000,
        weighted: bool = True,
        softmax: bool = False,
    ) -> None:
        store_params(self, locals())

    def _check_params(self) -> None:
        self._check_window()

    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        Xp, Xl = self._arrays(X_pred, X_learn)
        yv = np.zeros(0, dtype=np.int64) if y is None else np.asarray(y, dtype=np.int64)
        K.knn_classifier_step(
            Xp, Xl, yv, out, X_pred is not None, X_learn is not None, self._win_T,
            self._win_y, self._meta, int(self.n_neighbors), bool(self.weighted),
            bool(self.softmax),
        )  # fmt: skip


class KNNRegressor(_Window, Regressor):
    """k-nearest-neighbours regressor over the ``window_size`` most recent rows.

    Predicts the mean (``aggregation_method="mean"``), the median or the inverse-distance
    weighted mean of the targets of the ``n_neighbors`` nearest rows (Euclidean distance, exact
    search as River's ``LazySearch``); a row at distance 0 gives its own target. 0.0 before any
    row was learned.

    >>> from tidal.neighbors import KNNRegressor
    >>> m = KNNRegressor(n_neighbors=2).learn_many([[0.0], [1.0], [2.0], [10.0]], [0, 1, 2, 10])
    >>> float(m.predict_one({"x0": 1.4}))
    1.5
    """

    _tags = Tags(task="regression")

    def __init__(
        self,
        n_neighbors: int = 5,
        window_size: int = 1000,
        aggregation_method: str = "mean",
    ) -> None:
        store_params(self, locals())

    def _check_params(self) -> None:
        self._check_window()
        check_choice("aggregation_method", self.aggregation_method, _METHODS)

    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        Xp, Xl = self._arrays(X_pred, X_learn)
        yv = np.zeros(0) if y is None else np.asarray(y, dtype=np.float64)
        K.knn_regressor_step(
            Xp, Xl, yv, out, X_pred is not None, X_learn is not None, self._win_T,
            self._win_y, self._meta, int(self.n_neighbors), _METHODS[self.aggregation_method],
        )  # fmt: skip
