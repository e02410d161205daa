"""STAGGER concepts (Schlimmer and Granger 1986): three boolean concepts on three attributes."""

from __future__ import annotations

import numpy as np

from tidal.base import store_params
from tidal.stream.synth._base import Chunk, ConceptFunctions

__all__ = ["STAGGER"]

SIZES = ("small", "medium", "large")
COLOURS = ("red", "blue", "green")
SHAPES = ("circle", "square", "triangle")


def stagger_label(
    function: int, size: np.ndarray, color: np.ndarray, shape: np.ndarray
) -> np.ndarray:
    if function == 0:
        hit = (size == 0) & (color == 0)  # small and red
    elif function == 1:
        hit = (color == 2) | (shape == 0)  # green or circle
    else:
        hit = size >= 1  # medium or large
    return hit.astype(np.int64)


class STAGGER(ConceptFunctions):
    """STAGGER: ``size``, ``color``, ``shape`` each uniform on {0, 1, 2}; binary target.

    Codes: size 0/1/2 = small/medium/large, color 0/1/2 = red/blue/green, shape
    0/1/2 = circle/square/triangle. ``classification_function``: 0 -> ``y = 1`` iff small and
    red; 1 -> iff green or circle; 2 -> iff medium or large (MOA's STAGGERGenerator, River's
    STAGGER). ``balance_classes`` makes labels alternate 1, 0, 1, 0, ...

    >>> from tidal.stream.synth import STAGGER
    >>> X, y = STAGGER(classification_function=2, seed=1).take(300).arrays()
    >>> bool(np.all(y == (X[:, 0] >= 1)))
    True
    """

    feature_names: tuple[str, ...] = ("size", "color", "shape")
    n_functions = 3

    def __init__(
        self,
        classification_function: int = 0,
        balance_classes: bool = False,
        seed: int | None = None,
    ):
        store_params(self, locals())

    def _draw(self, rng: np.random.Generator, n: int) -> Chunk:
        X = rng.integers(0, 3, (n, 3)).astype(np.float64)
        return X, stagger_label(self.classification_function, X[:, 0], X[:, 1], X[:, 2])
