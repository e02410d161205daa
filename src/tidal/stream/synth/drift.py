"""Mix two streams around a change point (MOA's ConceptDriftStream)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tidal.base import ParameterError, store_params
from tidal.base.validation import check_int
from tidal.stream.synth._base import CHUNK, Chunk, Generator, RowBuffer

__all__ = ["ConceptDrift"]


class ConceptDrift(Generator):
    """Two streams mixed by MOA's sigmoid: row t (0-based) comes from ``b`` with probability
    ``1 / (1 + exp(-4 (t - position) / width))``, otherwise from ``a``.

    Each stream advances only when it supplies a row, as in MOA. ``width=1`` is an abrupt
    change: rows before ``position`` all come from ``a`` and rows from ``position`` on all
    come from ``b`` (the sigmoid itself would still mix about 2 % of rows on either side).
    Generators compose: ``a`` or ``b`` may be a ConceptDrift.

    >>> from tidal.stream.synth import SEA, ConceptDrift
    >>> src = ConceptDrift(SEA(variant=0, seed=1), SEA(variant=3, seed=2), position=500, width=1)
    >>> X, y = src.take(1000).arrays()
    >>> s = X[:, 0] + X[:, 1]
    >>> bool(np.all(y[:500] == (s[:500] > 8))), bool(np.all(y[500:] == (s[500:] > 9.5)))
    (True, True)
    """

    def __init__(
        self,
        a: Generator,
        b: Generator,
        position: int = 5000,
        width: int = 1000,
        seed: int | None = None,
    ):
        store_params(self, locals())

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.a.feature_names

    @property
    def task(self) -> str:  # type: ignore[override]
        return self.a.task if self.a.task == self.b.task else "multiclass"

    def _check_params(self) -> None:
        for name in ("a", "b"):
            if not isinstance(getattr(self, name), Generator):
                raise ParameterError(f"{name} must be a tidal.stream.synth generator")
        if self.a.feature_names != self.b.feature_names:
            raise ParameterError(
                f"a and b must have the same features: {self.a.feature_names} != "
                f"{self.b.feature_names}"
            )
        check_int("position", self.position, 0)
        if not isinstance(self.width, int | float) or self.width < 1:
            raise ParameterError(f"width == {self.width!r}, must be >= 1")

    def probability(self, t: np.ndarray) -> np.ndarray:
        """Probability that row ``t`` comes from ``b`` (the sigmoid, written without overflow)."""
        t = np.asarray(t, dtype=np.float64)
        return 0.5 * (1.0 + np.tanh(2.0 * (t - self.position) / self.width))

    def _stream(self) -> Iterator[Chunk]:
        rng = self._rng()
        a, b = RowBuffer(self.a.chunks()), RowBuffer(self.b.chunks())
        t0 = 0
        while True:
            t = np.arange(t0, t0 + CHUNK)
            if self.width == 1:
                from_b = t >= self.position
            else:
                from_b = rng.random(CHUNK) < self.probability(t)
            n_b = int(from_b.sum())
            Xa, ya = a.take(CHUNK - n_b)
            Xb, yb = b.take(n_b)
            X = np.empty((CHUNK, Xa.shape[1]))
            y = np.empty(CHUNK, dtype=np.result_type(ya, yb))
            X[~from_b], y[~from_b] = Xa, ya
            X[from_b], y[from_b] = Xb, yb
            yield X, y
            t0 += CHUNK
