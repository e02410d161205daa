"""``KeyedHost``: a served model learned per key, its keys sharded (``tidal serve --key``).

With ``key`` set (``tidal serve --key store [--shards N] [--ray [ADDRESS]]``) every served model
is a :class:`tidal.distributed.KeyedCluster`: one clone of the model per value of the ``key``
column, each key in one of ``shards`` shards (Ray actors with ``ray``, else objects in this
process), each shard with its own logs and snapshots under ``<data>/keyed/<model>``. The host
answers the routes as :class:`~tidal.service.host.ModelHost` does, and the router does the work:
one batched call per shard per request.

The contract of the routes holds:

* exactly once: every learn item goes to the shards under an event id -- the client's
  ``event_id``, else ``p:<prediction_id>`` for a delayed label, else a fresh one -- and a shard
  applies an id once, across its restarts; a repeated item is answered in ``already_learned``
  (its ``seqs`` entry is None: the shards number events per virtual shard, not globally). The
  retry window is the shards' (event ids kept per virtual shard: KeyedCluster's ``max_ids``),
  not ``learned_ids_max``;
* a request is checked before any shard sees it: the key in every row (a str, int or bool),
  finite numbers, and the same features in every row and every request (the first learn fixes
  them, kept in ``<data>/keyed/<model>/features.json``), so a bad row is a 422 naming item and
  feature, and no shard logs an event a model would refuse;
* delayed labels: predictions are kept (``pending_max``, ``pending_ttl``) with their key, as
  for any model, across restarts; a labelled one stays kept until those bounds drop it (its
  row routes a retried label to the shard, which answers it as a repeat: the shards, not this
  host, know which ids were learned);
* a key never learned is predicted as None; a shard that does not answer within the router's
  retry timeout makes a 503, and the items can be sent again with the same ids.

``version.seq`` counts the events the shards applied (their total at start, plus those applied
through this service since). Not offered for keyed models: guards, shadows, freezes, the
registry's installs, ``GET .../state`` (the state lives in the shards' storage).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from tidal.base import InputError
from tidal.service.errors import ServiceError
from tidal.service.items import (
    LearnResult,
    PredictResult,
    item_row,
    learn_items,
    plain,
    refuse_non_finite,
)
from tidal.service.pending import PendingPredictions, new_base, prediction_ids
from tidal.service.wal import WalError, write_atomic

__all__ = ["KeyedHost", "keyed_host"]


class _NoIds:
    """The learned-id set the service asks a host about: the shards keep these, not us."""

    def __contains__(self, pid: object) -> bool:
        return False

    def __len__(self) -> int:
        return 0


class KeyedHost:
    """Serves ``model`` per value of ``key`` over ``shards`` shards (see the module).

    >>> import tempfile
    >>> from tidal.linear_model import LinearRegression
    >>> host = KeyedHost("m", LinearRegression(), tempfile.mkdtemp(), key="store", shards=2)
    >>> rows = [{"store": "a", "x": 1.0}, {"store": "b", "x": 1.0}]
    >>> host.learn(rows, [10.0, -10.0], event_ids=["e1", "e2"]).learned
    2
    >>> host.learn(rows, [10.0, -10.0], event_ids=["e1", "e2"]).already_learned  # a retry
    [0, 1]
    >>> p = host.predict(rows + [{"store": "new", "x": 1.0}])
    >>> [None if v is None else round(v, 2) for v in p.predictions], p.version["seq"]
    ([0.4, -0.4, None], 2)
    >>> host.close()
    """

    def __init__(
        self,
        name: str,
        model: Any,
        data: str | Path,
        *,
        key: str,
        shards: int = 2,
        ray: str = "",
        shard_cpus: float = 1.0,
        snapshot_every: int = 10_000,
        pending_max: int = 100_000,
        pending_ttl: float = 3600.0,
    ) -> None:
        from tidal.distributed import KeyedCluster

        self.name = name
        self.key = key
        self.model = model  # the template every key clones
        self.data = Path(data)
        self.version: str | None = None
        self.guard = self.frozen = self.broken = self.repair = self.freeze_record = None
        self.snapshot_every = int(snapshot_every)
        self.events_since_snapshot = 0  # the shards snapshot themselves
        self.pending_ttl = float(pending_ttl)
        self.storage = self.data / "keyed" / name
        self.cluster = KeyedCluster(
            model,
            key=key,
            shards=shards,
            storage=self.storage,
            address=ray or None,
            snapshot_every=snapshot_every,
            actor_options={"num_cpus": shard_cpus} if ray else None,
        )
        self._features_path = self.storage / "features.json"
        self.features: list[str] | None = None
        if self._features_path.exists():
            self.features = json.loads(self._features_path.read_text())
        self.applied_seq = sum(int(s.get("n_applied", 0)) for s in self.cluster.info())
        self._learned = _NoIds()
        self._lock = threading.Lock()  # the kept predictions' dict is not thread-safe
        self._pending = PendingPredictions(
            self.data / "pending" / name, max_items=pending_max, ttl=pending_ttl
        )

    # ------------------------------------------------------------------ checks
    def _columns(self, rows: list[Any], fix: bool) -> dict[str, list[Any]]:
        """The rows as columns (the key first), each row checked: a usable key, finite
        numbers, and the model's features (``fix``: a first learn sets them)."""
        refuse_non_finite(rows)
        want = self.features
        for i, row in enumerate(rows):
            k = row.get(self.key)
            if isinstance(k, float) or not isinstance(k, str | int):
                got = "nothing" if self.key not in row else repr(k)
                raise InputError(
                    f"row {i}: key {self.key!r}: expected a str, int or bool, got {got}",
                    column=self.key,
                    row=i,
                )
            names = sorted(f for f in row if f != self.key)
            if want is None:
                want = names
            if names != want:
                missing, extra = sorted(set(want) - set(names)), sorted(set(names) - set(want))
                raise InputError(
                    f"row {i}: features {names}: expected {want} (missing {missing}, extra "
                    f"{extra}); every row of a keyed model has the same features",
                    column=(missing or extra)[0],
                    row=i,
                )
        if fix and self.features is None and want is not None:
            self.storage.mkdir(parents=True, exist_ok=True)
            write_atomic(self._features_path, json.dumps(want).encode())
            self.features = want
        return {c: [row[c] for row in rows] for c in [self.key, *(want or [])]}

    # ------------------------------------------------------------------ serving
    def model_version(self) -> dict[str, Any]:
        return {"registry_version": self.version, "seq": self.applied_seq}

    def durable_wait_needed(self, version: dict[str, Any]) -> bool:
        return False  # a shard answers a learn once its events are on disk

    def predict(
        self,
        rows: list[dict[str, Any]],
        keep: bool = True,
        *,
        wait: bool = True,
        blocking: bool = True,
    ) -> PredictResult | None:
        """Each row by its key's model (None for a key never learned); ``blocking=False``
        returns None (the shards are a network call away: never on the event loop)."""
        if not blocking:
            return None
        from tidal.distributed import ShardUnavailableError

        cols = self._columns(rows, fix=False)
        try:
            preds = self.cluster.predict_many(cols, default=None) if rows else []
        except ShardUnavailableError as e:
            raise ServiceError(503, str(e), [], "unavailable") from e
        base = new_base()
        if keep:
            with self._lock:
                ids = self._pending.remember(base, rows)
            self._pending.journal(base, rows)
        else:
            ids = prediction_ids(base, len(rows))
        return PredictResult([plain(p) for p in preds], ids, self.model_version())

    def learn(
        self,
        rows: list[dict[str, Any] | None] | None,
        labels: list[Any],
        prediction_ids: list[str | None] | None = None,
        *,
        event_ids: list[str | None] | None = None,
        probe: int = 0,
    ) -> LearnResult:
        """Learn items (features + label, or a prediction id + label) through the shards,
        each once per event id (see the module). Returns once the shards have them on disk."""
        from tidal.distributed import ShardUnavailableError

        rows, pids, eids = learn_items(len(labels), rows, prediction_ids, event_ids)
        x, ids, fresh = [], [], new_base()
        for i, (row, pid, eid) in enumerate(zip(rows, pids, eids, strict=True)):
            with self._lock:
                row = item_row(i, row, pid, self._pending, self.pending_ttl)
            x.append(row)
            ids.append(eid if eid is not None else f"p:{pid}" if pid else f"u:{fresh}{i:x}")
        if not x:
            return LearnResult(0, None, None, self.model_version())
        cols = self._columns(x, fix=True)
        try:
            res = self.cluster.learn_many(cols, labels, ids)
        except ShardUnavailableError as e:
            raise WalError(str(e)) from e  # a 503: send the items again with the same ids
        applied = res.applied.tolist()
        first = self.applied_seq + 1
        seqs: list[int | None] = []
        for ok in applied:
            seqs.append(self.applied_seq + 1 if ok else None)
            self.applied_seq += bool(ok)
        learned = sum(applied)
        return LearnResult(
            learned,
            first if learned else None,
            self.applied_seq if learned else None,
            self.model_version(),
            [i for i, ok in enumerate(applied) if not ok],
            seqs=seqs,
        )

    # ------------------------------------------------------------------ operations
    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "class": "tidal.distributed.KeyedCluster",
            "params": repr(self.cluster),
            "key": self.key,
            "fitted": self.applied_seq > 0,
            "features": self.features,
            "version": self.model_version(),
            "shards": self.cluster.info(),
            "pending_predictions": len(self._pending),
            "broken": None,
            "frozen": None,
        }

    def state_at(self) -> tuple[int, dict[str, Any]]:
        raise ServiceError(
            409,
            f"model {self.name!r} is keyed: its state lives in its shards' storage "
            f"({self.storage}), one model per key",
            ["path", "name"],
            "keyed",
        )

    def freeze(self, *args: Any, **kwargs: Any) -> None:
        raise ServiceError(
            409, f"model {self.name!r} is keyed: freezing is not offered", [], "keyed"
        )

    def snapshot_due(self, seconds: float) -> bool:
        return False

    def snapshot(self) -> None:
        self.cluster.snapshot()

    def warm_up(self) -> None:
        pass

    def close(self, snapshot: bool = True) -> None:
        self.cluster.close()
        self._pending.close()


def keyed_host(name: str, model: Any, config: Any) -> KeyedHost:
    """The KeyedHost of model ``name`` as ``config`` (a ServiceConfig) sets it up."""
    return KeyedHost(
        name,
        model,
        config.data,
        key=config.key,
        shards=config.shards,
        ray=config.ray,
        shard_cpus=config.shard_cpus,
        snapshot_every=config.snapshot_every,
        pending_max=config.pending_max,
        pending_ttl=config.pending_ttl,
    )
