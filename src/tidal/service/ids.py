"""The ids of applied learn events, so a retried event is answered, not learned again.

One store per model holds two kinds of key: a client's ``event_id`` (kept as ``"e:" + id``,
so it never meets a prediction id) and the ``prediction_id`` a delayed label was learned for.
Each maps to the log sequence number the event was learned at and the wall-clock second it was
learned, which is what a repeated id is answered with.

Retention bound: the newest ``max_ids`` keys, each for ``max_age`` seconds after it was learned;
a key older or evicted is forgotten, and the same id sent again after that is a new event. The
keys live in the write-ahead log (each logged event carries its ids and time) and in snapshots,
so a restart, or a crash just after an event was logged, keeps them.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from typing import Any

import numpy as np

__all__ = ["EVENT_ID", "LearnedIds", "event_key"]

#: a client's event id: 1-128 printable ASCII characters (the log and answers carry it as is)
EVENT_ID = re.compile(r"[\x21-\x7e]{1,128}")


def event_key(event_id: str) -> str:
    """The store's key of a client event id.

    >>> event_key("order-17")
    'e:order-17'
    """
    return "e:" + event_id


def legacy_key(key: str) -> str:
    """A key as stored before 2026-12-07: the Redis consumer logged ``redis:<stream>:<id>`` as a
    prediction id; it is that entry's event id now.

    >>> legacy_key("redis:events:1-0"), legacy_key("3f2a")
    ('e:redis:events:1-0', '3f2a')
    """
    return event_key(key) if key.startswith("redis:") else key


class LearnedIds:
    """Keys of applied events -> ``(seq, learned at)``, the newest ``max_ids`` for ``max_age``
    seconds.

    >>> ids = LearnedIds(max_ids=2, max_age=60.0)
    >>> ids.put("a", 1, now=100.0); ids.put("b", 2, now=100.0); ids.put("c", 3, now=100.0)
    >>> ids.seq("a", now=100.0), ids.seq("c", now=100.0), ids.seq("c", now=161.0)
    (None, 3, None)
    """

    def __init__(self, max_ids: int = 100_000, max_age: float = 7 * 86400.0) -> None:
        self.max_ids = int(max_ids)
        self.max_age = float(max_age)
        self._d: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return self.seq(key) is not None  # type: ignore[arg-type]

    def items(self) -> list[tuple[str, int]]:
        """``(key, seq)`` of every key kept, oldest first."""
        return [(k, v[0]) for k, v in self._d.items()]

    def seq(self, key: str, now: float | None = None) -> int | None:
        """The sequence number ``key`` was learned at, or None (never, or beyond the bound)."""
        entry = self._d.get(key)
        if entry is None:
            return None
        if (time.time() if now is None else now) - entry[1] > self.max_age:
            return None
        return entry[0]

    def put(self, key: str, seq: int, now: float | None = None) -> None:
        now = time.time() if now is None else float(now)
        self._d[key] = (int(seq), now)
        self._d.move_to_end(key)
        self._trim(now)

    def put_many(self, keys: list[str], seq: int, now: float | None = None) -> None:
        """:meth:`put` for many keys learned at one ``seq`` (one trim, not one per key)."""
        now = time.time() if now is None else float(now)
        entry, d = (int(seq), now), self._d
        for key in keys:
            d[key] = entry
            d.move_to_end(key)
        self._trim(now)

    def _trim(self, now: float) -> None:
        d = self._d
        while len(d) > self.max_ids:
            d.popitem(last=False)
        # oldest first (ids are put in learning order): drop the expired from the front
        limit = now - self.max_age
        while d and next(iter(d.values()))[1] < limit:
            d.popitem(last=False)

    def copy(self) -> dict[str, Any]:
        """What a snapshot keeps: ``{"ids", "seqs", "times"}``, oldest first (call it under the
        model's lock; flat lists copy 3x faster than pairs, and predicts wait for that lock)."""
        values = list(self._d.values())
        return {
            "ids": list(self._d),
            "seqs": np.fromiter((v[0] for v in values), np.int64, len(values)),
            "times": np.fromiter((v[1] for v in values), np.float64, len(values)),
        }

    def load(self, saved: Any) -> None:
        """Put back what :meth:`copy` saved (or the ``[id, seq]`` pairs of snapshots before
        2026-11-26, or ``{"ids", "seqs"}`` before 2026-12-07: learned "now")."""
        now = time.time()
        if isinstance(saved, dict):
            ids, seqs = [legacy_key(k) for k in saved["ids"]], np.asarray(saved["seqs"]).tolist()
            times = np.asarray(saved["times"]).tolist() if "times" in saved else [now] * len(ids)
            self._d.update(zip(ids, zip(seqs, times, strict=True), strict=True))
        else:
            self._d.update((legacy_key(pid), (int(seq), now)) for pid, seq in saved)
        self._trim(now)
