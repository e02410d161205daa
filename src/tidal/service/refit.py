"""Where the served batch models refit: another process (default), a Ray task, or a thread.

``refit = "process"`` (``tidal.toml``) fits in a spawned worker process (:class:`RefitPool`);
``refit = "ray"``, or any ``ray`` address (``tidal serve --ray``), sends each fit to the Ray
cluster as a task; ``refit = "thread"`` keeps the library's own background thread, whose
reproducible deployment makes a learn (and the predictions queued behind its lock) wait for the
fit. With a process or Ray, predictions never wait for a fit and never share the GIL with it:
the fitted estimator comes back and goes live at the next request (see
:mod:`tidal.batch._refit`). Every fit's outcome is counted in ``tidal_refits_total{outcome}``
(``ok``, ``failed``) and timed in ``tidal_refit_seconds``; a failed fit is logged, and the
model that served before keeps serving.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Histogram

from tidal.batch import (
    BatchLearner,
    DoneHook,
    RefitFuture,
    RefitPool,
    refit_backend,
    set_refit_backend,
    settle,
)

__all__ = ["REFIT_BACKENDS", "RayRefit", "Refits"]

log = logging.getLogger("tidal.service")

REFIT_BACKENDS = ("process", "ray", "thread")


class RayRefit:
    """Each fit is a Ray task (one CPU); the result comes back through the object store.

    A worker lost mid-fit fails the fit (no retry: the next retrain of the policy comes
    anyway, and a fit retried late would deploy an older window over a newer one).
    """

    def __init__(self, address: str = "auto", on_done: DoneHook | None = None) -> None:
        from tidal.distributed import connect_ray

        self.ray, _ = connect_ray(address)
        self.on_done = on_done
        self._remote: dict[Callable, Any] = {}

    def submit(self, fn: Callable, *args: Any) -> RefitFuture:
        import time

        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = self.ray.remote(num_cpus=1, max_retries=0)(fn)
        outer = RefitFuture()
        outer.set_running_or_notify_cancel()  # sent at once: not cancellable
        started = time.perf_counter()
        remote.remote(*args).future().add_done_callback(settle(outer, started, self.on_done))
        return outer

    def warm(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


def _has_batch(model: Any, depth: int = 0) -> bool:
    """True if ``model`` is or holds (in its parameters, at any depth) a BatchLearner."""
    if isinstance(model, BatchLearner):
        return True
    if depth > 8:
        return False
    if isinstance(model, list | tuple):
        return any(_has_batch(m, depth + 1) for m in model)
    get = getattr(model, "get_params", None)
    if get is None or isinstance(model, type):
        return False
    try:
        params = get(deep=False)
    except TypeError:
        return False
    return any(_has_batch(v, depth + 1) for v in params.values())


class Refits:
    """The refit backend of one service, installed while it runs and only if it serves a batch
    model; counts each fit's outcome in ``registry``.

    >>> from prometheus_client import CollectorRegistry
    >>> r = Refits("thread", "", CollectorRegistry(), [])
    >>> r.backend is None
    True
    """

    def __init__(self, kind: str, ray: str, registry: Any, models: list[Any]) -> None:
        if kind not in REFIT_BACKENDS:
            raise ValueError(f"refit == {kind!r}, expected one of {list(REFIT_BACKENDS)}")
        self.done = Counter(
            "tidal_refits", "batch model refits by outcome", ["outcome"], registry=registry
        )
        self.seconds = Histogram(
            "tidal_refit_seconds",
            "batch model refit wall time (sent, fitted, returned)",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=registry,
        )
        self.backend: Any = None
        self._previous: Any = None
        if kind == "thread" or not any(_has_batch(m) for m in models):
            return
        if kind == "ray" or ray:
            self.backend = RayRefit(ray or "auto", on_done=self._done)
        else:
            self.backend = RefitPool(on_done=self._done)
        self._previous = set_refit_backend(self.backend)
        self.backend.warm()

    def _done(self, ok: bool, seconds: float, error: BaseException | None) -> None:
        self.done.labels(outcome="ok" if ok else "failed").inc()
        self.seconds.observe(seconds)
        if not ok:
            log.warning("a refit failed (%s: %s); the serving model stays", type(error), error)

    def close(self) -> None:
        if self.backend is None:
            return
        if refit_backend() is self.backend:  # (a previous service's, if it still runs)
            alive = not getattr(self._previous, "_closing", False)
            set_refit_backend(self._previous if alive else None)
        self.backend.shutdown()
        self.backend = None
