"""``KeyedCluster``: a model per key, sharded over processes or Ray actors, exactly once."""

from __future__ import annotations

import hashlib
import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from tidal.base.exceptions import NotFittedError, ParameterError
from tidal.base.learner import Learner
from tidal.distributed._events import EventBatch, LearnResult, read_features
from tidal.distributed._router import LocalCalls, Router
from tidal.distributed._shard import Shard, read_map
from tidal.distributed._shardmap import ShardMap
from tidal.service.wal import write_atomic

__all__ = ["KeyedCluster"]


class KeyedCluster:
    """One clone of ``learner`` per value of the ``key`` column, spread over ``shards`` shards,
    each learned test-then-train exactly once per event id, surviving crashes of its shards.

    Parameters
    ----------
    learner
        The model every key gets a fresh clone of.
    key
        The column holding the key (not a feature).
    shards
        How many shards (Ray actors, or objects in this process when ``address`` is None).
    storage
        The folder of every virtual shard's log and snapshots, and of the shard map. With Ray
        on several machines it must be a filesystem they all mount. A cluster opened on a
        folder that holds data restores it.
    n_virtual
        Virtual shards (fixed for the life of ``storage``): the unit of moves.
    address
        ``None``: shards in this process (no Ray). ``"local"``: a Ray started here; ``"auto"``
        or ``"ray://..."``: an existing Ray cluster (``ray.init(address=...)``); a Ray already
        initialised in this process is used as it is.
    snapshot_every
        Snapshot a virtual shard after this many new events (bounds replay after a crash).
    max_ids
        Event ids remembered per virtual shard (about 350 B each): the retry window. An id
        retried after this many newer events reached its virtual shard is learned again.
    retry_timeout
        Seconds to keep retrying a dead shard before raising :class:`ShardUnavailableError`.
    actor_options
        Passed to Ray's ``.options`` for each shard actor (default ``num_cpus=1``, spread).

    >>> import tempfile
    >>> from tidal.linear_model import LinearRegression
    >>> storage = tempfile.mkdtemp()
    >>> cluster = KeyedCluster(LinearRegression(), key="store", shards=2, storage=storage)
    >>> X = {"store": ["a", "b", "a", "b"], "x": [1.0, 1.0, 1.0, 1.0]}
    >>> y, ids = [10.0, -10.0, 10.0, -10.0], ["e1", "e2", "e3", "e4"]
    >>> res = cluster.learn_many(X, y, event_ids=ids)
    >>> res.predictions.round(2).tolist(), res.n_applied
    ([0.0, 0.0, 0.4, -0.4], 4)
    >>> cluster.learn_many(X, y, event_ids=ids).n_duplicates  # a retry: nothing learned twice
    4
    >>> cluster.predict_many({"store": ["a", "b"], "x": [1.0, 1.0]}).round(2).tolist()
    [0.78, -0.78]
    >>> applied, before = cluster.learn_one({"store": "c", "x": 2.0}, 5.0, event_id="e5")
    >>> applied, before, cluster.learn_one({"store": "c", "x": 2.0}, 5.0, event_id="e5")[0]
    (True, 0.0, False)
    >>> cluster.close()
    """

    def __init__(
        self,
        learner: Learner,
        key: str,
        shards: int = 2,
        storage: str | Path = "tidal-keyed",
        *,
        n_virtual: int = 256,
        address: str | None = None,
        snapshot_every: int = 50_000,
        max_ids: int = 10_000,
        retry_timeout: float = 60.0,
        actor_options: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise ParameterError(f"KeyedCluster: key == {key!r}, expected the name of a column")
        self.learner = learner
        self.key = key
        self.storage = Path(storage).resolve()
        self.storage.mkdir(parents=True, exist_ok=True)
        self.address = address
        self._lock = threading.Lock()  # one batch or move at a time through this router
        self.map = self._load_map(shards, n_virtual)
        kwargs = {
            "learner": learner,
            "key": key,
            "storage": str(self.storage),
            "snapshot_every": snapshot_every,
            "max_ids": max_ids,
        }
        if address is None:
            self._shards: list[Any] = []
            try:
                for s in range(self.map.shards):
                    self._shards.append(Shard(shard=s, **kwargs))
            except BaseException:
                for shard in self._shards:
                    shard.close()
                raise
            calls = LocalCalls(self._shards)
        else:
            from tidal.distributed._actor import RayCalls, shard_actor

            self._init_ray(address)
            tag = hashlib.blake2b(str(self.storage).encode(), digest_size=6).hexdigest()
            self._shards = [
                shard_actor(f"tidal-shard-{tag}-{s}", actor_options, shard=s, **kwargs)
                for s in range(self.map.shards)
            ]
            calls = RayCalls(self._shards)
        # another client on the same storage may have moved a virtual shard: its map is saved
        self.router = Router(self.map, calls, retry_timeout, reload_map=self._reload_map)

    @staticmethod
    def _init_ray(address: str) -> None:
        from tidal.distributed._connect import connect_ray

        connect_ray(address)

    def _load_map(self, shards: int, n_virtual: int) -> ShardMap:
        found = read_map(self.storage)
        if found is None:
            shard_map = ShardMap(shards, n_virtual)
        else:
            if found.n_virtual != n_virtual:
                raise ParameterError(
                    f"KeyedCluster: n_virtual == {n_virtual}, but {self.storage} holds data in "
                    f"{found.n_virtual} virtual shards (fixed for the life of the storage)"
                )
            if found.shards > shards:
                raise ParameterError(
                    f"KeyedCluster: shards == {shards}, but {self.storage} has {found.shards} "
                    "shards: move their virtual shards away first (shrinking is not automatic)"
                )
            # more shards than before: the new ones start empty; rebalance() moves work to them
            shard_map = ShardMap(shards, n_virtual, found.assignment, found.version)
        self._save_map(shard_map)
        return shard_map

    def _reload_map(self) -> ShardMap:
        self.map = read_map(self.storage) or self.map
        return self.map

    def _save_map(self, shard_map: ShardMap) -> None:
        write_atomic(self.storage / "map.json", shard_map.to_json().encode())

    # ------------------------------------------------------------------ learning, predicting
    def learn_many(self, X: Any, y: Any, event_ids: Any) -> LearnResult:
        """Learn rows (each by its key's model, test-then-train); ``event_ids`` make a retry
        safe: an id already applied is answered with its recorded prediction, not learned."""
        batch = EventBatch.read(X, y, event_ids, self.key)
        with self._lock:
            return self.router.learn(batch)

    def learn_one(self, x: dict, y: Any, event_id: str) -> tuple[bool, Any]:
        """Learn one row; returns ``(applied, prediction made before learning)`` (``applied``
        False: ``event_id`` was applied before, and this is its recorded prediction)."""
        res = self.learn_many({k: [v] for k, v in x.items()}, [y], [event_id])
        return bool(res.applied[0]), res.predictions.tolist()[0]

    def step_many(self, X: Any, y: Any, event_ids: Any = None) -> np.ndarray:
        """Predictions made before learning each row (fresh event ids when none are given)."""
        if event_ids is None:
            n = len(np.asarray(y))
            stem = uuid.uuid4().hex
            event_ids = [f"{stem}-{i}" for i in range(n)]
        return self.learn_many(X, y, event_ids).predictions

    def predict_many(self, X: Any, default: Any = NotFittedError) -> np.ndarray:
        """Each row by its key's model; a key never learned raises :class:`NotFittedError`
        unless ``default`` is given (then it is that row's answer)."""
        keys, features, _ = read_features(X, self.key, "KeyedCluster")
        with self._lock:
            out = self.router.predict(keys, features)
        if out.dtype == object:
            unseen = np.array([p is None for p in out.tolist()], dtype=bool)
            if unseen.any():
                if default is NotFittedError:
                    shown = sorted({str(k) for k in keys[unseen]})[:5]
                    raise NotFittedError(
                        f"KeyedCluster: no model yet for key(s) {shown} (learn a row of each "
                        "first, or pass default= to predict_many)"
                    )
                out[unseen] = default
        return out

    def predict_one(self, x: dict, default: Any = NotFittedError) -> Any:
        return self.predict_many({k: [v] for k, v in x.items()}, default=default)[0]

    # ------------------------------------------------------------------ operations
    def snapshot(self) -> dict[int, int]:
        """Snapshot every virtual shard now; returns ``{vshard: log position}``."""
        out: dict[int, int] = {}
        for got in self._each("snapshot"):
            out.update(got)
        return out

    def move(self, vshard: int, to: int) -> None:
        """Move a virtual shard to shard ``to``: its owner drains it (every logged event on
        disk), snapshots and closes it; the map is saved; ``to`` reopens it from storage.
        Batches wait meanwhile, so no event is lost or learned twice."""
        with self._lock:
            src = self.map.assignment[vshard]
            if src == to:
                return
            self._call(src, "release", vshard)
            self.map.move(vshard, to)
            self._save_map(self.map)
            # a source that restarted between the release and the saved map reopened it
            self._call(src, "release", vshard)
            self._call(to, "open", vshard)

    def rebalance(self) -> list[tuple[int, int, int]]:
        """Move virtual shards until every shard owns as many as any other, +-1 (after growing
        ``shards``); returns the moves ``(vshard, from, to)``."""
        moves = []
        while True:
            owned = [self.map.owned_by(s) for s in range(self.map.shards)]
            big = max(range(len(owned)), key=lambda s: len(owned[s]))
            small = min(range(len(owned)), key=lambda s: len(owned[s]))
            if len(owned[big]) - len(owned[small]) <= 1:
                return moves
            v = owned[big][-1]
            self.move(v, small)
            moves.append((v, big, small))

    def _call(self, shard: int, method: str, *args: Any) -> Any:
        from tidal.distributed._router import ShardDown

        got = self.router.calls.run([(shard, method, args)])[0]
        retry = self.router
        if isinstance(got, ShardDown):  # the same call through the router's retry loop
            import time

            deadline = time.monotonic() + retry.retry_timeout
            while isinstance(got, ShardDown) and time.monotonic() < deadline:
                time.sleep(0.1)
                got = self.router.calls.run([(shard, method, args)])[0]
        if isinstance(got, BaseException):
            raise got
        return got

    def _each(self, method: str) -> list[Any]:
        return [self._call(s, method) for s in range(self.map.shards)]

    def key_digests(self) -> dict[Any, str]:
        """``{key: SHA-256 of its model state}`` over all shards (compare runs bit for bit)."""
        out: dict[Any, str] = {}
        for got in self._each("key_digests"):
            out.update(got)
        return out

    def info(self) -> list[dict[str, Any]]:
        """Per shard: process id, virtual shards, keys, events replayed when it opened."""
        return self._each("info")

    @property
    def shards(self) -> list[Any]:
        """The shards: :class:`Shard` objects, or Ray actor handles."""
        return list(self._shards)

    def close(self, stop_shards: bool = True) -> None:
        """Snapshot and close every shard (Ray actors are then ended). With
        ``stop_shards=False`` (Ray only) this client just lets go: the actors keep serving the
        other clients that found them by name on the same storage."""
        if self.address is None:
            for shard in self._shards:
                shard.close()
            return
        if not stop_shards:
            self._shards = []
            return
        from tidal.distributed._connect import import_ray

        ray = import_ray()
        for s in range(len(self._shards)):
            self._call(s, "close")
        for actor in self._shards:
            ray.kill(actor, no_restart=True)

    def __enter__(self) -> KeyedCluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "in process" if self.address is None else f"on Ray ({self.address})"
        return (
            f"KeyedCluster({self.learner!r}, key={self.key!r}, shards={self.map.shards}, {where})"
        )
