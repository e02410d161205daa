"""Small seeded synthetic streams for the conformance checks (numpy only, no tidal.stream).

>>> d = binary()
>>> d.X.shape, sorted(set(d.y.tolist()))
((2500, 4), [0, 1])
>>> m = multiclass()
>>> m.y[: m.n // 2].tolist().count("c"), "c" in m.y[m.n // 2 :].tolist()
(0, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Dataset", "binary", "multiclass", "regression", "dataset_for"]

N_ROWS = 2500
N_FEATURES = 4


@dataclass(frozen=True)
class Dataset:
    """A stream as arrays: ``X`` (rows, features) float64, ``y`` labels or targets."""

    name: str
    X: np.ndarray
    y: np.ndarray
    names: tuple[str, ...]

    @property
    def n(self) -> int:
        return self.X.shape[0]

    def columns(self, lo: int = 0, hi: int | None = None, order: Any = None) -> dict:
        """Rows ``lo:hi`` as a dict of columns (in ``order``, a permutation, when given)."""
        order = range(len(self.names)) if order is None else order
        return {self.names[j]: self.X[lo:hi, j].copy() for j in order}

    def row(self, i: int) -> dict[str, float]:
        return {k: float(v) for k, v in zip(self.names, self.X[i])}


def _features(rng: np.random.Generator, n: int) -> np.ndarray:
    X = rng.normal(size=(n, N_FEATURES))
    X[:, 1] = np.round(X[:, 1] * 2.0) / 2.0  # a feature with ties, as real data has
    return X


def _names() -> tuple[str, ...]:
    return tuple(f"f{j}" for j in range(N_FEATURES))


def binary(seed: int = 7, n: int = N_ROWS) -> Dataset:
    """Labels 0/1 from a noisy linear rule."""
    rng = np.random.default_rng(seed)
    X = _features(rng, n)
    logit = X @ np.array([1.5, -1.0, 0.5, 0.0]) + rng.normal(scale=0.7, size=n)
    return Dataset("binary", X, (logit > 0).astype(np.int64), _names())


def multiclass(seed: int = 11, n: int = N_ROWS) -> Dataset:
    """String labels "a", "b", "c"; "c" first appears half-way through the stream."""
    rng = np.random.default_rng(seed)
    X = _features(rng, n)
    W = np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0], [-1.0, 0.0, 1.0], [0.5, 0.5, 0.5]])
    codes = np.argmax(X @ W + rng.normal(scale=0.5, size=(n, 3)), axis=1)
    codes[: n // 2][codes[: n // 2] == 2] = 0
    return Dataset("multiclass", X, np.array(["a", "b", "c"])[codes], _names())


def regression(seed: int = 13, n: int = N_ROWS) -> Dataset:
    """A noisy linear target with a mild non-linearity."""
    rng = np.random.default_rng(seed)
    X = _features(rng, n)
    y = X @ np.array([2.0, -1.0, 0.5, 0.0]) + 0.5 * X[:, 0] ** 2 + rng.normal(scale=0.3, size=n)
    return Dataset("regression", X, y, _names())


def dataset_for(learner: Any) -> Dataset:
    """The stream matching the learner's task tag (transformers get the regression features)."""
    task = learner._get_tags().task
    if task == "binary":
        return binary()
    if task == "multiclass":
        return multiclass()
    return regression()
