"""Honest baselines: the numbers any model must beat.

>>> from tidal.dummy import NoChangeClassifier
>>> NoChangeClassifier().step_many([{"x": 0.0}] * 4, [0, 1, 1, 0]).tolist()
[0, 0, 1, 1]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal.base import Classifier, Regressor, Tags

__all__ = ["NoChangeClassifier", "MajorityClassifier", "RunningMeanRegressor"]


class NoChangeClassifier(Classifier):
    """Predicts the label of the previous row (the "persistence" forecast).

    On Elec2 it scores 0.853: a drifting stream with strong autocorrelation.

    >>> m = NoChangeClassifier()
    >>> m.learn_one({"x": 1.0}, "up").predict_one({"x": 5.0})
    'up'
    """

    _tags = Tags(task="multiclass", handles_categorical=True, handles_missing=True, baseline=True)

    def _init_state(self) -> None:
        self._last = -1

    def _state_dict(self) -> dict[str, Any]:
        return {"last": self._last}

    def _load_state(self, state: dict[str, Any]) -> None:
        self._last = int(state["last"])

    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        n = out.shape[0]
        if X_pred is not None:
            prev = np.empty(n, dtype=np.int64)
            prev[0] = self._last
            if X_learn is not None and n > 1:
                prev[1:] = y[:-1]
            elif n > 1:
                prev[1:] = self._last
            rows = np.nonzero(prev >= 0)[0]
            out[rows, prev[rows]] = 1.0
        if X_learn is not None and n:
            self._last = int(y[-1])


class MajorityClassifier(Classifier):
    """Predicts the most frequent label so far (weighted); ties go to the label seen first.

    >>> m = MajorityClassifier().learn_many([{"x": 0}] * 3, ["a", "b", "b"])
    >>> m.predict_one({"x": 0}), m.predict_proba_one({"x": 0})
    ('b', {'a': 0.333..., 'b': 0.666...})
    """

    _tags = Tags(task="multiclass", handles_categorical=True, handles_missing=True, baseline=True)

    def _init_state(self) -> None:
        self._counts = np.zeros(0)

    def _on_new_classes(self, n_classes: int) -> None:
        if hasattr(self, "_counts"):
            self._counts = np.concatenate([self._counts, np.zeros(n_classes - len(self._counts))])

    def _state_dict(self) -> dict[str, Any]:
        return {"counts": self._counts.copy()}

    def _load_state(self, state: dict[str, Any]) -> None:
        self._counts = np.asarray(state["counts"], dtype=np.float64).copy()

    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        k = out.shape[1]
        counts = np.zeros(k)
        counts[: len(self._counts)] = self._counts
        for i in range(out.shape[0]):
            total = counts.sum()
            if X_pred is not None and total > 0:
                out[i] = counts / total
            if X_learn is not None:
                counts[y[i]] += w[i]
        if X_learn is not None:
            self._counts = counts


class RunningMeanRegressor(Regressor):
    """Predicts the (weighted) mean of the targets so far; 0.0 before any.

    >>> RunningMeanRegressor().step_many([{"x": 0.0}] * 3, [2.0, 4.0, 9.0]).tolist()
    [0.0, 2.0, 3.0]
    """

    _tags = Tags(task="regression", handles_categorical=True, handles_missing=True, baseline=True)

    def _init_state(self) -> None:
        self._sum_w = 0.0
        self._mean = 0.0

    def _state_dict(self) -> dict[str, Any]:
        return {"sum_w": self._sum_w, "mean": self._mean}

    def _load_state(self, state: dict[str, Any]) -> None:
        self._sum_w, self._mean = float(state["sum_w"]), float(state["mean"])

    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        if X_learn is None:
            out[:] = self._mean
            return
        sum_w, mean = self._sum_w, self._mean
        for i in range(out.shape[0]):
            out[i] = mean
            sum_w += w[i]
            if sum_w > 0:
                mean += w[i] * (y[i] - mean) / sum_w
        self._sum_w, self._mean = sum_w, mean
