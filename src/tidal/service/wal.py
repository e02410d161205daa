"""An append-only write-ahead log of learn events, with group commit and torn-tail recovery.

On disk, a log is a folder of segments named by the first sequence number they hold
(``00000000000000000001.wal``). A segment is a run of records framed with a length and
checksums (:mod:`tidal.service.walscan`); a record holds one batch of ``count`` events (one
learn request), numbered ``first_seq .. first_seq + count - 1``, so a request is durable all or
nothing: a crash can tear the last record, never half a request.

Appends are group-committed: :meth:`WriteAheadLog.submit` numbers the events and queues them
(cheap, callable under the caller's own lock, so the log order is the order the caller applied
them in); one writer thread writes everything queued and fsyncs once; :meth:`WriteAheadLog.wait`
returns when a sequence number is on disk. :meth:`WriteAheadLog.append_many` does both.

Opening a log reads every segment (:func:`tidal.service.recovery.scan_log`), truncates a torn
tail (the one write a crash cut short, never acknowledged) and refuses, with
:class:`tidal.service.recovery.DataLossError` naming file, offset and events, any other damage
that loses events after ``start_seq``: a damaged record is never dropped with the valid records
after it. :meth:`WriteAheadLog.compact` deletes segments wholly covered by a snapshot.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tidal.base import TidalError
from tidal.service.walscan import payload_of, read_segment, record_bytes

__all__ = ["WalError", "WriteAheadLog"]

_SUFFIX = ".wal"
log = logging.getLogger("tidal.service")


class WalError(TidalError, OSError):
    """The write-ahead log could not be written or read (the message names the file).

    >>> import tempfile
    >>> log = WriteAheadLog(tempfile.mkdtemp())
    >>> log.close()
    >>> log.append_many([{"y": 1}])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tidal.service.wal.WalError: ...: the log is closed
    """


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (mode 0600) so that a crash leaves the old file or the new
    one, never half of one: a temporary file, fsynced, renamed, the folder fsynced."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
        scan: Any = None,
    ) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = int(segment_bytes)
        self._on_fsync = on_fsync
        self._cond = threading.Condition()
        self._queue: list[tuple[int, int, bytes]] = []
        self._error: BaseException | None = None
        self._closed = False
        from tidal.service.recovery import scan_log

        scan = scan if scan is not None else scan_log(self.path)
        self._segments = self._recover(scan, int(start_seq))
        last = self._last_on_disk
        # a snapshot may cover more than the log holds (segments compacted away)
        self._next_seq = max(last, int(start_seq)) + 1
        self._durable = self._next_seq - 1
        if not self._segments or last < start_seq or self._damaged_tail:
            self._roll(self._next_seq)
        elif scan.head != int(self._segments[-1].stem):
            self._write_head(int(self._segments[-1].stem))
        self._fh = open(self._segments[-1], "ab")  # noqa: SIM115 (closed in close())
        self._writer = threading.Thread(target=self._write_loop, name="tidal-wal", daemon=True)
        self._writer.start()

    # ------------------------------------------------------------------ recovery
    def _recover(self, scan: Any, start_seq: int) -> list[Path]:
        """Check the segments (``scan``: already read by the caller, or read now), refuse a
        loss after ``start_seq``, truncate a torn tail; returns the segments, oldest first.
        A last segment with damage before its end (covered by a snapshot) is not appended to:
        the next write opens a new segment."""
        from tidal.service.recovery import DataLossError

        if not scan.checked:
            losses = scan.losses(start_seq)
            if losses:
                raise DataLossError(self.path.name, losses, self.path.parent.parent)
        segments = list(scan.segments)
        self._last_on_disk = scan.last_seq
        self._damaged_tail = False
        if segments:
            last = scan.scans[segments[-1]]
            torn = last.torn
            if torn is not None:
                log.warning(
                    "%s: torn tail at byte %d (%d bytes%s): a write a crash cut short, never "
                    "acknowledged; truncated",
                    segments[-1],
                    torn.start,
                    torn.end - torn.start,
                    f", events {torn.seqs[0]}..{torn.seqs[1]}" if torn.seqs else "",
                )
                with open(segments[-1], "r+b") as fh:
                    fh.truncate(torn.start)
                    os.fsync(fh.fileno())
            # format-1 records are never followed by format-2 ones in one file: a new segment
            self._damaged_tail = last.v1 or any(not d.torn for d in last.damage)
        return segments

    def replay(self, after: int = 0) -> Iterator[tuple[int, Any]]:
        """The events numbered after ``after``, in order, as ``(seq, event)``.

        Reads what is on disk; call it before appending (at recovery), not concurrently.
        """
        for first, _count, payload in self._records(after):
            for k, event in enumerate(json.loads(payload)):
                if first + k > after:
                    yield first + k, event

    def replay_batches(self, after: int = 0) -> Iterator[tuple[int, list[Any]]]:
        """Like :meth:`replay`, one batch (one append) at a time: ``(first_seq, events)``."""
        for first, _count, payload in self._records(after):
            events = json.loads(payload)
            skip = max(0, after + 1 - first)
            if skip < len(events):
                yield first + skip, events[skip:]

    def _records(self, after: int) -> Iterator[tuple[int, int, bytes]]:
        """``(first_seq, count, payload)`` of the valid records holding events after
        ``after``, in order (damage the recovery checked is skipped)."""
        # every segment is read: skipping by name would trust names that damage can swap
        # (the recovery checked that the records, read in this order, follow each other)
        for seg in list(self._segments):
            data, scan = read_segment(seg)
            for rec in scan.records:
                if rec[2] + rec[3] - 1 > after:
                    yield rec[2], rec[3], payload_of(data, rec, scan.v1)

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
                    self._fh.write(record_bytes(first, count, payload))
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
        seg.touch(mode=0o600)
        _fsync_dir(self.path)
        self._write_head(first_seq)
        with self._cond:  # compact() replaces the list concurrently
            self._segments.append(seg)

    def _write_head(self, first_seq: int) -> None:
        """Name the newest segment in ``HEAD`` (atomically): a deleted last segment leaves no
        other trace, and must not pass for a log that simply ends earlier."""
        write_atomic(self.path / "HEAD", f"{first_seq}\n".encode())

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
