"""One virtual shard on disk and in memory: its keys' models, log, snapshots and event ids.

A virtual shard lives in its own folder, so it can move to another shard (another process or
machine reading the same storage) as a whole::

    <storage>/vshards/0042/LOCK            flock: one owner at a time (released by the kernel on
                                            a crash, so a restarted owner takes it back)
    <storage>/vshards/0042/wal/            write-ahead log: one record per learn call
    <storage>/vshards/0042/snapshots/      sealed snapshots: the Keyed state + ids + answers

A learn call logs its new events (one record), applies them test-then-train, and returns once
the record is on disk. Opening the folder restores the newest snapshot and replays the log after
it -- the same ``step_many`` calls on the same values -- so the state is bit-identical to the one
the crashed process had acknowledged.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from tidal.base.exceptions import NotFittedError
from tidal.base.learner import Learner
from tidal.compose import Keyed
from tidal.distributed._events import EventBatch, LearnResult
from tidal.service.ids import LearnedIds, event_key
from tidal.service.lock import DataFolderLock
from tidal.service.recovery import DataLossError, plan_recovery
from tidal.service.snapshots import SnapshotStore
from tidal.service.wal import WriteAheadLog

__all__ = ["VirtualShard", "vshard_folder"]


def vshard_folder(storage: str | Path, vshard: int) -> Path:
    return Path(storage) / "vshards" / f"{vshard:04d}"


class VirtualShard:
    """The models, log and snapshots of one virtual shard (see the module's docstring).

    >>> import tempfile
    >>> from tidal.linear_model import LinearRegression
    >>> folder = tempfile.mkdtemp()
    >>> vs = VirtualShard(7, folder, LinearRegression(), key="k")
    >>> b = EventBatch.read({"k": ["a", "a"], "x": [1.0, 1.0]}, [2.0, 2.0], ["e1", "e2"], key="k")
    >>> vs.learn(b).applied.tolist(), vs.learn(b).applied.tolist()
    ([True, True], [False, False])
    >>> vs.close()
    >>> VirtualShard(7, folder, LinearRegression(), key="k").seq  # restored from its log
    1
    """

    def __init__(
        self,
        vshard: int,
        folder: str | Path,
        learner: Learner,
        key: str,
        *,
        snapshot_every: int = 50_000,
        max_ids: int = 10_000,
        max_age: float = 7 * 86400.0,
    ) -> None:
        self.vshard = int(vshard)
        self.folder = Path(folder)
        self.snapshot_every = int(snapshot_every)
        self._lock = DataFolderLock(self.folder)
        try:
            self._open(learner, key, max_ids, max_age)
        except BaseException:
            self._lock.release()
            raise

    def _open(self, learner: Learner, key: str, max_ids: int, max_age: float) -> None:
        self.snapshots = SnapshotStore(self.folder / "snapshots")
        plan = plan_recovery(self.folder / "wal", self.snapshots)
        if plan.losses:
            raise DataLossError(f"virtual shard {self.vshard}", plan.losses, self.folder)
        self.ids = LearnedIds(max_ids=max_ids, max_age=max_age)
        self.n_applied = 0  # events learned since the virtual shard was created (never twice)
        self._answers: OrderedDict[str, Any] = OrderedDict()
        if plan.snapshot is None:
            self.model = Keyed(learner.clone(), key=key)
        else:
            self.model = Keyed.from_state(plan.snapshot.model_state)
            self.ids.load(plan.snapshot.extra["ids"])
            answers = plan.snapshot.extra["answers"]
            self._answers.update(zip(answers["ids"], answers["values"], strict=True))
            self.n_applied = int(plan.snapshot.extra["n_applied"])
        self.wal = WriteAheadLog(self.folder / "wal", start_seq=plan.seq, scan=plan.scan)
        self._snapshot_seq = plan.seq
        self._since_snapshot = 0
        self.replayed = 0
        for seq, records in self.wal.replay_batches(after=plan.seq):
            for k, record in enumerate(records):
                self._apply(record, seq + k)
                self.replayed += len(record["ids"])

    # ------------------------------------------------------------------ learning
    @property
    def seq(self) -> int:
        """The number of the last learn record (one per learn call with new events)."""
        return self.wal.last_seq

    def _apply(self, record: dict[str, Any], seq: int) -> list[Any]:
        """Test-then-train the record's events; remember their ids and predictions."""
        key = self.model.key
        X = {key: np.asarray(record["k"], dtype=object)}
        X.update((name, np.asarray(col, dtype=np.float64)) for name, col in record["x"].items())
        preds = self.model.step_many(X, np.asarray(record["y"])).tolist()
        now = record["t"]
        self.ids.put_many([event_key(e) for e in record["ids"]], seq, now=now)
        self._answers.update(zip(record["ids"], preds, strict=True))
        while len(self._answers) > len(self.ids):  # the ids' bound, by the same insertion order
            self._answers.popitem(last=False)
        self._since_snapshot += len(preds)
        self.n_applied += len(preds)
        return preds

    def submit(self, batch: EventBatch) -> tuple[int, list[int], list[int], dict | None]:
        """Split ``batch`` into new events and duplicates (of an id applied before, or earlier
        in the batch), and log the new ones; returns ``(seq, new rows, duplicate rows,
        record)``. The caller applies the record with :meth:`apply` (the log order is the order
        of application) and waits for ``seq`` on disk before answering."""
        new, dup, seen = [], [], set()
        for i, event_id in enumerate(batch.ids):
            if event_id in seen or self.ids.seq(event_key(event_id)) is not None:
                dup.append(i)
            else:
                seen.add(event_id)
                new.append(i)
        if not new:
            return self.wal.last_seq, new, dup, None
        part = batch.take(np.asarray(new, dtype=np.int64)) if dup else batch
        record = {
            "t": time.time(),
            "ids": part.ids,
            "k": part.keys.tolist(),
            "x": {name: col.tolist() for name, col in part.X.items()},
            "y": part.y.tolist(),
        }
        return self.wal.submit([record]), new, dup, record

    def apply(self, seq: int, record: dict | None) -> list[Any]:
        return [] if record is None else self._apply(record, seq)

    def answer(
        self, batch: EventBatch, new: list[int], dup: list[int], preds: list[Any]
    ) -> LearnResult:
        applied = np.zeros(len(batch), dtype=bool)
        applied[new] = True
        out: list[Any] = [None] * len(batch)
        for i, p in zip(new, preds, strict=True):
            out[i] = p
        for i in dup:
            out[i] = self._answers.get(batch.ids[i])
        return LearnResult(applied, np.asarray(out))

    def learn(self, batch: EventBatch) -> LearnResult:
        """Log, apply and answer one batch (all its keys in this virtual shard)."""
        seq, new, dup, record = self.submit(batch)
        preds = self.apply(seq, record)
        self.wal.wait(seq)
        self.maybe_snapshot()
        return self.answer(batch, new, dup, preds)

    # ------------------------------------------------------------------ predicting
    def predict(self, keys: np.ndarray, X: dict[str, np.ndarray]) -> np.ndarray:
        """Each row by its key's model; ``None`` for a key never learned."""
        frame = {self.model.key: keys, **X}
        try:
            return self.model.predict_many(frame)
        except NotFittedError:
            pass
        out = np.empty(len(keys), dtype=object)
        for k in dict.fromkeys(keys.tolist()):
            rows = np.flatnonzero(keys == k)
            try:
                got = self.model.predict_many(
                    {self.model.key: keys[rows], **{n: c[rows] for n, c in X.items()}}
                )
            except NotFittedError:
                got = [None] * len(rows)
            for i, p in zip(rows.tolist(), list(got), strict=True):
                out[i] = p
        return out

    # ------------------------------------------------------------------ snapshots and closing
    def maybe_snapshot(self) -> None:
        if self._since_snapshot >= self.snapshot_every:
            self.snapshot()

    def snapshot(self) -> int:
        """Write a sealed snapshot at the last logged record (once it is on disk); compact."""
        seq = self.wal.last_seq
        self.wal.wait(seq)
        if seq != self._snapshot_seq:
            self.snapshots.save(
                self.model.state_dict(),
                seq,
                extra={
                    "vshard": self.vshard,
                    "n_applied": self.n_applied,
                    "ids": self.ids.copy(),
                    "answers": {"ids": list(self._answers), "values": list(self._answers.values())},
                },
            )
            self.wal.compact(seq)
            self.snapshots.prune(keep=2)
            self._snapshot_seq = seq
        self._since_snapshot = 0
        return seq

    def key_states(self) -> dict[Any, dict[str, Any]]:
        """Each key's model state (what a test compares bit for bit)."""
        return {k: s for k, s in self.model.state_dict()["keys"]}

    def close(self, snapshot: bool = False) -> None:
        """Stop (with a snapshot first when ``snapshot``); the folder's lock is released."""
        try:
            if snapshot:
                self.snapshot()
            self.wal.close()
        finally:
            self._lock.release()
