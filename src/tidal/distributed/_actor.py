"""Shards as Ray actors: restarted by Ray after a crash, restored by their constructor.

Ray is imported here, and only when an actor is made or called.
"""

from __future__ import annotations

from typing import Any

from tidal.distributed._connect import import_ray
from tidal.distributed._router import Calls, ShardDown
from tidal.distributed._shard import Shard

__all__ = ["RayCalls", "shard_actor"]


def shard_actor(name: str, options: dict[str, Any] | None = None, **shard_kwargs: Any) -> Any:
    """Start (or find, by ``name``) a :class:`Shard` as a Ray actor that Ray restarts forever
    (``max_restarts=-1``); each restart runs the constructor, which restores from storage.
    Calls in flight when it died fail (no automatic task retry): the router sends them again."""
    ray = import_ray()
    opts = {"num_cpus": 1, "scheduling_strategy": "SPREAD", **(options or {})}
    cls = ray.remote(Shard)
    return cls.options(
        name=name, get_if_exists=True, max_restarts=-1, max_task_retries=0, **opts
    ).remote(**shard_kwargs)


class RayCalls(Calls):
    """Calls shard actors: every call submitted first, then all gathered (they run at once)."""

    def __init__(self, actors: list[Any]) -> None:
        self.actors = actors

    def run(self, calls: list[tuple[int, str, tuple]]) -> list[Any]:
        ray = import_ray()
        refs = [getattr(self.actors[s], method).remote(*args) for s, method, args in calls]
        out = []
        for ref in refs:
            try:
                out.append(ray.get(ref))
            except ray.exceptions.RayActorError as e:  # died, restarting or unreachable
                out.append(ShardDown(str(e).splitlines()[0] if str(e) else type(e).__name__))
            except ray.exceptions.RayTaskError as e:  # raised inside the shard: the cause
                cause = e.as_instanceof_cause()
                out.append(cause if isinstance(cause, BaseException) else e)
        return out
