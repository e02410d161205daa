"""A re-iterable stream of Blocks, whatever produced it (a file, a frame, a generator)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from tidal.base import ParameterError
from tidal.stream._block import Block, concat_blocks

__all__ = ["Source", "guess_task", "reblock"]

# A numeric target with at most this many distinct integer values is taken as class labels.
MAX_CLASSES = 20


def reblock(pieces: Iterable[Block], block_size: int, limit: int | None = None) -> Iterator[Block]:
    """Cut pieces of any size into blocks of exactly ``block_size`` rows (the last may be short).

    ``start`` is renumbered from 0 so that a block's position never depends on how the
    producer chunked its output.
    """
    pending: list[Block] = []
    n_pending = 0
    position = 0
    remaining = limit
    if remaining is not None and remaining <= 0:
        return
    for piece in pieces:
        if remaining is not None:
            if len(piece) > remaining:
                piece = piece.slice(0, remaining)
            remaining -= len(piece)
        if len(piece):
            pending.append(piece)
            n_pending += len(piece)
        if n_pending >= block_size:
            joined = concat_blocks(pending)
            a = 0
            while n_pending - a >= block_size:
                yield _at(joined.slice(a, a + block_size), position)
                position += block_size
                a += block_size
            pending = [joined.slice(a, n_pending)] if a < n_pending else []
            n_pending -= a
        if remaining == 0:
            break  # an infinite producer must not be asked for one more piece
    if n_pending:
        yield _at(concat_blocks(pending), position)


def _at(block: Block, start: int) -> Block:
    block = block.slice(0, len(block))
    block.start = start
    return block


def guess_task(values: Iterable[np.ndarray]) -> str:
    """ "binary", "multiclass" or "regression", from the target values.

    Strings and booleans are labels; numbers are labels when they take few distinct integer
    values (at most 20), otherwise the task is regression.

    >>> guess_task([np.array([0, 1, 1])]), guess_task([np.array(["a", "b", "c"])])
    ('binary', 'multiclass')
    >>> guess_task([np.array([0.5, 1.0, 3.0])])
    'regression'
    """
    distinct: set[Any] = set()
    numeric = True
    for y in values:
        y = np.asarray(y)
        if y.dtype.kind == "b":
            numeric = False
        elif y.dtype.kind in "iuf":
            if y.dtype.kind == "f":
                finite = y[np.isfinite(y)]
                if np.any(finite != np.round(finite)):
                    return "regression"
                y = finite
        else:
            kept = [v for v in y.tolist() if v is not None]
            if any(isinstance(v, str | bytes | bool) for v in kept):
                numeric = False
            elif any(isinstance(v, float) and v != round(v) for v in kept):
                return "regression"
            y = np.array(kept, dtype=object)
        distinct.update(np.unique(y).tolist())
        if numeric and len(distinct) > MAX_CLASSES:
            return "regression"
    return "binary" if len(distinct) <= 2 else "multiclass"


class Source:
    """A re-iterable stream: iterating yields :class:`Block` objects of ``block_size`` rows.

    Sources are made by the readers (:func:`tidal.stream.read_csv`, ...), by
    :func:`tidal.stream.from_frame` / :func:`tidal.stream.from_arrays` and by the synthetic
    generators' ``take``. Each iteration starts again from the first row.

    >>> import numpy as np
    >>> from tidal.stream import from_arrays
    >>> src = from_arrays(np.arange(10.0).reshape(5, 2), np.array([0, 1, 0, 1, 1]), block_size=2)
    >>> [len(b) for b in src], src.feature_names, src.task
    ([2, 2, 1], ('x0', 'x1'), 'binary')
    >>> next(src.rows())
    ({'x0': 0.0, 'x1': 1.0}, 0)
    """

    def __init__(
        self,
        pieces: Callable[[], Iterable[Block]],
        *,
        feature_names: Iterable[str],
        target: str | None,
        block_size: int = 4096,
        name: str = "source",
        task: str | None = None,
        limit: int | None = None,
    ):
        if not isinstance(block_size, int | np.integer) or block_size < 1:
            raise ParameterError(f"block_size == {block_size!r}, must be an integer >= 1")
        self._pieces = pieces
        self.feature_names = tuple(feature_names)
        self.target = target
        self.block_size = int(block_size)
        self.name = name
        self._task = task
        self._limit = limit
        self._n_rows: int | None = None
        #: readers set this: the target column alone, chunk by chunk (a pass that skips
        #: converting every feature, for ``task`` and ``n_rows`` on a large file)
        self._targets: Callable[[], Iterable[np.ndarray]] | None = None

    def __repr__(self) -> str:
        return (
            f"Source({self.name!r}, {len(self.feature_names)} features, target={self.target!r}, "
            f"block_size={self.block_size})"
        )

    def __iter__(self) -> Iterator[Block]:
        return self.blocks()

    def blocks(self, block_size: int | None = None) -> Iterator[Block]:
        """Iterate over blocks of ``block_size`` rows (default: the source's own)."""
        return reblock(self._pieces(), block_size or self.block_size, self._limit)

    def rows(self) -> Iterator[tuple[dict[str, Any], Any]]:
        """Yield ``(x, y)`` one row at a time (x: dict of Python scalars)."""
        for block in self:
            yield from block.rows()

    def head(self, n: int) -> Source:
        """The first ``n`` rows, as a Source."""
        limit = n if self._limit is None else min(n, self._limit)
        return Source(
            self._pieces,
            feature_names=self.feature_names,
            target=self.target,
            block_size=self.block_size,
            name=self.name,
            task=self._task,
            limit=limit,
        )

    @property
    def task(self) -> str | None:
        """ "binary", "multiclass" or "regression" (guessed from the target), None if no target."""
        if self._task is None and self.target is not None:
            if self._targets is not None and self._limit is None:
                self._task = guess_task(self._targets())
            else:
                self._task = guess_task(b.y for b in self if b.y is not None)
        return self._task

    @property
    def n_rows(self) -> int:
        """Number of rows (counted by reading the stream once, then cached)."""
        if self._n_rows is None:
            if self._targets is not None and self._limit is None:
                self._n_rows = sum(len(y) for y in self._targets())
            else:
                self._n_rows = sum(len(b) for b in self)
        return self._n_rows

    def collect(self) -> Block:
        """The whole stream as one Block (loads everything into memory)."""
        blocks = list(self)
        if not blocks:
            return Block(np.empty((0, len(self.feature_names))), self.feature_names)
        return concat_blocks(blocks)

    def arrays(self) -> tuple[np.ndarray, np.ndarray | None]:
        """``(X, y)`` as numpy arrays (categorical columns as float codes)."""
        block = self.collect()
        return block.X, block.y

    def to_pandas(self) -> Any:
        """The whole stream as a pandas DataFrame (categorical columns with original values)."""
        block = self.collect()
        block.target = self.target
        return block.to_pandas()

    def fingerprint(self) -> str:
        """sha256 (hex) of the content: names, values, categories, targets, ids, times.

        It does not depend on the block size, so results can be stamped with it.
        """
        fp = Fingerprint()
        for block in self:
            fp.update(block)
        return fp.hexdigest(self)


class Fingerprint:
    """:meth:`Source.fingerprint` fed one block at a time, so that a run hashes the blocks it
    reads anyway instead of reading the stream once more.

    >>> import numpy as np
    >>> from tidal.stream import from_arrays
    >>> src = from_arrays(np.arange(6.0).reshape(3, 2), np.array([0, 1, 0]), block_size=2)
    >>> fp = Fingerprint()
    >>> for block in src:
    ...     fp.update(block)
    >>> fp.hexdigest(src) == src.fingerprint()
    True
    """

    def __init__(self) -> None:
        self.parts = {k: hashlib.sha256() for k in ("X", "y", "ids", "timestamps")}
        self.categories: dict[str, list[Any]] = {}
        self.dtypes: set[str] = set()
        self.n = 0

    def update(self, block: Block) -> None:
        self.n += len(block)
        self.dtypes.update(
            str(getattr(block, k).dtype) for k in self.parts if getattr(block, k) is not None
        )
        self.parts["X"].update(np.ascontiguousarray(block.X, dtype="<f8").tobytes())
        for key in ("y", "ids", "timestamps"):
            _hash_values(self.parts[key], getattr(block, key))
        self.categories = block.categories

    def hexdigest(self, source: Source) -> str:
        head = repr(
            (
                source.feature_names,
                source.target,
                self.n,
                sorted(self.categories.items()),
                sorted(self.dtypes),
            )
        )
        total = hashlib.sha256(head.encode())
        for h in self.parts.values():
            total.update(h.digest())
        return total.hexdigest()


def _hash_values(h: Any, values: np.ndarray | None) -> None:
    if values is None:
        return
    if values.dtype.kind in "biuf":
        # dtypes are hashed once, in the header: per-block records would depend on block size
        h.update(np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).tobytes())
    else:
        # one self-delimited record per value keeps the hash independent of block boundaries
        h.update("".join(f"{v!r}\x1e" for v in values.tolist()).encode())
