"""Start-up checks of a model's snapshots and log: recover with nothing lost, or say what is lost.

:func:`plan_recovery` reads every log segment (:mod:`tidal.service.walscan`) and picks the
newest snapshot that reads back whole (checksum, format, sequence number) *and* after which the
log holds every event without a gap, up to the last event any file says existed (the log's
last record, a damaged record's header, a damaged snapshot's name). An older snapshot is tried
when a newer one is damaged, then an empty model when the log starts at event 1. A damaged
snapshot skipped that way is moved aside (``<data>/damaged/<time>/``) with a log line: nothing
was lost, and the next snapshots must not count it among the ones kept.

When no starting point loses nothing, the start is refused with :class:`DataLossError`, whose
message names each file, byte offset and range of event numbers lost. Nothing is changed on
disk then. :func:`accept_loss` (``tidal serve --accept-loss``) is the one way on: it starts
from the newest readable snapshot and the log after it up to the first gap, moves every
damaged or unusable file aside (never deletes), and returns what it did for the audit log.

A torn tail -- the last segment ending inside a record, the one write a crash cut short before
its fsync -- is not a loss: that record was never acknowledged. (A truncation of the last
segment by other means looks the same, and cannot be told from it.)
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tidal.base import StateError, TidalError
from tidal.service.walscan import Damage, SegmentScan, read_segment

__all__ = ["DataLossError", "LogScan", "Loss", "Plan", "accept_loss", "plan_recovery", "scan_log"]

log = logging.getLogger("tidal.service")
SUFFIX = ".wal"


@dataclass
class Loss:
    """Events ``first..last`` (``last`` None: how many is unknown) that no file holds whole
    any more; ``path`` and ``offset`` say where they were.

    >>> str(Loss(Path("wal/m/01.wal"), 4096, 301, 390, "checksum mismatch"))
    'wal/m/01.wal at byte 4096: events 301..390 lost (checksum mismatch)'
    """

    path: Path
    offset: int
    first: int
    last: int | None
    reason: str

    def __str__(self) -> str:
        if self.last is None:
            seqs = f"events from {self.first} on"
        elif self.last == self.first:
            seqs = f"event {self.first}"
        else:
            seqs = f"events {self.first}..{self.last}"
        return f"{self.path} at byte {self.offset}: {seqs} lost ({self.reason})"


class DataLossError(TidalError, OSError):
    """Start-up refused: events are gone from every file (the message says which, and where).

    >>> e = DataLossError("m", [Loss(Path("a.wal"), 0, 1, 2, "missing")], Path("/d"))
    >>> print(str(e).splitlines()[1])
      a.wal at byte 0: events 1..2 lost (missing)
    """

    def __init__(self, model: str, losses: list[Loss], data: Path) -> None:
        self.model = model
        self.losses = losses
        lines = "\n".join(f"  {loss}" for loss in losses)
        super().__init__(
            f"model {model!r}: start refused, data is lost:\n{lines}\n"
            "Starting would hide the gap. To accept the loss and start from what is whole "
            f"(the newest readable snapshot and the log up to the first loss), start once with "
            f"`tidal serve --data {data} --accept-loss`: the damaged files and the log after "
            f"the loss are moved to {data / 'damaged'} (nothing is deleted) and the loss is "
            "recorded in the audit log."
        )


@dataclass
class LogScan:
    """Every segment of one log folder, read back: ``scans[path]`` (records and damage)."""

    folder: Path
    segments: list[Path]
    scans: dict[Path, SegmentScan]
    #: the first event of the newest segment as ``HEAD`` names it (None: no HEAD file)
    head: int | None = None
    #: the caller checked :meth:`losses` already (the log need not check again)
    checked: bool = False

    @property
    def last_seq(self) -> int:
        """The number of the last event in a valid record (0 if none)."""
        return max((r[2] + r[3] - 1 for s in self.scans.values() for r in s.records), default=0)

    def _items(self) -> Any:
        """``(path, offset, record or Damage)`` in log order."""
        last = self.segments[-1] if self.segments else None
        for seg in self.segments:
            scan = self.scans[seg]
            both = [(r[0], r) for r in scan.records] + [(d.start, d) for d in scan.damage]
            for offset, item in sorted(both, key=lambda t: t[0]):
                if isinstance(item, Damage) and item.torn and seg == last:
                    continue  # never acknowledged: truncated when the log opens
                yield seg, offset, item

    def losses(self, after: int) -> list[Loss]:
        """The events after ``after`` that the log does not hold whole, in order."""
        out: list[Loss] = []
        expected = after + 1
        damage: tuple[Path, int, Damage] | None = None
        for seg, offset, item in self._items():
            if isinstance(item, Damage):
                damage = damage or (seg, offset, item)
                continue
            first, last = item[2], item[2] + item[3] - 1
            if last <= after:  # in the snapshot already
                damage = None
                continue
            if first > expected:
                where = (damage[0], damage[1]) if damage else (seg, offset)
                why = _why(damage[2]) if damage else "not in the log: a segment is missing"
                out.append(Loss(where[0], where[1], expected, first - 1, why))
            elif first < expected:
                out.append(
                    Loss(
                        seg,
                        offset,
                        first,
                        last,
                        f"a record numbered {first}..{last} where {expected} comes next: "
                        "segments reordered, copied or edited",
                    )
                )
                continue
            expected, damage = last + 1, None
        if damage is not None:
            seqs = damage[2].seqs
            if seqs is None or seqs[1] >= expected:
                last = seqs[1] if seqs is not None else None
                out.append(Loss(damage[0], damage[1], expected, last, _why(damage[2])))
        newest = int(self.segments[-1].stem) if self.segments else 0
        if self.head is not None and self.head > newest and not out:
            out.append(
                Loss(
                    self.folder / "HEAD",
                    0,
                    max(expected, self.head),
                    None,
                    f"the newest segment, {self.head:020d}{SUFFIX} by HEAD, is missing",
                )
            )
        return out


def _why(d: Damage) -> str:
    if d.torn:
        return f"segment cut short: {d.end - d.start} bytes of a record, the rest missing"
    return f"{d.end - d.start} damaged bytes (checksum or header mismatch)"


def scan_log(folder: str | Path) -> LogScan:
    """Read every segment of ``folder`` (named by their first event's number)."""
    folder = Path(folder)
    segments = sorted(
        (p for p in folder.glob(f"*{SUFFIX}") if p.stem.isdigit()), key=lambda p: int(p.stem)
    )
    try:
        head: int | None = int((folder / "HEAD").read_text().strip())
    except FileNotFoundError:
        head = None
    except ValueError:
        head = None
        log.warning("%s: unreadable; the newest segment cannot be checked", folder / "HEAD")
    return LogScan(folder, segments, {p: read_segment(p)[1] for p in segments}, head)


@dataclass
class Plan:
    """Where a model starts: ``snapshot`` (None: an empty model) and the log after it.
    ``losses`` is empty unless nothing can start without them; ``damaged`` lists snapshot
    files that could not be read, with why."""

    snapshot: Any
    scan: LogScan
    damaged: list[tuple[Path, str]] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)

    @property
    def seq(self) -> int:
        return self.snapshot.seq if self.snapshot is not None else 0


def plan_recovery(wal: Path, snapshots: Any) -> Plan:
    """The starting point that loses nothing (see the module's docstring), or, with
    ``losses`` set, the best one there is (newest readable snapshot, then an empty model)."""
    scan = scan_log(wal)
    scan.checked = True
    paths = snapshots.paths()
    named = max([scan.last_seq, *(seq for seq, _ in paths)])
    damaged: list[tuple[Path, str]] = []
    best: Plan | None = None
    for seq, path in reversed(paths):
        try:
            snap = snapshots.read(path, seq)
        except StateError as e:
            damaged.append((path, str(e)))
            continue
        plan = Plan(snap, scan, damaged, _losses(scan, seq, named, damaged))
        if not plan.losses:
            return plan
        best = best or plan
    empty = Plan(None, scan, damaged, _losses(scan, 0, named, damaged))
    if not empty.losses or best is None:
        return empty
    return best


def _losses(scan: LogScan, seq: int, named: int, damaged: list[tuple[Path, str]]) -> list[Loss]:
    out = scan.losses(seq)
    reach = max(seq, scan.last_seq)
    if named > reach and not any(loss.last is None for loss in out):
        # a damaged snapshot says events up to `named` existed; nothing readable holds them
        path = next((p for p, _ in damaged if p.stem.isdigit() and int(p.stem) == named), None)
        if path is not None:
            out.append(Loss(path, 0, reach + 1, named, "only in this damaged snapshot"))
    return out


def move_aside(path: Path, data: Path, stamp: str) -> Path:
    """Move ``path`` (inside ``data``) to ``<data>/damaged/<stamp>/<same relative path>``."""
    target = data / "damaged" / stamp / path.relative_to(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), target)
    return target


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def set_aside_damaged_snapshots(plan: Plan, data: Path, model: str) -> list[Path]:
    """Move the damaged snapshots of a plan that loses nothing aside, with a log line each."""
    moved, when = [], stamp()
    for path, why in plan.damaged:
        target = move_aside(path, data, when)
        moved.append(target)
        log.warning(
            "model %r: snapshot %s is damaged (%s): started from %s and the log instead; "
            "moved it to %s",
            model,
            path,
            why,
            f"snapshot {plan.seq}" if plan.snapshot is not None else "an empty model",
            target,
        )
    return moved


def accept_loss(plan: Plan, data: Path, model: str) -> dict[str, Any]:
    """Make ``plan`` startable: keep its snapshot and the log after it up to the first loss;
    move damaged snapshots, and log segments from the first loss on, aside (the segment holding
    the first loss keeps its whole records before it, in a new file of the same name).
    Returns a record of what was lost and moved (for the audit log)."""
    when = stamp()
    moved: list[str] = [str(move_aside(p, data, when)) for p, _ in plan.damaged]
    cut = next((loss for loss in plan.losses), None)
    if cut is not None:
        segs = plan.scan.segments
        in_log = cut.path in segs
        start = segs.index(cut.path) if in_log else len(segs)
        for seg in segs[start:]:
            keep = b""
            if seg == cut.path:
                raw, scan = read_segment(seg)
                ends = [r[1] for r in scan.records if r[1] <= cut.offset]
                keep = raw[: max(ends, default=0)]
            moved.append(str(move_aside(seg, data, when)))
            if keep:
                seg.write_bytes(keep)
        head = plan.scan.folder / "HEAD"
        if head.exists():  # it names a segment moved aside: the log writes a new one
            moved.append(str(move_aside(head, data, when)))
    return {
        "model": model,
        "snapshot": plan.seq,
        "lost": [str(loss) for loss in plan.losses],
        "moved": moved,
        "damaged_snapshots": [f"{p}: {why}" for p, why in plan.damaged],
    }
