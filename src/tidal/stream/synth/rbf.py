"""Random radial basis functions (MOA's RandomRBFGenerator), with optional moving centroids."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tidal.base import ParameterError, store_params
from tidal.base.validation import check_int, check_real
from tidal.stream.synth._base import CHUNK, Chunk, Generator

__all__ = ["RandomRBF", "RandomRBFDrift"]


def _fold(z: np.ndarray) -> np.ndarray:
    """Reflect positions into [0, 1], as a point bouncing between two walls."""
    return 1.0 - np.abs(1.0 - np.mod(z, 2.0))


class RandomRBF(Generator):
    """Gaussian clusters around random centroids, each with a class label.

    The model (``seed_model``) draws, for each of ``n_centroids`` centroids, a centre uniform
    on [0, 1)^d, a label uniform on 0..n_classes-1, a spread uniform on [0, 1) and a weight
    uniform on [0, 1). Each row (``seed_sample``) picks a centroid with probability
    proportional to its weight and moves from its centre in a uniformly random direction by a
    distance ``N(0, 1) * spread``; the label is the centroid's.

    >>> from tidal.stream.synth import RandomRBF
    >>> src = RandomRBF(n_classes=3, n_features=4, seed_model=1, seed_sample=2).take(200)
    >>> src.task, src.arrays()[0].shape, sorted(set(src.arrays()[1].tolist()))
    ('multiclass', (200, 4), [0, 1, 2])
    """

    def __init__(
        self,
        n_classes: int = 2,
        n_features: int = 10,
        n_centroids: int = 50,
        seed_model: int | None = None,
        seed_sample: int | None = None,
    ):
        store_params(self, locals())

    @property
    def task(self) -> str:  # type: ignore[override]
        return "binary" if self.n_classes == 2 else "multiclass"

    def _check_params(self) -> None:
        for name, low in (("n_classes", 2), ("n_features", 1), ("n_centroids", 1)):
            check_int(name, getattr(self, name), low)

    def _model(self) -> tuple[np.random.Generator, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        rng = self._rng("seed_model")
        k, d = self.n_centroids, self.n_features
        centres = rng.random((k, d))
        labels = rng.integers(0, self.n_classes, k)
        spreads = rng.random(k)
        weights = rng.random(k)
        return rng, centres, labels, spreads, weights / weights.sum()

    def _centres_at(self, centres: np.ndarray, idx: np.ndarray, t: np.ndarray) -> np.ndarray:
        return centres[idx]

    def _stream(self) -> Iterator[Chunk]:
        _, centres, labels, spreads, p = self._model()
        rng = self._rng("seed_sample")
        d = self.n_features
        t0 = 0
        while True:
            idx = rng.choice(len(p), size=CHUNK, p=p)
            direction = rng.uniform(-1.0, 1.0, (CHUNK, d))
            length = rng.standard_normal(CHUNK) * spreads[idx]
            norm = np.sqrt(np.einsum("ij,ij->i", direction, direction))
            t = np.arange(t0, t0 + CHUNK)
            X = self._centres_at(centres, idx, t) + direction * (length / norm)[:, None]
            yield X, labels[idx].astype(np.int64)
            t0 += CHUNK


class RandomRBFDrift(RandomRBF):
    """:class:`RandomRBF` whose first ``n_drift_centroids`` centroids move.

    Each moving centroid gets a unit speed vector (uniform components, normalised, drawn by
    the model after the centroids) and moves by ``change_speed`` along it before each row,
    bouncing off the walls of [0, 1]^d. Positions are computed in closed form (exact
    reflection), so row t uses the centre after t + 1 moves whatever the block size;
    MOA/River clamp at the wall instead, which differs only by the overshoot.

    >>> from tidal.stream.synth import RandomRBF, RandomRBFDrift
    >>> still = RandomRBFDrift(change_speed=0.0, seed_model=1, seed_sample=2).take(100)
    >>> same = RandomRBF(seed_model=1, seed_sample=2).take(100)
    >>> still.fingerprint() == same.fingerprint()
    True
    """

    def __init__(
        self,
        change_speed: float = 0.0,
        n_drift_centroids: int = 50,
        n_classes: int = 2,
        n_features: int = 10,
        n_centroids: int = 50,
        seed_model: int | None = None,
        seed_sample: int | None = None,
    ):
        store_params(self, locals())

    def _check_params(self) -> None:
        super()._check_params()
        check_real("change_speed", self.change_speed, 0.0, 1.0)
        if not isinstance(self.n_drift_centroids, int) or not (
            0 <= self.n_drift_centroids <= self.n_centroids
        ):
            raise ParameterError(
                f"n_drift_centroids == {self.n_drift_centroids!r}, must be an integer in "
                f"[0, n_centroids == {self.n_centroids}]"
            )

    def _model(self) -> tuple[np.random.Generator, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        model = super()._model()
        rng = model[0]
        speeds = rng.random((self.n_drift_centroids, self.n_features))
        speeds /= np.linalg.norm(speeds, axis=1, keepdims=True)
        self._speeds = speeds
        return model

    def _centres_at(self, centres: np.ndarray, idx: np.ndarray, t: np.ndarray) -> np.ndarray:
        out = centres[idx].copy()
        moving = idx < self.n_drift_centroids
        steps = (t[moving] + 1.0) * self.change_speed
        out[moving] = _fold(out[moving] + self._speeds[idx[moving]] * steps[:, None])
        return out
