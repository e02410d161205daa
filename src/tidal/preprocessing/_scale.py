"""Online standard scaling (River's ``preprocessing.StandardScaler``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal._kernels.preprocessing import standard_scaler_pair
from tidal.base import Tags
from tidal.base.validation import check_bool
from tidal.preprocessing._base import PairTransformer, as_matrix

__all__ = ["StandardScaler"]


class StandardScaler(PairTransformer):
    """Scales each feature to zero mean and unit variance with running statistics.

    River's ``preprocessing.StandardScaler``: Welford updates of the mean and of the population
    variance (unweighted: sample weights are for the final learner), and a feature whose
    variance is still 0 is output as 0.0. The running statistics are River's bit for bit; the
    outputs multiply by the reciprocal of the standard deviation (one division per feature and
    row instead of two), so they agree with River's to a few ulp. With ``with_std=False`` only
    the mean is removed.

    Parameters
    ----------
    with_std
        Divide by the running standard deviation.

    >>> from tidal.preprocessing import StandardScaler
    >>> scaler = StandardScaler()
    >>> for x in [{"a": 1.0}, {"a": 3.0}, {"a": 5.0}]:
    ...     _ = scaler.learn_one(x)
    >>> scaler.transform_one({"a": 5.0})
    {'a': 1.224744871391589}
    >>> StandardScaler().learn_one({"a": 2.0}).transform_one({"a": 7.0})
    {'a': 0.0}
    """

    _tags = Tags(task="transformer", unsupervised=True)

    def __init__(self, with_std: bool = True) -> None:
        self.with_std = with_std

    def _check_params(self) -> None:
        check_bool("with_std", self.with_std)

    def _init_state(self) -> None:
        n = self.n_features_in_
        self._count = np.zeros(n)
        self._mean = np.zeros(n)
        self._var = np.zeros(n)

    def _state_dict(self) -> dict[str, Any]:
        return {"count": self._count.copy(), "mean": self._mean.copy(), "var": self._var.copy()}

    def _load_state(self, state: dict[str, Any]) -> None:
        for key in ("count", "mean", "var"):
            setattr(self, f"_{key}", np.array(state[key], dtype=np.float64))

    @property
    def mean_(self) -> dict[str, float]:
        """The running mean of each feature."""
        return dict(zip(self.feature_names_in_, self._mean.tolist()))

    @property
    def var_(self) -> dict[str, float]:
        """The running population variance of each feature (0 when ``with_std=False``)."""
        return dict(zip(self.feature_names_in_, self._var.tolist()))

    def _transform_pair(
        self, X_pred: np.ndarray | None, X_learn: np.ndarray | None
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        do_pred, do_learn = X_pred is not None, X_learn is not None
        d = self.n_features_in_
        Xp, Xl = as_matrix(X_pred, d), as_matrix(X_learn, d)
        # the kernel writes every cell: no need to fill the outputs first
        Op, Ol = np.empty(Xp.shape), np.empty(Xl.shape)
        standard_scaler_pair(
            Xp, Xl, Op, Ol, do_pred, do_learn, bool(self.with_std),
            self._count, self._mean, self._var,
        )  # fmt: skip
        return (Op if do_pred else None), (Ol if do_learn else None)
