"""What every synthetic generator shares: seeding, chunked generation, ``take``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from functools import partial
from typing import ClassVar

import numpy as np

from tidal.base import ParameterError
from tidal.base.validation import check_choice
from tidal.stream._block import Block
from tidal.stream._source import Source

__all__ = ["Generator", "ConceptFunctions", "RowBuffer", "Balancer", "drawn_chunks", "flip_labels"]

# Rows generated per internal step. Fixed, so the stream never depends on the block size.
CHUNK = 2048

Chunk = tuple[np.ndarray, np.ndarray]


class Generator:
    """Base class: an infinite, seeded stream produced in fixed chunks of rows.

    Subclasses define ``task``, ``_stream()`` (an infinite iterator of ``(X, y)`` chunks) and
    either ``n_features`` (the features are then ``x0``, ``x1``, ...) or ``feature_names``, and
    validate their parameters in ``_check_params``. A seed of None is drawn once, the first
    time the generator is used, so every Source taken from the same generator object holds
    the same rows.

    >>> from tidal.stream.synth import SEA
    >>> gen = SEA(variant=2, seed=5)
    >>> gen
    SEA(variant=2, noise=0.0, seed=5)
    >>> gen.take(10).fingerprint() == gen.take(10, block_size=1).fingerprint()
    True
    """

    task: str = "binary"
    target: str = "y"

    n_features: int

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f"x{j}" for j in range(self.n_features))

    def _check_params(self) -> None:
        """Raise ParameterError for a parameter out of its domain."""

    def _stream(self) -> Iterator[Chunk]:
        raise NotImplementedError

    def __repr__(self) -> str:
        names = inspect.signature(type(self).__init__).parameters
        params = ", ".join(f"{k}={getattr(self, k)!r}" for k in names if k != "self")
        return f"{type(self).__name__}({params})"

    def _rng(self, attr: str = "seed") -> np.random.Generator:
        seed = getattr(self, attr)
        if seed is None:
            drawn = self.__dict__.setdefault("_drawn_seeds", {})
            seed = drawn.setdefault(attr, int(np.random.SeedSequence().entropy))
        return np.random.default_rng(seed)

    def chunks(self) -> Iterator[Chunk]:
        """The raw infinite stream of ``(X, y)`` chunks (used to compose generators)."""
        self._check_params()
        return self._stream()

    def take(self, n: int, block_size: int = 4096) -> Source:
        """The first ``n`` rows of the stream as a Source (the same rows for any block size)."""
        self._check_params()
        if not isinstance(n, int | np.integer) or n < 0:
            raise ParameterError(f"n == {n!r}, must be an integer >= 0")
        names = self.feature_names

        def pieces() -> Iterator[Block]:
            for X, y in self.chunks():
                yield Block(X, names, y=y, target=self.target)

        return Source(
            pieces,
            feature_names=names,
            target=self.target,
            block_size=block_size,
            name=repr(self),
            task=self.task,
            limit=int(n),
        )


class ConceptFunctions(Generator):
    """A generator of MOA's kind with numbered concepts: ``classification_function`` picks one
    of ``n_functions`` labelling rules, ``balance_classes`` makes labels alternate 1, 0, 1, ...

    Subclasses draw rows independently of each other in ``_draw(rng, n)``; ``_chunks`` hands
    them out (balanced when asked) from one generator ``rng``.
    """

    n_functions: ClassVar[int]
    classification_function: int
    balance_classes: bool

    def _check_params(self) -> None:
        check_choice(
            "classification_function", self.classification_function, range(self.n_functions)
        )

    def _draw(self, rng: np.random.Generator, n: int) -> Chunk:
        raise NotImplementedError

    def _chunks(self, rng: np.random.Generator) -> Iterator[Chunk]:
        return drawn_chunks(partial(self._draw, rng), self.balance_classes)

    def _stream(self) -> Iterator[Chunk]:
        return self._chunks(self._rng())


def flip_labels(y: np.ndarray, rng: np.random.Generator, probability: float) -> np.ndarray:
    """Flip each binary label of ``y`` in place with ``probability``. Returns ``y``.

    Nothing is drawn when ``probability`` is 0, so a noiseless stream's later draws (and
    hence its rows) are the same as if it had no noise step at all.
    """
    if probability > 0:
        flip = rng.random(len(y)) < probability
        y[flip] = 1 - y[flip]
    return y


class RowBuffer:
    """Hands out exactly ``k`` rows at a time from an infinite iterator of chunks."""

    def __init__(self, chunks: Iterator[Chunk]):
        self._chunks = chunks
        self._X: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self._n = 0

    def take(self, k: int) -> Chunk:
        while self._n < k or not self._X:
            X, y = next(self._chunks)
            self._X.append(X)
            self._y.append(y)
            self._n += len(y)
        X, y = np.concatenate(self._X), np.concatenate(self._y)
        self._X, self._y, self._n = [X[k:]], [y[k:]], len(y) - k
        return X[:k], y[:k]


def drawn_chunks(draw: Callable[[int], Chunk], balance_classes: bool) -> Iterator[Chunk]:
    """The endless chunks of rows ``draw(n)`` gives, through a :class:`Balancer` when
    ``balance_classes``."""
    balancer = Balancer(draw) if balance_classes else None
    while True:
        yield balancer.take(CHUNK) if balancer else draw(CHUNK)


class Balancer:
    """MOA's ``balance_classes``: labels alternate 1, 0, 1, 0, ... starting with 1.

    MOA redraws rows until one of the wanted class comes; here candidate rows are drawn a
    chunk at a time and queued per class, which gives each class the same conditional
    distribution without a Python loop per row.
    """

    def __init__(self, draw: Callable[[int], Chunk]):
        self._draw = draw
        self._pools: dict[int, list[np.ndarray]] = {0: [], 1: []}
        self._sizes = {0: 0, 1: 0}
        self._next_is_one = True

    def take(self, n: int) -> Chunk:
        first = 1 if self._next_is_one else 0
        need = {first: (n + 1) // 2, 1 - first: n // 2}
        while any(self._sizes[c] < need[c] for c in (0, 1)):
            X, y = self._draw(CHUNK)
            for c in (0, 1):
                rows = X[y == c]
                self._pools[c].append(rows)
                self._sizes[c] += len(rows)
        parts = {}
        for c in (0, 1):
            pool = np.concatenate(self._pools[c])
            parts[c] = pool[: need[c]]
            # surplus rows of the frequent class are dropped, as MOA's rejection drops them;
            # keeping them all would make the pool (and each concatenation) grow forever
            rest = pool[need[c] : need[c] + CHUNK]
            self._pools[c] = [rest]
            self._sizes[c] = len(rest)
        X = np.empty((n, parts[0].shape[1]))
        y = np.empty(n, dtype=np.int64)
        X[0::2], y[0::2] = parts[first], first
        X[1::2], y[1::2] = parts[1 - first], 1 - first
        if n % 2:
            self._next_is_one = not self._next_is_one
        return X, y
