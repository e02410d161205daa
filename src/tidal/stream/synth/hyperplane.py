"""Rotating hyperplane (Hulten, Spencer and Domingos 2001): gradual drift."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tidal.base import ParameterError, store_params
from tidal.base.validation import check_int, check_real
from tidal.stream.synth._base import CHUNK, Chunk, Generator, flip_labels

__all__ = ["Hyperplane"]


class Hyperplane(Generator):
    """Rotating hyperplane: ``y = 1`` if ``sum_i w_i x_i >= sum_i w_i / 2``, x uniform on [0, 1).

    The weights start uniform on [0, 1) (the first ``n_features`` draws of the generator).
    After each row, each of the first ``n_drift_features`` weights moves by ``mag_change``
    in its current direction (initially +1), and the direction reverses with probability
    ``sigma``. A label is flipped with probability ``noise_percentage``. This is MOA's
    HyperplaneGenerator and River's Hyperplane, with probabilities used exactly as given.

    >>> from tidal.stream.synth import Hyperplane
    >>> src = Hyperplane(n_features=4, noise_percentage=0.0, seed=7).take(500)
    >>> X, y = src.arrays()
    >>> w = np.random.default_rng(7).random(4)   # the weights, when mag_change == 0
    >>> bool(np.all(y == (X @ w >= w.sum() / 2)))
    True
    """

    def __init__(
        self,
        n_features: int = 10,
        n_drift_features: int = 2,
        mag_change: float = 0.0,
        sigma: float = 0.1,
        noise_percentage: float = 0.05,
        seed: int | None = None,
    ):
        store_params(self, locals())

    def _check_params(self) -> None:
        check_int("n_features", self.n_features, 2)
        if not isinstance(self.n_drift_features, int) or not (
            0 <= self.n_drift_features <= self.n_features
        ):
            raise ParameterError(
                f"n_drift_features == {self.n_drift_features!r}, must be an integer in "
                f"[0, n_features == {self.n_features}]"
            )
        check_real("mag_change", self.mag_change, 0.0, 1.0)
        check_real("sigma", self.sigma, 0.0, 1.0)
        check_real("noise_percentage", self.noise_percentage, 0.0, 1.0)

    def _stream(self) -> Iterator[Chunk]:
        rng = self._rng()
        d, k = self.n_features, self.n_drift_features
        w = rng.random(d)
        direction = np.ones(k)
        while True:
            X = rng.random((CHUNK, d))
            flips = rng.random((CHUNK, k)) < self.sigma
            # direction used by the update after row t, then the weights seen by row t
            turned = np.cumprod(np.where(flips, -1.0, 1.0), axis=0)
            dirs = direction * np.vstack([np.ones((1, k)), turned[:-1]])
            moved = np.cumsum(self.mag_change * dirs, axis=0)
            W = np.tile(w, (CHUNK, 1))
            W[1:, :k] += moved[:-1]
            y = (np.einsum("ij,ij->i", X, W) >= 0.5 * W.sum(axis=1)).astype(np.int64)
            flip_labels(y, rng, self.noise_percentage)
            w[:k] += moved[-1]
            direction = direction * turned[-1]
            yield X, y
