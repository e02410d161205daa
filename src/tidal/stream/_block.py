"""The unit of data that flows through tidal: a block of rows in columnar numpy form."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["Block", "concat_blocks"]


class Block:
    """A block of consecutive rows of a stream.

    ``X`` holds every feature as float64; a categorical column holds codes, and code ``i``
    stands for ``categories[column][i]`` (codes are assigned in order of first appearance and
    stay the same in every block of a source; a missing value is NaN).

    Parameters
    ----------
    X
        Feature matrix, shape (n, m), float64.
    feature_names
        The m column names.
    categories
        Column name -> list of values, for categorical columns only.
    y
        Target values (any dtype) or None.
    ids, timestamps
        Optional per-row identifiers and times.
    start
        Position in the stream of the first row.
    target
        Name of the target column (used by :meth:`to_pandas`).
    bad
        Cells a reader could not read as their column's type, kept for the guards:
        ``{row in block: {column: original value}}`` (their value in ``X`` is NaN), or None.

    >>> import numpy as np
    >>> b = Block(np.array([[1.0, 0.0], [2.0, 1.0]]), ("size", "colour"),
    ...           categories={"colour": ["red", "blue"]}, y=np.array([0, 1]), target="y")
    >>> len(b), b.features()["colour"].tolist()
    (2, ['red', 'blue'])
    >>> list(b.rows())[1]
    ({'size': 2.0, 'colour': 'blue'}, 1)
    >>> b.slice(1, 2).start
    1
    """

    __slots__ = (
        "X",
        "feature_names",
        "categories",
        "y",
        "ids",
        "timestamps",
        "start",
        "target",
        "bad",
    )

    def __init__(
        self,
        X: np.ndarray,
        feature_names: Sequence[str],
        *,
        categories: Mapping[str, list[Any]] | None = None,
        y: np.ndarray | None = None,
        ids: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        start: int = 0,
        target: str | None = None,
        bad: dict[int, dict[str, Any]] | None = None,
    ):
        self.X = X
        self.bad = bad or None
        self.feature_names = tuple(feature_names)
        self.categories = dict(categories or {})
        self.y = y
        self.ids = ids
        self.timestamps = timestamps
        self.start = start
        self.target = target

    def __len__(self) -> int:
        return self.X.shape[0]

    def __repr__(self) -> str:
        return (
            f"Block(rows {self.start}..{self.start + len(self)}, "
            f"{len(self.feature_names)} features, target={self.target!r})"
        )

    def features(self) -> dict[str, np.ndarray]:
        """Column name -> values: float64 for numeric columns, original values (object) else."""
        out: dict[str, np.ndarray] = {}
        for j, name in enumerate(self.feature_names):
            column = self.X[:, j]
            values = self.categories.get(name)
            out[name] = column if values is None else decode(column, values)
        return out

    def rows(self) -> Iterator[tuple[dict[str, Any], Any]]:
        """Yield ``(x, y)`` one row at a time, with plain Python scalars."""
        cols = [c.tolist() for c in self.features().values()]
        names = self.feature_names
        ys = self.y.tolist() if self.y is not None else [None] * len(self)
        for i, y in enumerate(ys):
            yield {name: col[i] for name, col in zip(names, cols)}, y

    def slice(self, a: int, b: int) -> Block:
        """Rows ``a`` to ``b`` (exclusive) of this block, as a new Block (arrays are views)."""
        a, b, _ = slice(a, b).indices(len(self))
        return Block(
            self.X[a:b],
            self.feature_names,
            categories=self.categories,
            y=None if self.y is None else self.y[a:b],
            ids=None if self.ids is None else self.ids[a:b],
            timestamps=None if self.timestamps is None else self.timestamps[a:b],
            start=self.start + a,
            target=self.target,
            bad=None if not self.bad else {i - a: v for i, v in self.bad.items() if a <= i < b},
        )

    def to_pandas(self) -> Any:
        """A pandas DataFrame of the features (original values) and the target, if any."""
        import pandas as pd

        index = pd.RangeIndex(self.start, self.start + len(self))
        # object dtype keeps None as None (pandas would turn it into NaN in a string column)
        data = {k: pd.Series(v, index=index, dtype=v.dtype) for k, v in self.features().items()}
        if self.y is not None:
            data[self.target or "y"] = pd.Series(self.y, index=index, dtype=self.y.dtype)
        return pd.DataFrame(data, index=index)


def decode(codes: np.ndarray, values: list[Any]) -> np.ndarray:
    """Map float codes back to the original values (NaN -> None)."""
    table = np.empty(len(values) + 1, dtype=object)
    table[: len(values)] = values
    table[-1] = None
    idx = np.where(np.isnan(codes), len(values), codes).astype(np.intp)
    return table[idx]


def _cat(parts: list[np.ndarray | None]) -> np.ndarray | None:
    if parts[0] is None:
        return None
    return np.concatenate(parts)  # type: ignore[arg-type]


def concat_blocks(blocks: list[Block]) -> Block:
    """Join consecutive blocks of one source (categories of the last block cover all codes)."""
    if len(blocks) == 1:
        return blocks[0]
    first, last = blocks[0], blocks[-1]
    bad: dict[int, dict[str, Any]] = {}
    offset = 0
    for b in blocks:
        bad.update({offset + i: v for i, v in (b.bad or {}).items()})
        offset += len(b)
    return Block(
        np.concatenate([b.X for b in blocks]),
        first.feature_names,
        categories=last.categories,
        y=_cat([b.y for b in blocks]),
        ids=_cat([b.ids for b in blocks]),
        timestamps=_cat([b.timestamps for b in blocks]),
        start=first.start,
        target=first.target,
        bad=bad,
    )
