"""Label delay: when each row is predicted and when its label is learned, in exact row order.

A row is predicted when it arrives. Its label becomes available ``delay`` rows later (or
``delay_seconds`` later on the source's time column) and is learned after every row that arrived
before that moment was predicted: with a delay of ``k`` rows, the prediction of row ``j`` has seen
the labels of rows ``0 .. j-k-1``; ``k = 0`` is test-then-train. A label that comes at exactly the
time of a row is learned after that row is predicted. Labels are learned in row order.

The schedule turns a block into operations ``("predict", block)`` and ``("learn", block)`` that
call the learner once per run of consecutive predictions or learns, so the per-row order is exact
whatever the block size.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from tidal.base.exceptions import InputError

__all__ = ["LabelQueue"]


def _seconds(t: np.ndarray) -> np.ndarray:
    if t.dtype.kind == "M":
        return t.astype("datetime64[ns]").astype(np.int64) / 1e9
    try:
        return np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"delay in seconds needs numeric or datetime timestamps, got {t.dtype}"
        ) from None


class LabelQueue:
    """Rows predicted but not yet learned, and the schedule of the next block.

    >>> from tidal.stream import from_arrays
    >>> import numpy as np
    >>> block = next(iter(from_arrays(np.zeros((4, 1)), np.arange(4))))
    >>> [(op, b.start, len(b)) for op, b in LabelQueue(rows=1).schedule(block)]
    [('predict', 0, 2), ('learn', 0, 1), ('predict', 2, 1), ('learn', 1, 1), ('predict', 3, 1)]
    """

    def __init__(self, rows: int = 0, seconds: float | None = None) -> None:
        self.rows = int(rows)
        self.seconds = seconds
        self._pending: deque[Any] = deque()  # blocks of rows waiting for their label
        self._keys: list[np.ndarray] = []  # their availability times (seconds mode)
        self._learned = 0  # rows learned so far (they are learned in row order)
        self._seen = 0
        self._last_time = -np.inf

    def _need(self, block: Any) -> np.ndarray:
        """For each row of ``block``: how many labels were learned before it is predicted."""
        j = np.arange(block.start, block.start + len(block), dtype=np.int64)
        if self.seconds is None:
            return np.maximum(j - self.rows, 0)
        if block.timestamps is None:
            raise InputError(
                "a delay in seconds needs a time column: give the source a time_column"
            )
        t = _seconds(block.timestamps)
        back = np.diff(np.concatenate([[self._last_time], t])) < 0
        if back.any() or np.isnan(t).any():
            i = int(np.argmax(back | np.isnan(t)))
            raise InputError(
                f"time column row {block.start + i}: timestamps must not decrease (got "
                f"{block.timestamps[i]!r}) for a delay in seconds",
                row=block.start + i,
            )
        self._last_time = t[-1]
        keys = np.concatenate(self._keys + [t + self.seconds])
        return self._learned + np.searchsorted(keys, t, side="left")

    def schedule(self, block: Any) -> list[tuple[str, Any]]:
        """The operations for ``block``, in order; updates the queue."""
        if self.rows == 0 and self.seconds is None:
            self._seen += len(block)
            self._learned += len(block)
            return [("step", block)]
        need = self._need(block)
        self._pending.append(block)
        if self.seconds is not None:
            self._keys.append(_seconds(block.timestamps) + self.seconds)
        ops: list[tuple[str, Any]] = []
        cuts = np.concatenate([[0], np.nonzero(np.diff(need))[0] + 1, [len(block)]])
        for a, b in zip(cuts[:-1], cuts[1:]):
            n = int(need[a])
            if n > self._learned:
                ops.extend(("learn", part) for part in self._take(n - self._learned))
            ops.append(("predict", block.slice(int(a), int(b))))
        self._seen += len(block)
        return ops

    def flush(self) -> list[tuple[str, Any]]:
        """Learn every label still pending (the stream ended; the labels still come)."""
        return [("learn", part) for part in self._take(self._seen - self._learned)]

    def _take(self, n: int) -> list[Any]:
        parts = []
        while n > 0:
            head = self._pending[0]
            if len(head) <= n:
                parts.append(self._pending.popleft())
                if self._keys:
                    self._keys.pop(0)
                n -= len(head)
                self._learned += len(head)
            else:
                parts.append(head.slice(0, n))
                self._pending[0] = head.slice(n, len(head))
                if self._keys:
                    self._keys[0] = self._keys[0][n:]
                self._learned += n
                n = 0
        return parts
