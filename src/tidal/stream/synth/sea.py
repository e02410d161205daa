"""SEA concepts (Street and Kim 2001): abrupt drift by switching a threshold."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tidal.base import store_params
from tidal.base.validation import check_choice, check_real
from tidal.stream.synth._base import CHUNK, Chunk, Generator, flip_labels

__all__ = ["SEA"]

THRESHOLDS = {0: 8.0, 1: 9.0, 2: 7.0, 3: 9.5}


class SEA(Generator):
    """SEA stream: three features uniform on [0, 10), only the first two matter.

    ``y = 1`` if ``x0 + x1 > threshold`` else 0, with the threshold 8, 9, 7 or 9.5 for
    ``variant`` 0, 1, 2 or 3 (as in MOA's SEAGenerator and River's SEA); ``noise`` is the
    probability that a label is flipped. Switch variants with :class:`ConceptDrift` to make
    the classic abrupt-drift benchmark.

    >>> from tidal.stream.synth import SEA
    >>> X, y = SEA(variant=0, seed=42).take(1000).arrays()
    >>> X.shape, bool(np.all(y == (X[:, 0] + X[:, 1] > 8)))
    ((1000, 3), True)

    References: W. N. Street and Y. Kim, "A streaming ensemble algorithm (SEA) for large-scale
    classification", KDD 2001.
    """

    n_features = 3

    def __init__(self, variant: int = 0, noise: float = 0.0, seed: int | None = None):
        store_params(self, locals())

    def _check_params(self) -> None:
        check_choice("variant", self.variant, range(4))
        check_real("noise", self.noise, 0.0, 1.0)

    def _stream(self) -> Iterator[Chunk]:
        rng = self._rng()
        threshold = THRESHOLDS[self.variant]
        while True:
            X = rng.uniform(0.0, 10.0, (CHUNK, 3))
            y = (X[:, 0] + X[:, 1] > threshold).astype(np.int64)
            yield X, flip_labels(y, rng, self.noise)
