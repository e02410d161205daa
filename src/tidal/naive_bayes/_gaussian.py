"""Gaussian naive Bayes (River's ``naive_bayes.GaussianNB``), compiled."""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal._kernels.naive_bayes import gaussian_nb_step
from tidal.base import Classifier, Rows, Tags

__all__ = ["GaussianNB"]


class GaussianNB(Classifier):
    """Gaussian naive Bayes: one running Gaussian per class and feature.

    The same arithmetic as River's ``naive_bayes.GaussianNB``, so ``predict_proba_one`` agrees
    with River's to 1e-9 on the same stream: Welford's running mean and *population* variance
    (River sets ``ddof=0``), a feature whose variance is still 0 contributes ``log(1e-9)`` (River
    adds 1e-9 to every density before the log), priors are class frequencies, and the
    probabilities are the soft-max of the joint log-likelihoods. Classes appear as they are
    learned; a class not learned yet has probability 0. Sample weights count like repeated rows
    (River's ``learn_one`` takes none; with weight 1 the two are identical).

    >>> from tidal.naive_bayes import GaussianNB
    >>> X = [[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]]
    >>> model = GaussianNB().learn_many(X, [1, 1, 1, 2, 2, 2])
    >>> model.predict_one({"x0": -0.8, "x1": -1})
    1
    >>> model.predict_proba_one({"x0": 0.0, "x1": 0.0})
    {1: 0.5, 2: 0.5}
    """

    _tags = Tags(task="multiclass")

    def __init__(self) -> None:
        pass

    def _init_state(self) -> None:
        k, f = self._n_classes, self.n_features_in_
        self._counts = np.zeros(k)
        self._mean = np.zeros((k, f))
        self._S = np.zeros((k, f))

    def _on_new_classes(self, n_classes: int) -> None:
        if not hasattr(self, "_counts"):
            return
        grow = n_classes - len(self._counts)
        if grow > 0:
            f = self.n_features_in_
            self._counts = np.concatenate([self._counts, np.zeros(grow)])
            self._mean = np.vstack([self._mean, np.zeros((grow, f))])
            self._S = np.vstack([self._S, np.zeros((grow, f))])

    def _state_dict(self) -> dict[str, Any]:
        return {"counts": self._counts.copy(), "mean": self._mean.copy(), "S": self._S.copy()}

    def _load_state(self, state: dict[str, Any]) -> None:
        self._counts = np.array(state["counts"], dtype=np.float64)
        shape = (len(self._counts), self.n_features_in_)
        self._mean = np.array(state["mean"], dtype=np.float64).reshape(shape)
        self._S = np.array(state["S"], dtype=np.float64).reshape(shape)

    @property
    def class_counts_(self) -> dict[Any, float]:
        """The (weighted) number of rows learned per class."""
        return dict(zip(self._labels, self._counts.tolist()))

    def _step_arrays(self, X_pred: Rows, X_learn: Rows, y: Any, w: Rows, out: np.ndarray) -> None:
        f = self.n_features_in_
        empty = np.empty((0, f))
        gaussian_nb_step(
            empty if X_pred is None else np.ascontiguousarray(X_pred, dtype=np.float64),
            empty if X_learn is None else np.ascontiguousarray(X_learn, dtype=np.float64),
            np.empty(0, dtype=np.int64) if y is None else np.asarray(y, dtype=np.int64),
            np.empty(0) if w is None else np.asarray(w, dtype=np.float64),
            out,
            X_pred is not None,
            X_learn is not None,
            self._counts,
            self._mean,
            self._S,
        )
