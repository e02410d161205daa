"""Model snapshots: a learner's ``state_dict`` at a write-ahead-log sequence number, on disk.

A snapshot is ``<folder>/<seq>.npz`` written by :func:`tidal.base.save_state` (arrays + JSON, no
pickle), atomically: written to a temporary file, fsynced, renamed, and the folder fsynced, so a
crash leaves either the old set of snapshots or the new one, never a half-written file under a
snapshot's name. The file is sealed with a SHA-256 of its bytes, kept in the zip archive's
comment (so it stays a plain ``.npz``): a snapshot whose bytes changed on disk is refused as a
whole (:meth:`SnapshotStore.read`), never half-loaded. Snapshots written before 2026-12-07 have
no seal; the zip's CRCs still check their arrays.

``extra`` holds what belongs with the model at that sequence number: JSON values (ids learned,
registry version) and, for a guarded model, the guard's and drift monitor's state with its numpy
arrays (``save_state`` stores arrays anywhere in the payload), so all of it is in the one file.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path
from typing import Any

from tidal.base import StateError, read_state, save_state
from tidal.service.wal import write_atomic

__all__ = ["Snapshot", "SnapshotStore"]

_FORMAT = "tidal.snapshot"
_SEAL = b"tidal-sha256:"
_SEAL_LEN = len(_SEAL) + 64
_EOCD = b"PK\x05\x06"  # a zip's end-of-central-directory record: 22 bytes + the comment


def seal(data: bytes) -> bytes:
    """``data`` (a zip without a comment) with the SHA-256 of everything before the comment
    as its comment."""
    if data[-22:-18] != _EOCD or data[-2:] != b"\0\0":
        raise StateError("not a zip archive without a comment: cannot seal it")
    body = data[:-2] + struct.pack("<H", _SEAL_LEN)
    return body + _SEAL + hashlib.sha256(body).hexdigest().encode()


def check_seal(data: bytes, path: Path) -> None:
    """Raise :class:`StateError` if a sealed file's bytes do not match its seal."""
    tail = data[-_SEAL_LEN:]
    if not tail.startswith(_SEAL):
        if _SEAL in data[-2 * _SEAL_LEN :]:
            raise StateError(f"{path}: the seal is damaged")
        return  # written before snapshots were sealed
    body = data[:-_SEAL_LEN]
    if hashlib.sha256(body).hexdigest().encode() != tail[len(_SEAL) :]:
        raise StateError(f"{path}: SHA-256 mismatch: the file changed after it was written")


class Snapshot:
    """One snapshot read back: the sequence number it covers, the model state, ``extra`` (JSON
    values and arrays; see :class:`SnapshotStore` for an example)."""

    def __init__(self, seq: int, model_state: dict[str, Any], extra: dict[str, Any]) -> None:
        self.seq = seq
        self.model_state = model_state
        self.extra = extra


class SnapshotStore:
    """The snapshots of one model, in ``folder``, named by the sequence number they cover.

    >>> import tempfile
    >>> from tidal.dummy import RunningMeanRegressor
    >>> store = SnapshotStore(tempfile.mkdtemp())
    >>> m = RunningMeanRegressor().learn_many({"x": [0.0, 0.0]}, [1.0, 3.0])
    >>> _ = store.save(m.state_dict(), seq=2)
    >>> snap = store.latest()
    >>> snap.seq, snap.model_state["state"]["mean"]
    (2, 2.0)
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def paths(self) -> list[tuple[int, Path]]:
        """``(seq, path)`` of every snapshot file, oldest first (read or not)."""
        return self._paths()

    def _paths(self) -> list[tuple[int, Path]]:
        out = []
        for p in self.folder.glob("*.npz"):
            if p.stem.isdigit():
                out.append((int(p.stem), p))
        return sorted(out)

    def save(self, model_state: dict[str, Any], seq: int, extra: dict | None = None) -> Path:
        """Write a snapshot covering events ``1..seq`` atomically; returns its path."""
        final = self.folder / f"{seq:020d}.npz"
        tmp = self.folder / f".{seq:020d}.{os.getpid()}.tmp"
        payload = {"format": _FORMAT, "seq": int(seq), "model": model_state, "extra": extra or {}}
        try:
            save_state(payload, tmp)
            sealed = seal(tmp.read_bytes())
        finally:
            tmp.unlink(missing_ok=True)
        write_atomic(final, sealed)
        return final

    def read(self, path: Path, seq: int) -> Snapshot:
        """The snapshot in ``path``, checked whole: its seal, format and sequence number.
        Raises :class:`StateError` naming the file and what is wrong."""
        try:
            check_seal(path.read_bytes(), path)
            data = read_state(path)
        except StateError:
            raise
        except Exception as e:  # noqa: BLE001 (a damaged zip fails in many ways)
            raise StateError(f"{path}: unreadable ({type(e).__name__}: {e})") from e
        if data.get("format") != _FORMAT or data.get("seq") != seq:
            raise StateError(
                f"{path}: expected a {_FORMAT} at event {seq}, found format "
                f"{data.get('format')!r} at {data.get('seq')!r}"
            )
        return Snapshot(seq, data["model"], data.get("extra") or {})

    def latest(self) -> Snapshot | None:
        """The newest snapshot that reads back whole (older ones are tried if it does not)."""
        for seq, path in reversed(self._paths()):
            try:
                return self.read(path, seq)
            except StateError:
                continue
        return None

    def prune(self, keep: int = 2) -> int:
        """Delete all but the newest ``keep`` snapshots (and leftover temporary files)."""
        paths = self._paths()
        doomed = [p for _, p in paths[: max(0, len(paths) - keep)]]
        doomed += list(self.folder.glob(".*.tmp"))
        for p in doomed:
            p.unlink(missing_ok=True)
        return len(doomed)

    @property
    def seqs(self) -> list[int]:
        """The sequence numbers of the snapshots on disk, oldest first."""
        return [s for s, _ in self._paths()]
