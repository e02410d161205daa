"""Send each shard one batched call, concurrently, and retry a dead shard with the same event ids.

The router groups a batch's events by the shard that owns their key's virtual shard and makes one
call per shard. On Ray the calls run concurrently (all submitted, then gathered). A call that
fails because the shard's process died is sent again -- the same events with the same event ids --
until it succeeds or ``retry_timeout`` runs out: the restarted shard restored every event it had
logged, so a retried event it already applied is answered as a duplicate (with the prediction it
recorded) and never learned twice. Events it had not logged are learned now: none is lost.

Shards are reached through a :class:`Calls` object: :class:`LocalCalls` calls :class:`Shard`
objects in this process (what the unit tests use), :class:`tidal.distributed._actor.RayCalls`
calls Ray actors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tidal.base.exceptions import TidalError
from tidal.distributed._events import EventBatch, LearnResult
from tidal.distributed._shard import NotOwnerError
from tidal.distributed._shardmap import ShardMap

__all__ = ["Calls", "LocalCalls", "Router", "ShardUnavailableError", "ShardDown"]


class ShardUnavailableError(TidalError, TimeoutError):
    """A shard did not answer within the retry timeout; its events are not confirmed.

    >>> isinstance(ShardUnavailableError("shard 1: 3 events"), TimeoutError)
    True
    """


class ShardDown(TidalError, ConnectionError):
    """A call failed because the shard's process is gone (retrying is safe)."""


class Calls:
    """How a router reaches its shards: ``run([(shard, method, args)])`` returns, per call, its
    result or the exception it raised (:class:`ShardDown` when the shard's process died)."""

    def run(self, calls: list[tuple[int, str, tuple]]) -> list[Any]:
        raise NotImplementedError


class LocalCalls(Calls):
    """Calls :class:`tidal.distributed.Shard` objects in this process, one after another."""

    def __init__(self, shards: Sequence[Any]) -> None:
        self.shards = list(shards)

    def run(self, calls: list[tuple[int, str, tuple]]) -> list[Any]:
        out = []
        for shard, method, args in calls:
            try:
                out.append(getattr(self.shards[shard], method)(*args))
            except Exception as e:  # noqa: BLE001 (handed back to the router, per call)
                out.append(e)
        return out


def _groups(shards: np.ndarray) -> list[tuple[int, np.ndarray]]:
    order = np.argsort(shards, kind="stable")
    uniq, starts = np.unique(shards[order], return_index=True)
    ends = [*starts[1:], len(order)]
    return [(int(s), order[a:b]) for s, a, b in zip(uniq, starts, ends, strict=True)]


class Router:
    """Route learn and predict batches to the shards that own their keys.

    Parameters
    ----------
    shard_map
        Key -> virtual shard -> shard.
    calls
        How the shards are reached (:class:`LocalCalls`, or Ray actors).
    retry_timeout
        Seconds to keep retrying a shard whose process died before giving up.
    reload_map
        Called for a fresh map when a shard says it does not own a virtual shard (another
        client moved it); without it that error is raised.

    >>> import tempfile
    >>> from tidal.linear_model import LinearRegression
    >>> from tidal.distributed import Shard
    >>> storage, m = tempfile.mkdtemp(), ShardMap(shards=2, n_virtual=8)
    >>> shards = [Shard(LinearRegression(), "k", storage, s, m.owned_by(s)) for s in (0, 1)]
    >>> router = Router(m, LocalCalls(shards))
    >>> b = EventBatch.read({"k": [1, 2, 3], "x": [1.0, 1.0, 1.0]}, [1.0, 2.0, 3.0], [1, 2, 3], "k")
    >>> router.learn(b).applied.tolist(), router.learn(b).n_duplicates
    ([True, True, True], 3)
    >>> for s in shards: s.close()
    """

    def __init__(
        self,
        shard_map: ShardMap,
        calls: Calls,
        retry_timeout: float = 60.0,
        reload_map: Callable[[], ShardMap] | None = None,
    ) -> None:
        self.map = shard_map
        self.calls = calls
        self.retry_timeout = float(retry_timeout)
        self.reload_map = reload_map
        self.retries = 0  # calls sent again after a shard died (for monitoring and tests)

    def _send(
        self, method: str, n: int, keys: np.ndarray, make_args: Callable, ids: list[str] | None
    ) -> list[tuple[np.ndarray, Any]]:
        """One call per shard for the rows ``0..n-1``; retried per shard until done."""
        vshards = self.map.virtual_of(keys)
        pending = _groups(self.map.shard_of_virtual(vshards))
        done: list[tuple[np.ndarray, Any]] = []
        deadline = time.monotonic() + self.retry_timeout
        pause = 0.05
        while pending:
            results = self.calls.run(
                [(s, method, make_args(rows, vshards[rows])) for s, rows in pending]
            )
            failed, stale = [], []
            for (s, rows), got in zip(pending, results, strict=True):
                if isinstance(got, ShardDown):
                    failed.append((s, rows, got))
                elif isinstance(got, NotOwnerError) and self.reload_map is not None:
                    stale.append((rows, got))
                elif isinstance(got, BaseException):
                    raise got
                else:
                    done.append((rows, got))
            if stale:
                before = self.map.to_dict()
                self.map = self.reload_map()
                if self.map.to_dict() == before:  # not a stale map: the shards disagree with it
                    raise stale[0][1]
                rows = np.concatenate([r for r, _ in stale])
                pending = [
                    (s, rows[r]) for s, r in _groups(self.map.shard_of_virtual(vshards[rows]))
                ]
            else:
                pending = []
            if failed:
                if time.monotonic() > deadline:
                    self._give_up(failed, ids)
                self.retries += len(failed)
                time.sleep(pause)
                pause = min(1.0, pause * 2)
                pending += [(s, rows) for s, rows, _ in failed]
        return done

    def _give_up(self, failed: list, ids: list[str] | None) -> None:
        lines = []
        for s, rows, err in failed:
            what = f"{len(rows)} events"
            if ids is not None:
                shown = [ids[i] for i in rows[:5]]
                what += f" (event ids {', '.join(shown)}{', ...' if len(rows) > 5 else ''})"
            lines.append(f"shard {s}: {what}; last error: {err}")
        raise ShardUnavailableError(
            f"no answer after retrying for {self.retry_timeout:g} s:\n  "
            + "\n  ".join(lines)
            + "\nthese events are not confirmed: send them again with the same event ids "
            "(already applied ones are answered as duplicates, never learned twice)"
        )

    def learn(self, batch: EventBatch) -> LearnResult:
        """Learn a batch (one call per shard); per event: applied or duplicate, and the
        prediction made before learning."""
        parts = self._send(
            "learn", len(batch), batch.keys, lambda rows, v: (batch.take(rows), v), batch.ids
        )
        return LearnResult.assemble(parts, len(batch))

    def predict(self, keys: np.ndarray, X: dict[str, np.ndarray]) -> np.ndarray:
        """Each row by its key's model (``None`` for keys never learned)."""
        parts = self._send(
            "predict",
            len(keys),
            keys,
            lambda rows, v: (keys[rows], {n: c[rows] for n, c in X.items()}, v),
            None,
        )
        out = np.empty(len(keys), dtype=object)
        for rows, got in parts:
            out[rows] = got
        if parts and all(np.asarray(g).dtype.kind in "fiub" for _, g in parts):
            return np.asarray(out.tolist())
        return out
