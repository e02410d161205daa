"""Reading write-ahead-log segments back: every valid record, and every damaged byte range.

A record (format 2, written since 2026-12-07)::

    magic (4) | u32 length | u64 first_seq | u32 count | u32 header crc32 | u32 payload crc32
    | payload (compact ASCII JSON, ``length`` bytes)

The header's CRC covers magic, length, first_seq and count, so a damaged length is seen as
damage, not mistaken for a torn write; the magic holds bytes ASCII JSON never has, so after a
damaged record the scan finds the next valid one (:func:`scan_segment` resynchronises) instead
of dropping every record after it. What is torn, and what is damaged:

* torn: the segment ends inside a record whose header is whole and valid, or inside a header
  (or in zeros): a write that a crash cut short, never acknowledged (the fsync came after it);
* damaged: anything else that is not a valid record -- a bad checksum, a bad header, a
  complete record whose payload does not match -- wherever it is.

Segments of format 1 (``u32 length | u32 crc32 | u64 first_seq | u32 count | payload``) are
still read, as before: valid records up to the first bad one.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MAGIC", "Damage", "SegmentScan", "payload_of", "record_bytes", "scan_segment"]

#: never in ASCII JSON, rare in binary headers: where a record may start
MAGIC = b"\xf7\xe1\x1d\xa9"
_HEAD = struct.Struct("<4sIQI")  # magic, length, first_seq, count (header CRC covers these)
_CRCS = struct.Struct("<II")  # header crc32, payload crc32
HEADER_SIZE = _HEAD.size + _CRCS.size
#: a record claiming more than this is corruption, not data (requests are capped far below)
MAX_RECORD = 1 << 30
_V1_HEADER = struct.Struct("<IIQI")
_V1_CRC_PART = struct.Struct("<QI")


def record_bytes(first_seq: int, count: int, payload: bytes) -> bytes:
    """One record, framed.

    >>> rec = record_bytes(5, 2, b"[1,2]")
    >>> scan_segment(rec).records[0][2:4], len(rec)
    ((5, 2), 33)
    """
    head = _HEAD.pack(MAGIC, len(payload), first_seq, count)
    return head + _CRCS.pack(zlib.crc32(head), zlib.crc32(payload)) + payload


@dataclass
class Damage:
    """Bytes ``start..end`` of a segment that are not valid records. ``seqs`` is the range of
    events a still-readable header says they held (None when it cannot be read); ``torn`` is
    True for a cut-short write at the end of a segment."""

    start: int
    end: int
    torn: bool = False
    seqs: tuple[int, int] | None = None


@dataclass
class SegmentScan:
    """What one segment holds: ``records`` as ``(start, end, first_seq, count)`` tuples, in
    file order, and ``damage``."""

    records: list[tuple[int, int, int, int]] = field(default_factory=list)
    damage: list[Damage] = field(default_factory=list)
    v1: bool = False

    @property
    def torn(self) -> Damage | None:
        """The torn tail, if the segment ends in one."""
        return self.damage[-1] if self.damage and self.damage[-1].torn else None


def _at(data: bytes, pos: int) -> tuple[str, int, int, int]:
    """``(kind, end, first, count)`` of the record at ``pos``; kind is "ok", "torn" (valid
    header, the data ends inside the payload), "short" (the data ends inside a header) or
    "bad"."""
    n = len(data)
    if n - pos < HEADER_SIZE:
        return "short", n, 0, 0
    magic, length, first, count = _HEAD.unpack_from(data, pos)
    hcrc, pcrc = _CRCS.unpack_from(data, pos + _HEAD.size)
    if magic != MAGIC or zlib.crc32(data[pos : pos + _HEAD.size]) != hcrc or length > MAX_RECORD:
        return "bad", 0, 0, 0
    end = pos + HEADER_SIZE + length
    if end > n:
        return "torn", n, first, count
    if zlib.crc32(data[pos + HEADER_SIZE : end]) != pcrc:
        return "bad", end, first, count
    return "ok", end, first, count


def _next_record(data: bytes, pos: int) -> int | None:
    """The start of the next valid record after ``pos``, if any."""
    while (pos := data.find(MAGIC, pos + 1)) >= 0:
        if _at(data, pos)[0] == "ok":
            return pos
    return None


def scan_segment(data: bytes) -> SegmentScan:
    """Every valid record of a segment's bytes and every damaged range between or after them.

    >>> good = record_bytes(1, 1, b"[1]") + record_bytes(2, 2, b"[2,3]")
    >>> bad = bytearray(good); bad[30] ^= 1  # a flipped bit in the first record's payload
    >>> scan = scan_segment(bytes(bad))
    >>> [r[2] for r in scan.records], scan.damage
    ([2], [Damage(start=0, end=31, torn=False, seqs=(1, 1))])
    >>> scan_segment(good[:-2]).torn  # cut short inside the second record
    Damage(start=31, end=62, torn=True, seqs=(2, 3))
    """
    if data and not data.startswith(MAGIC):
        v1 = _scan_v1(data)
        if v1 is not None:
            return v1
    scan = SegmentScan()
    pos, n = 0, len(data)
    while pos < n:
        kind, end, first, count = _at(data, pos)
        if kind == "ok":
            scan.records.append((pos, end, first, count))
            pos = end
            continue
        nxt = _next_record(data, pos)
        seqs = (first, first + count - 1) if kind in ("torn", "bad") and end else None
        if nxt is None:
            torn = kind == "torn" or (kind == "short" and _prefix_of_header(data[pos:]))
            torn = torn or not data[pos:].strip(b"\0")
            scan.damage.append(Damage(pos, n, torn, seqs))
            break
        scan.damage.append(Damage(pos, nxt, False, seqs))
        pos = nxt
    return scan


def _prefix_of_header(tail: bytes) -> bool:
    """Could ``tail`` be the start of a header cut short? (its magic, as far as it goes)"""
    return MAGIC.startswith(tail[:4])


def _scan_v1(data: bytes) -> SegmentScan | None:
    """A format-1 segment: valid records up to the first bad one, the rest torn (format 1
    cannot tell damage from a torn write). None if ``data`` does not start with one."""
    scan, pos = SegmentScan(v1=True), 0
    while pos + _V1_HEADER.size <= len(data):
        length, crc, first, count = _V1_HEADER.unpack_from(data, pos)
        end = pos + _V1_HEADER.size + length
        if length > MAX_RECORD or end > len(data):
            break
        payload = data[pos + _V1_HEADER.size : end]
        if zlib.crc32(payload, zlib.crc32(_V1_CRC_PART.pack(first, count))) != crc:
            break
        scan.records.append((pos, end, first, count))
        pos = end
    if not scan.records:
        return None
    if pos < len(data):
        scan.damage.append(Damage(pos, len(data), True))
    return scan


def payload_of(data: bytes, record: tuple[int, int, int, int], v1: bool) -> bytes:
    """The payload bytes of a record found by :func:`scan_segment`."""
    start, end = record[0], record[1]
    return data[start + (_V1_HEADER.size if v1 else HEADER_SIZE) : end]


def read_segment(path: Path) -> tuple[bytes, SegmentScan]:
    """A segment's bytes and their scan."""
    data = path.read_bytes()
    return data, scan_segment(data)
