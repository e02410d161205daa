"""A shard: the virtual shards one worker owns, learned and predicted in batched calls.

:class:`Shard` is a plain Python class (tested without Ray); :func:`tidal.distributed.shard_actor`
wraps it in a Ray actor that Ray restarts after a crash. Its constructor restores every virtual
shard it owns from storage (snapshot + log), so a restarted actor picks up exactly where the
acknowledged events left it.

Which virtual shards a shard owns comes from the shard map in ``<storage>/map.json`` when the
constructor is not told (that is how a restarted actor finds out, after moves, what it owns now).
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from tidal.base.exceptions import TidalError
from tidal.base.learner import Learner
from tidal.distributed._events import EventBatch, LearnResult
from tidal.distributed._shardmap import ShardMap
from tidal.distributed._vshard import VirtualShard, vshard_folder

__all__ = ["NotOwnerError", "Shard", "read_map"]


class NotOwnerError(TidalError):
    """A shard was sent events of a virtual shard it does not own (a stale shard map).

    >>> import pickle
    >>> pickle.loads(pickle.dumps(NotOwnerError(1, [42]))).vshards
    [42]
    """

    def __init__(self, shard: int, vshards: list[int]) -> None:
        super().__init__(
            f"shard {shard} does not own virtual shard(s) {vshards}: the sender's shard map is "
            "stale (a virtual shard moved); reload the map and send again"
        )
        self.shard = shard
        self.vshards = vshards

    def __reduce__(self) -> tuple:  # crosses process boundaries (Ray) whole
        return (type(self), (self.shard, self.vshards))


def read_map(storage: str | Path) -> ShardMap | None:
    path = Path(storage) / "map.json"
    if not path.exists():
        return None
    return ShardMap.from_dict(json.loads(path.read_text()))


class Shard:
    """The keyed models of some virtual shards, each with its own log and snapshots.

    Parameters
    ----------
    learner, key
        As for :class:`tidal.compose.Keyed`: every key gets a clone of ``learner``.
    storage
        The folder holding every virtual shard's folder (shared by all shards).
    shard
        This shard's number in the shard map.
    vshards
        The virtual shards to open; ``None``: those ``<storage>/map.json`` gives this shard.
    snapshot_every
        Snapshot a virtual shard after this many new events (bounds the replay on restart).

    >>> import tempfile
    >>> import numpy as np
    >>> from tidal.linear_model import LinearRegression
    >>> storage = tempfile.mkdtemp()
    >>> s = Shard(LinearRegression(), "k", storage, shard=0, vshards=[3, 5])
    >>> b = EventBatch.read({"k": ["a", "b"], "x": [1.0, 1.0]}, [1.0, 2.0], ["e1", "e2"], "k")
    >>> s.learn(b, np.array([3, 5])).applied.tolist()
    [True, True]
    >>> s.learn(b, np.array([3, 5])).applied.tolist()  # same event ids: answered, not learned
    [False, False]
    >>> s.close()
    >>> again = Shard(LinearRegression(), "k", storage, shard=0, vshards=[3, 5])
    >>> again.predict(np.array(["a", "b"], dtype=object), {"x": np.ones(2)}, np.array([3, 5]))
    array([0.04, 0.08])
    >>> again.close()
    """

    def __init__(
        self,
        learner: Learner,
        key: str,
        storage: str | Path,
        shard: int,
        vshards: list[int] | None = None,
        *,
        snapshot_every: int = 50_000,
        max_ids: int = 10_000,
    ) -> None:
        self.learner = learner
        self.key = key
        self.storage = Path(storage)
        self.shard = int(shard)
        self.options = {"snapshot_every": snapshot_every, "max_ids": max_ids}
        if vshards is None:
            shard_map = read_map(self.storage)
            vshards = [] if shard_map is None else shard_map.owned_by(self.shard)
        self._open: dict[int, VirtualShard] = {}
        started = time.perf_counter()
        try:
            self._open_all(list(vshards))
        except BaseException:
            self.close(snapshot=False)
            raise
        self.open_seconds = time.perf_counter() - started  # restoring, for monitoring

    # ------------------------------------------------------------------ ownership
    @property
    def vshards(self) -> list[int]:
        return sorted(self._open)

    def open(self, vshard: int) -> int:
        """Take ``vshard`` over (restoring it from its folder); returns its log position.
        Idempotent: a virtual shard already open is left as it is."""
        vs = self._open.get(vshard)
        if vs is None:
            vs = self._open[vshard] = self._make(vshard)
        return vs.seq

    def _open_all(self, vshards: list[int]) -> None:
        """Open virtual shards a few at a time: a restore waits mostly on the disk (reading
        snapshots, fsyncing each log's folder), which threads overlap."""
        if len(vshards) <= 1:
            for v in vshards:
                self.open(v)
            return
        with ThreadPoolExecutor(max_workers=min(8, len(vshards))) as pool:
            futures = [pool.submit(self._make, v) for v in vshards]
        errors = []
        for v, fut in zip(vshards, futures, strict=True):
            if fut.exception() is not None:
                errors.append(fut.exception())
            else:
                self._open[v] = fut.result()
        if errors:
            raise errors[0]

    def _make(self, vshard: int) -> VirtualShard:
        return VirtualShard(
            vshard, vshard_folder(self.storage, vshard), self.learner, self.key, **self.options
        )

    def release(self, vshard: int) -> int:
        """Give ``vshard`` up: its logged events on disk, a snapshot, its folder unlocked.
        Returns the log position it was released at. Idempotent."""
        vs = self._open.pop(vshard, None)
        if vs is None:
            return -1
        seq = vs.snapshot()
        vs.close()
        return seq

    def _owned(self, vshards: np.ndarray) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
        uniq, inverse = np.unique(vshards, return_inverse=True)
        missing = [int(v) for v in uniq if int(v) not in self._open]
        if missing:
            raise NotOwnerError(self.shard, missing)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
        return uniq, [(int(v), order[bounds[j] : bounds[j + 1]]) for j, v in enumerate(uniq)]

    # ------------------------------------------------------------------ learning, predicting
    def learn(self, batch: EventBatch, vshards: np.ndarray) -> LearnResult:
        """Test-then-train each new event by its key's model; duplicates of event ids already
        applied are answered with their recorded prediction and change nothing. Returns once
        every new event is in its virtual shard's log on disk."""
        _, groups = self._owned(np.asarray(vshards))
        work = []
        for v, rows in groups:
            part = batch.take(rows) if len(groups) > 1 else batch
            vs = self._open[v]
            work.append((rows, part, vs, vs.submit(part)))  # logged (not yet on disk) ...
        answers = []
        for rows, part, vs, (seq, new, dup, record) in work:
            preds = vs.apply(seq, record)  # ... applied in log order ...
            answers.append((rows, vs.answer(part, new, dup, preds)))
        for _, _, vs, (seq, _, _, _) in work:
            vs.wal.wait(seq)  # ... and answered once on disk (the fsyncs overlap)
            vs.maybe_snapshot()
        return LearnResult.assemble(answers, len(batch))

    def predict(
        self, keys: np.ndarray, X: dict[str, np.ndarray], vshards: np.ndarray
    ) -> np.ndarray:
        """Each row by its key's model (``None`` for a key never learned)."""
        _, groups = self._owned(np.asarray(vshards))
        out = np.empty(len(keys), dtype=object)
        parts = []
        for v, rows in groups:
            got = self._open[v].predict(keys[rows], {n: c[rows] for n, c in X.items()})
            parts.append(got)
            out[rows] = got
        if parts and all(np.asarray(p).dtype.kind in "fiub" for p in parts):
            return np.asarray(out.tolist())
        return out

    # ------------------------------------------------------------------ state
    def snapshot(self) -> dict[int, int]:
        """Snapshot every open virtual shard; returns ``{vshard: log position}``."""
        return {v: vs.snapshot() for v, vs in sorted(self._open.items())}

    def key_states(self) -> dict[Any, dict[str, Any]]:
        """Every key's model state, over all open virtual shards."""
        out: dict[Any, dict[str, Any]] = {}
        for vs in self._open.values():
            out.update(vs.key_states())
        return out

    def key_digests(self) -> dict[Any, str]:
        """A SHA-256 of each key's state (cheap to send; equal digests: bit-identical states)."""
        from tidal.distributed._digest import state_digest

        return {k: state_digest(s) for k, s in self.key_states().items()}

    def info(self) -> dict[str, Any]:
        """This shard's process id, virtual shards and how many events each replayed at open."""
        return {
            "shard": self.shard,
            "pid": os.getpid(),
            "vshards": self.vshards,
            "replayed": {v: vs.replayed for v, vs in self._open.items()},
            "keys": sum(len(vs.model.keys_) for vs in self._open.values()),
            "n_applied": sum(vs.n_applied for vs in self._open.values()),
            "open_seconds": self.open_seconds,
        }

    def applied_ids(self) -> list[str]:
        """The event ids remembered as applied (the newest ``max_ids`` per virtual shard)."""
        return [k[2:] for vs in self._open.values() for k, _ in vs.ids.items() if k[:2] == "e:"]

    def pid(self) -> int:
        return os.getpid()

    def close(self, snapshot: bool = True) -> None:
        """Close every virtual shard (snapshotting each first when ``snapshot``)."""
        errors = []
        for v in list(self._open):
            vs = self._open.pop(v)
            try:
                vs.close(snapshot=snapshot)
            except Exception as e:  # noqa: BLE001 (close the others, then report)
                errors.append(e)
        if errors:
            raise errors[0]
