"""Model snapshots: a learner's ``state_dict`` at a write-ahead-log sequence number, on disk.

A snapshot is ``<folder>/<seq>.npz`` written by :func:`tidal.base.save_state` (arrays + JSON, no
pickle), atomically: written to a temporary file, fsynced, renamed, and the folder fsynced, so a
crash leaves either the old set of snapshots or the new one, never a half-written file under a
snapshot's name.

``extra`` holds what belongs with the model at that sequence number: JSON values (ids learned,
registry version) and, for a guarded model, the guard's and drift monitor's state with its numpy
arrays (``save_state`` stores arrays anywhere in the payload), so all of it is in the one file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tidal.base import StateError, read_state, save_state
from tidal.service.wal import _fsync_dir

__all__ = ["Snapshot", "SnapshotStore"]

_FORMAT = "tidal.snapshot"


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
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(self.folder)
        return final

    def latest(self) -> Snapshot | None:
        """The newest snapshot that reads back whole (older ones are tried if it does not)."""
        for seq, path in reversed(self._paths()):
            try:
                data = read_state(path)
            except StateError:
                continue
            if data.get("format") == _FORMAT and data.get("seq") == seq:
                return Snapshot(seq, data["model"], data.get("extra") or {})
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
