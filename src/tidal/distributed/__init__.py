"""Keyed models sharded over processes and machines (Ray), with the service's exactly-once
promise: :class:`KeyedCluster`.

A key's model lives in one *virtual shard* (a stable hash of the key, 256 by default), each with
its own write-ahead log and sealed snapshots in a folder of ``storage``; a *shard* (a Ray actor,
or an object in this process) owns some virtual shards; a *router* sends each shard one batched
call per batch and, when a shard's process dies, sends the same events with the same event ids
again once Ray restarted it (its constructor restores its virtual shards from storage). Virtual
shards move between shards (drain, snapshot, reopen elsewhere) without losing or doubling events.

Ray is imported only when a cluster is started on Ray (``address=``); ``import tidal`` never
imports this package.

>>> import tempfile
>>> from tidal.linear_model import LinearRegression
>>> with KeyedCluster(LinearRegression(), key="k", shards=2, storage=tempfile.mkdtemp()) as c:
...     r = c.learn_many({"k": [1, 2, 1], "x": [1.0, 2.0, 1.0]}, [1.0, 4.0, 1.0], [10, 11, 12])
...     r.n_applied, r.predictions.round(2).tolist()
(3, [0.0, 0.0, 0.04])
"""

from tidal.distributed._cluster import KeyedCluster
from tidal.distributed._connect import connect_ray, import_ray
from tidal.distributed._digest import state_digest
from tidal.distributed._events import EventBatch, LearnResult
from tidal.distributed._router import LocalCalls, Router, ShardUnavailableError
from tidal.distributed._shard import NotOwnerError, Shard
from tidal.distributed._shardmap import ShardMap, key_bytes, virtual_shard

__all__ = [
    "EventBatch",
    "KeyedCluster",
    "LearnResult",
    "LocalCalls",
    "NotOwnerError",
    "Router",
    "Shard",
    "ShardMap",
    "ShardUnavailableError",
    "connect_ray",
    "import_ray",
    "key_bytes",
    "state_digest",
    "virtual_shard",
]
