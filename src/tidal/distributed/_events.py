"""A batch of learn events in columns, checked once where it enters, and split by row.

An event is ``(event_id, key, features, label)``. The batch keeps them as columns (ids, keys,
one float64 array per feature, labels) so that a shard logs and learns a whole batch at once.
Every value is checked on the way in -- a key of a kind the shard map cannot hash, a feature that
is not a finite number, a missing or repeated field -- so that a bad event is refused before any
shard logs any event of its batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tidal.base import as_array, read_columns, to_float
from tidal.base.exceptions import InputError
from tidal.service.ids import EVENT_ID

__all__ = ["EventBatch", "LearnResult", "read_features"]


def read_features(X: Any, key: str, owner: str) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """``(keys, {feature: finite float64 column}, n rows)`` of any tabular input."""
    cols = read_columns(X)
    if key not in cols.names:
        raise InputError(
            f"{owner}: expected a key column {key!r} in the input, got columns {list(cols.names)}",
            column=key,
        )
    features: dict[str, np.ndarray] = {}
    for j, name in enumerate(cols.names):
        if name == key:
            continue
        col = to_float(np.asarray(cols.column(j)), name, owner)
        bad = ~np.isfinite(col)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                f"{owner}: column {name!r} row {i}: expected a finite number, got {col[i]!r} "
                "(the shards log events as JSON numbers: impute or drop missing values first)",
                column=name,
                row=i,
            )
        features[name] = col
    keys = np.asarray(cols.column(cols.names.index(key)), dtype=object)
    return keys, features, cols.n_rows


def check_ids(event_ids: Any, n: int, owner: str) -> list[str]:
    """Event ids as strings (ints are accepted and written in decimal), one per row."""
    ids = [str(e) if isinstance(e, int | np.integer) else e for e in as_array(event_ids).tolist()]
    if len(ids) != n:
        raise InputError(f"{owner}: {len(ids)} event ids for {n} rows: expected one per row")
    for i, e in enumerate(ids):
        if not isinstance(e, str) or not EVENT_ID.fullmatch(e):
            raise InputError(
                f"{owner}: event_ids row {i}: expected 1-128 printable ASCII characters "
                f"(or an int), got {e!r}",
                column="event_ids",
                row=i,
            )
    return ids


@dataclass
class EventBatch:
    """Learn events in columns: ``ids[i]``, ``keys[i]``, ``X[name][i]``, ``y[i]``.

    >>> b = EventBatch.read({"k": ["a", "b"], "x": [1, 2]}, [0.5, 1.5], ["e1", "e2"], key="k")
    >>> b.take(np.array([1])).ids, b.take(np.array([1])).X["x"].tolist()
    (['e2'], [2.0])
    """

    ids: list[str]
    keys: np.ndarray  # object: plain str / int / float / bool
    X: dict[str, np.ndarray]  # float64, finite
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def read(
        cls, X: Any, y: Any, event_ids: Any, key: str, owner: str = "KeyedCluster"
    ) -> EventBatch:
        keys, features, n = read_features(X, key, owner)
        yv = as_array(y)
        if yv.ndim != 1 or len(yv) != n:
            raise InputError(f"{owner}: {n} rows but labels of shape {yv.shape}: expected ({n},)")
        if yv.dtype.kind == "f" and not np.isfinite(yv).all():
            i = int(np.argmax(~np.isfinite(yv)))
            raise InputError(f"{owner}: y row {i}: expected a finite label, got {yv[i]!r}", row=i)
        # labels as the log gives them back (plain Python values): live and replay see one dtype
        y_plain = np.asarray(yv.tolist())
        return cls(check_ids(event_ids, n, owner), keys, features, y_plain)

    def take(self, rows: np.ndarray) -> EventBatch:
        return EventBatch(
            [self.ids[i] for i in rows],
            self.keys[rows],
            {name: col[rows] for name, col in self.X.items()},
            self.y[rows],
        )


@dataclass
class LearnResult:
    """Per event: ``applied`` (False: a duplicate of an event id already applied, answered with
    its recorded outcome and learned again by no one) and the prediction made before learning.

    >>> r = LearnResult(np.array([True, False]), np.array([0.0, 0.0]))
    >>> r.n_applied, r.n_duplicates
    (1, 1)
    """

    applied: np.ndarray
    predictions: np.ndarray

    @property
    def n_applied(self) -> int:
        return int(self.applied.sum())

    @property
    def n_duplicates(self) -> int:
        return int((~self.applied).sum())

    @staticmethod
    def assemble(parts: list[tuple[np.ndarray, LearnResult]], n: int) -> LearnResult:
        """Per-shard results put back in row order."""
        applied = np.zeros(n, dtype=bool)
        preds: list[Any] = [None] * n
        for rows, part in parts:
            applied[rows] = part.applied
            for i, p in zip(rows.tolist(), part.predictions.tolist(), strict=True):
                preds[i] = p
        return LearnResult(applied, np.asarray(preds))
