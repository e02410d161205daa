"""An append-only write-ahead log of learn events, with group commit and torn-tail recovery.

On disk, a log is a folder of segments named by the first sequence number they hold
(``00000000000000000001.wal``). A segment is a run of records::

    u32 length | u32 crc32 | u64 first_seq | u32 count | payload (compact JSON, `length` bytes)

The CRC covers ``first_seq``, ``count`` and the payload. A record holds one batch of ``count``
events (one learn request), numbered ``first_seq .. first_seq + count - 1``, so a request is
durable all or nothing: a crash can tear the last record, never half a request.

Appends are group-committed: :meth:`WriteAheadLog.submit` numbers the events and queues them
(cheap, callable under the caller's own lock, so the log order is the order the caller applied
them in); one writer thread writes everything queued and fsyncs once; :meth:`WriteAheadLog.wait`
returns when a sequence number is on disk. :meth:`WriteAheadLog.append_many` does both.

Opening a log reads every segment up to the last complete, valid record and truncates a torn
tail; :meth:`WriteAheadLog.compact` deletes segments wholly covered by a snapshot.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["WalError", "WriteAheadLog"]

_HEADER = struct.Struct("<IIQI")
_CRC_PART = struct.Struct("<QI")
_SUFFIX = ".wal"
#: a record claiming more than this is corruption, not data (requests are capped far below)
_MAX_RECORD = 1 << 30


class WalError(OSError):
    """The write-ahead log could not be written or read (the message names the file).

    >>> import tempfile
    >>> log = WriteAheadLog(tempfile.mkdtemp())
    >>> log.close()
    >>> log.append_many([{"y": 1}])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tidal.service.wal.WalError: ...: the log is closed
    """


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _record(first_seq: int, count: int, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(_CRC_PART.pack(first_seq, count)))
    return _HEADER.pack(len(payload), crc, first_seq, count) + payload


def _scan(data: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    """Valid records in ``data`` as (offset after it, first_seq, count, payload); stops at the
    first incomplete or corrupt record."""
    pos = 0
    while pos + _HEADER.size <= len(data):
        length, crc, first, count = _HEADER.unpack_from(data, pos)
        end = pos + _HEADER.size + length
        if length > _MAX_RECORD or end > len(data):
            return
        payload = data[pos + _HEADER.size : end]
        if zlib.crc32(payload, zlib.crc32(_CRC_PART.pack(first, count))) != crc:
            return
        yield end, first, count, payload
        pos = end


class WriteAheadLog:
    """A durable, numbered log of events (any JSON values) in the folder ``path``.

    >>> import tempfile
    >>> log = WriteAheadLog(tempfile.mkdtemp())
    >>> log.append_many([{"x": {"a": 1.0}, "y": 1}, {"x": {"a": 2.0}, "y": 0}])
    2
    >>> log.close()
    >>> log = WriteAheadLog(log.path)  # reopening recovers what was acknowledged
    >>> [(seq, event["y"]) for seq, event in log.replay(after=0)], log.last_seq
    ([(1, 1), (2, 0)], 2)
    >>> log.close()
    """

    def __init__(
        self,
        path: str | Path,
        *,
        segment_bytes: int = 64 << 20,
        start_seq: int = 0,
        on_fsync: Callable[[float, int], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = int(segment_bytes)
        self._on_fsync = on_fsync
        self._cond = threading.Condition()
        self._queue: list[tuple[int, int, bytes]] = []
        self._error: BaseException | None = None
        self._closed = False
        self._segments = self._recover()
        last = self._last_on_disk
        # a snapshot may cover more than the log holds (segments compacted away)
        self._next_seq = max(last, int(start_seq)) + 1
        self._durable = self._next_seq - 1
        if not self._segments or last < start_seq:
            self._roll(self._next_seq)
        self._fh = open(self._segments[-1], "ab")  # noqa: SIM115 (closed in close())
        self._writer = threading.Thread(target=self._write_loop, name="tidal-wal", daemon=True)
        self._writer.start()

    # ------------------------------------------------------------------ recovery
    def _recover(self) -> list[Path]:
        segments = sorted(self.path.glob(f"*{_SUFFIX}"), key=lambda p: int(p.stem))
        self._last_on_disk = 0
        for i, seg in enumerate(segments):
            data = seg.read_bytes()
            end = 0
            expected = int(seg.stem)
            for end, first, count, _ in _scan(data):  # noqa: B007 (end is used below)
                if first != expected:
                    raise WalError(
                        f"{seg}: record numbered {first}, expected {expected}: the log is "
                        "corrupt (segments missing or edited)"
                    )
                expected = first + count
            if end < len(data):
                if i != len(segments) - 1:
                    raise WalError(
                        f"{seg}: corrupt record at byte {end} in a segment that is not the "
                        "last one; only the tail of the last segment can be torn by a crash"
                    )
                with open(seg, "r+b") as fh:  # a torn tail: the write was never acknowledged
                    fh.truncate(end)
                    os.fsync(fh.fileno())
            self._last_on_disk = max(self._last_on_disk, expected - 1)
        return segments

    def replay(self, after: int = 0) -> Iterator[tuple[int, Any]]:
        """The events numbered after ``after``, in order, as ``(seq, event)``.

        Reads what is on disk; call it before appending (at recovery), not concurrently.
        """
        for _, first, _count, payload in self._records(after):
            for k, event in enumerate(json.loads(payload)):
                if first + k > after:
                    yield first + k, event

    def replay_batches(self, after: int = 0) -> Iterator[tuple[int, list[Any]]]:
        """Like :meth:`replay`, one batch (one append) at a time: ``(first_seq, events)``."""
        for _, first, _count, payload in self._records(after):
            events = json.loads(payload)
            skip = max(0, after + 1 - first)
            if skip < len(events):
                yield first + skip, events[skip:]

    def _records(self, after: int) -> Iterator[tuple[int, int, int, bytes]]:
        segs = list(self._segments)
        for i, seg in enumerate(segs):
            if i + 1 < len(segs) and int(segs[i + 1].stem) <= after + 1:
                continue  # wholly before `after`
            for rec in _scan(seg.read_bytes()):
                if rec[1] + rec[2] - 1 > after:
                    yield rec

    # ------------------------------------------------------------------ appending
    @property
    def last_seq(self) -> int:
        """The number of the last event submitted (durable or not)."""
        return self._next_seq - 1

    @property
    def durable_seq(self) -> int:
        """The number of the last event known to be on disk."""
        return self._durable

    def submit(self, events: list[Any]) -> int:
        """Number and queue ``events``; returns the last number. Does not wait for the disk."""
        if not events:
            return self._next_seq - 1
        # encoded here, once: a value JSON cannot hold fails in the caller, before numbering
        payload = json.dumps(events, separators=(",", ":"), allow_nan=False).encode()
        with self._cond:
            if self._error is not None:
                raise WalError(f"{self.path}: the log failed earlier: {self._error}")
            if self._closed:
                raise WalError(f"{self.path}: the log is closed")
            first = self._next_seq
            self._next_seq += len(events)
            self._queue.append((first, len(events), payload))
            self._cond.notify_all()
            return self._next_seq - 1

    def wait(self, seq: int, timeout: float | None = None) -> None:
        """Block until every event up to ``seq`` is on disk (fsynced)."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: self._durable >= seq or self._error is not None, timeout
            )
            if self._durable >= seq:
                return
            if self._error is not None:
                raise WalError(f"{self.path}: write failed: {self._error}") from self._error
            if not ok:
                raise WalError(f"{self.path}: seq {seq} not on disk after {timeout} s")

    def append_many(self, events: list[Any]) -> int:
        """Append ``events`` and return the last sequence number once they are on disk."""
        seq = self.submit(events)
        self.wait(seq)
        return seq

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                batch, self._queue = self._queue, []
                if not batch and self._closed:
                    return
            try:
                for first, count, payload in batch:
                    if self._fh.tell() >= self.segment_bytes:
                        self._fh.flush()
                        os.fsync(self._fh.fileno())
                        self._fh.close()
                        self._roll(first)
                        self._fh = open(self._segments[-1], "ab")  # noqa: SIM115
                    self._fh.write(_record(first, count, payload))
                self._fh.flush()
                t0 = time.perf_counter()
                os.fsync(self._fh.fileno())
                if self._on_fsync is not None:
                    self._on_fsync(time.perf_counter() - t0, len(batch))
            except BaseException as e:  # noqa: BLE001 (every waiter must hear about it)
                with self._cond:
                    self._error = e
                    self._cond.notify_all()
                return
            with self._cond:
                last_first, last_count, _ = batch[-1]
                self._durable = last_first + last_count - 1
                self._cond.notify_all()

    def _roll(self, first_seq: int) -> None:
        seg = self.path / f"{first_seq:020d}{_SUFFIX}"
        seg.touch()
        _fsync_dir(self.path)
        with self._cond:  # compact() replaces the list concurrently
            self._segments.append(seg)

    # ------------------------------------------------------------------ compaction
    def compact(self, covered_seq: int) -> int:
        """Delete segments whose events are all ``<= covered_seq`` (kept in a snapshot).

        The segment being written is never deleted. Returns how many segments were deleted.
        """
        with self._cond:
            segs = list(self._segments)
        deleted = 0
        for seg, nxt in zip(segs[:-1], segs[1:], strict=False):
            if int(nxt.stem) - 1 > covered_seq:
                break
            seg.unlink(missing_ok=True)
            deleted += 1
        if deleted:
            with self._cond:
                self._segments = self._segments[deleted:]
            _fsync_dir(self.path)
        return deleted

    @property
    def segments(self) -> list[Path]:
        """The segment files, oldest first."""
        return list(self._segments)

    def close(self) -> None:
        """Write and fsync everything queued, then stop the writer thread."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self._writer.join()
        self._fh.close()
