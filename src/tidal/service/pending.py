"""Predictions kept for delayed labels, in memory and in a journal, so they outlive the process.

Each predict request keeps its rows by prediction id (``<base><index in hex>``, one random
``base`` per request) in memory, bounded: the newest ``max_items`` ids, each for ``ttl``
seconds. The same rows go to a journal, ``<folder>/<created, ms>.jsonl``, one line per request
(``{"b": base, "t": unix time, "r": rows}``), written with one unbuffered ``write`` before the
prediction is answered: the line is in the operating system's hands before the client has the
id, so a process crash, a kill or a restart keeps it. The journal is fsynced at most every
``fsync_seconds`` (a power loss may forget the predictions of that last stretch: a label for
one is then refused like any label beyond the retention bound, never learned wrongly).

At start the journal is read back within the same bound (lines older than ``ttl``, ids beyond
the newest ``max_items``, and ids already labelled are left out; a torn last line is skipped).
Journal files are rotated at ``segment_bytes`` and deleted once every id in them is past the
bound.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["PendingPredictions", "new_base", "prediction_ids"]


def new_base() -> str:
    """A random base for the ids of one request: one draw per request keeps ids unique across
    restarts and cheap per row."""
    return uuid.uuid4().hex[:20]


def prediction_ids(base: str, n: int) -> list[str]:
    """The ids of a request's ``n`` rows: ``base`` and the row's index in hex.

    >>> prediction_ids("ab", 11)[9:]
    ['ab9', 'aba']
    """
    return [f"{base}{i:x}" for i in range(n)]


class PendingPredictions:
    """Prediction id -> ``(row, monotonic time)``, bounded, journaled in ``folder``.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> p = PendingPredictions(folder, max_items=10, ttl=60.0)
    >>> p.keep("ab", [{"x": 1.0}, {"x": 2.0}])
    ['ab0', 'ab1']
    >>> p.close()
    >>> again = PendingPredictions(folder, max_items=10, ttl=60.0)
    >>> again.get("ab1")[0], len(again)
    ({'x': 2.0}, 2)
    >>> again.close()
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        max_items: int,
        ttl: float,
        skip: Callable[[str], bool] = lambda pid: False,
        segment_bytes: int = 16 << 20,
        fsync_seconds: float = 1.0,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.max_items = int(max_items)
        self.ttl = float(ttl)
        self.segment_bytes = int(segment_bytes)
        self.fsync_seconds = float(fsync_seconds)
        self._mem: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self._io = threading.Lock()
        self._counts: dict[Path, int] = {}  # journal file -> ids written to it
        self._load(skip)
        self._fd = -1
        self._open_new()
        self._synced = time.monotonic()

    # ------------------------------------------------------------------ memory
    def __len__(self) -> int:
        return len(self._mem)

    def __contains__(self, pid: object) -> bool:
        return pid in self._mem

    def get(self, pid: str) -> tuple[Any, float] | None:
        """``(row, monotonic time kept)`` or None (never kept, evicted, or labelled)."""
        return self._mem.get(pid)

    def items(self) -> list[tuple[str, tuple[Any, float]]]:
        """``(id, (row, monotonic time))`` of every id kept, oldest first."""
        return list(self._mem.items())

    def newest_row(self) -> Any:
        """The row of the newest prediction kept (None if none)."""
        entry = next(reversed(self._mem.values()), None)
        return entry[0] if entry is not None else None

    def pop(self, pid: str) -> None:
        self._mem.pop(pid, None)

    def remember(self, base: str, rows: list[Any], now: float | None = None) -> list[str]:
        """Keep ``rows`` in memory under ids ``base + hex(i)``; returns the ids. Call it under
        the model's lock (the dict is not thread-safe); :meth:`journal` writes them."""
        now = time.monotonic() if now is None else now
        ids = prediction_ids(base, len(rows))
        mem = self._mem
        mem.update(zip(ids, ((row, now) for row in rows)))
        while len(mem) > self.max_items:
            mem.popitem(last=False)
        return ids

    def keep(self, base: str, rows: list[Any]) -> list[str]:
        """:meth:`remember` and :meth:`journal` in one call (single-threaded callers)."""
        ids = self.remember(base, rows)
        self.journal(base, rows)
        return ids

    # ------------------------------------------------------------------ journal
    def journal(self, base: str, rows: list[Any]) -> None:
        """Write one request's rows to the journal (one ``write``, no Python buffer)."""
        line = json.dumps({"b": base, "t": round(time.time(), 3), "r": rows}, separators=(",", ":"))
        data = (line + "\n").encode()
        with self._io:
            if self._fd < 0:
                return  # closed
            os.write(self._fd, data)
            self._counts[self._path] += len(rows)
            self._size += len(data)
            if self._size >= self.segment_bytes:
                self._rotate()
            elif time.monotonic() - self._synced >= self.fsync_seconds:
                os.fsync(self._fd)
                self._synced = time.monotonic()

    def _open_new(self) -> None:
        name = f"{int(time.time() * 1000):015d}.jsonl"
        path = self.folder / name
        while path in self._counts:  # two rotations within one millisecond
            path = path.with_name(f"{int(path.stem) + 1:015d}.jsonl")
        self._path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._counts[path] = 0
        self._size = 0

    def _rotate(self) -> None:
        os.fsync(self._fd)
        os.close(self._fd)
        self._open_new()
        # a file goes once the newer ones hold max_items ids, or its newest line is past ttl
        newer, limit = 0, time.time() - self.ttl
        for path in sorted(self._counts, reverse=True):
            if path == self._path:
                newer += self._counts[path]
                continue
            stale = newer >= self.max_items or path.stat().st_mtime < limit
            if stale:
                path.unlink(missing_ok=True)
                del self._counts[path]
            else:
                newer += self._counts[path]

    def _load(self, skip: Callable[[str], bool]) -> None:
        files = sorted(self.folder.glob("*.jsonl"))
        now_wall, now = time.time(), time.monotonic()
        for path in files:
            n = 0
            for line in path.read_bytes().splitlines():
                try:
                    rec = json.loads(line)
                    base, t, rows = rec["b"], float(rec["t"]), rec["r"]
                except (ValueError, KeyError, TypeError):
                    continue  # a line a crash cut short
                n += len(rows)
                age = now_wall - t
                if age > self.ttl:
                    continue
                for pid, row in zip(prediction_ids(base, len(rows)), rows, strict=True):
                    if not skip(pid):
                        self._mem[pid] = (row, now - age)
            self._counts[path] = n
        while len(self._mem) > self.max_items:
            self._mem.popitem(last=False)

    def close(self) -> None:
        """Fsync and close the journal (the ids stay readable at the next start)."""
        with self._io:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1
