"""Label codes for the confusion-count metrics: labels become 0, 1, 2... in order of appearance."""

from __future__ import annotations

from typing import Any

import numpy as np


def _key(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


class LabelIndex:
    """Maps labels to int64 codes; ``None`` / NaN (no prediction) map to -1.

    >>> idx = LabelIndex()
    >>> idx.encode(np.array(["b", "a", None, "b"], dtype=object)).tolist()
    [0, 1, -1, 0]
    >>> idx.labels
    ['b', 'a']
    """

    def __init__(self) -> None:
        self.labels: list[Any] = []
        self._index: dict[Any, int] = {}

    def __len__(self) -> int:
        return len(self.labels)

    def code(self, label: Any) -> int:
        """The code of ``label``, registering it when new."""
        key = _key(label)
        c = self._index.get(key)
        if c is None:
            c = self._index[key] = len(self.labels)
            self.labels.append(key)
        return c

    def encode(self, values: np.ndarray) -> np.ndarray:
        if values.dtype.kind in "biu" or (values.dtype.kind == "f" and np.isfinite(values).all()):
            uniq, first, inverse = np.unique(values, return_index=True, return_inverse=True)
            lookup = np.empty(len(uniq), dtype=np.int64)
            for j in np.argsort(first, kind="stable"):  # codes follow the order of appearance
                lookup[j] = self.code(uniq[j])
            return lookup[inverse]
        out = np.empty(len(values), dtype=np.int64)
        index = self._index
        for i, v in enumerate(values):
            c = index.get(v) if not isinstance(v, np.generic) else None
            if c is None:
                c = -1 if _missing(v) else self.code(v)
            out[i] = c
        return out
