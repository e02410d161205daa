"""Refits in another process, so that serving never waits for a fit nor shares the GIL with it.

By default a :class:`~tidal.batch.BatchLearner` fits in a background thread of its own process,
and in ``mode="reproducible"`` the row that needs the new model waits for it: right for a
comparison (results do not depend on the machine's speed), wrong for a service, where a
prediction would wait behind the lock of a learn that waits for a fit, and a thread's fit takes
the GIL from the request threads.

:func:`set_refit_backend` installs a backend for every later retrain of every BatchLearner in
this process (``tidal serve`` does: a :class:`RefitPool`, or a Ray task when a cluster is
configured). A backend's ``submit(fn, *args)`` returns a :class:`RefitFuture`, and a learner
never waits for one: the fitted estimator comes back, and goes live at the first call (learn
or predict) after it returned and after ``deploy_delay`` rows, in one step under the caller's
lock. A fit that fails (it raised, or its process was killed) leaves the serving model in place;
the learner counts it (``refit_failures_``), keeps the message in ``warnings_`` and logs it.
A fit still queued when a newer one is submitted is cancelled (``refits_superseded_``): when
rows come faster than fits end, the queue stays short and the newest window goes live first.

The training rows are the ones the in-process fit would get (the same copies of the window,
weights and targets, handed to the same ``_fit``), so the models are the same bit for bit.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

__all__ = ["RefitFuture", "RefitPool", "refit_backend", "set_refit_backend"]

log = logging.getLogger("tidal.batch")

#: ``on_done(ok, seconds, error)``: called from a pool thread when a fit ends
DoneHook = Callable[[bool, float, "BaseException | None"], None]

_backend: Any = None


def set_refit_backend(backend: Any) -> Any:
    """Send the retrains started from now on to ``backend`` (None: back to a thread in this
    process). Returns the backend it replaces.

    >>> previous = set_refit_backend(None)
    >>> refit_backend() is None
    True
    """
    global _backend
    previous, _backend = _backend, backend
    return previous


def refit_backend() -> Any:
    """The backend retrains go to (None: a thread of the learner's own)."""
    return _backend


class RefitFuture(Future):
    """A fit running in another process: its learner never blocks on it (see the module).
    ``cancel()`` succeeds only while the fit waits for a worker (a newer one supersedes it)."""


def settle(outer: RefitFuture, started: float, on_done: DoneHook | None) -> Callable:
    """A done-callback that hands an inner future's outcome to ``outer`` (running) and to
    ``on_done``."""

    def done(inner: Any) -> None:
        error = inner.exception()
        if on_done is not None:
            try:
                on_done(error is None, time.perf_counter() - started, error)
            except Exception:  # noqa: BLE001 (a metrics hook must not lose the outcome)
                log.exception("refit on_done hook failed")
        if error is None:
            outer.set_result(inner.result())
        else:
            outer.set_exception(error)

    return done


class RefitPool:
    """Fits in ``workers`` worker processes (``spawn``: nothing of the server's threads or
    locks is forked), at ``nice`` (added to this process's niceness: on a busy machine the
    cores go to serving first, the fit takes what is left). Fits beyond ``workers`` wait here,
    where a newer one can supersede them (:meth:`RefitFuture.cancel`). A worker that dies
    (killed, out of memory) fails the fit it held; the next fit starts a fresh pool.

    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from tidal.batch import BatchRegressor, EveryN
    >>> pool = RefitPool()
    >>> previous = set_refit_backend(pool)
    >>> X = np.arange(200.0).reshape(-1, 1)
    >>> m = BatchRegressor(Ridge(), retrain=EveryN(100)).learn_many(X, 2 * X[:, 0] + 1)
    >>> m.wait_refits().n_retrains_ + m.refits_superseded_  # fitted in the pool's process
    2
    >>> round(m.predict_one({"x0": 1000.0}))
    2001
    >>> _ = set_refit_backend(previous); pool.shutdown()
    """

    def __init__(
        self,
        workers: int = 1,
        context: str = "spawn",
        on_done: DoneHook | None = None,
        nice: int = 10,
    ) -> None:
        self.workers = int(workers)
        self.context = context
        self.nice = int(nice)
        self.on_done = on_done
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._closing = False
        self._busy = 0
        self._waiting: list[tuple[RefitFuture, Callable, tuple]] = []

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context(self.context)
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=ctx, initializer=_lower_priority, initargs=(self.nice,)
            )
        return self._pool

    def submit(self, fn: Callable, *args: Any) -> RefitFuture:
        """Run ``fn(*args)`` in a worker process; the result comes back in a RefitFuture."""
        outer = RefitFuture()
        with self._lock:
            self._waiting.append((outer, fn, args))
            self._next()
        return outer

    def _next(self) -> None:
        """Start waiting fits while a worker is free (under the lock)."""
        while self._waiting and self._busy < self.workers and not self._closing:
            outer, fn, args = self._waiting.pop(0)
            if not outer.set_running_or_notify_cancel():
                continue  # superseded while it waited
            try:
                inner = self._executor().submit(fn, *args)
            except BrokenProcessPool:  # a worker died: its fit failed, later ones go on
                self._pool.shutdown(wait=False)
                self._pool = None
                inner = self._executor().submit(fn, *args)
            self._busy += 1
            inner.add_done_callback(self._finished(outer))

    def _finished(self, outer: RefitFuture) -> Callable:
        report = settle(outer, time.perf_counter(), self._report)

        def done(inner: Any) -> None:
            report(inner)
            with self._lock:
                self._busy -= 1
                self._next()

        return done

    def _report(self, ok: bool, seconds: float, error: BaseException | None) -> None:
        if self.on_done is not None and not self._closing:  # fits abandoned at shutdown
            self.on_done(ok, seconds, error)

    def warm(self) -> None:
        """Start the worker processes now (a spawned worker imports tidal: ~1 s), so the
        first refit does not pay for it."""
        with self._lock:
            pool = self._executor()
        pool.submit(_import_learner)

    def shutdown(self) -> None:
        """Stop the workers now: fits in flight are abandoned (a stopping service must not
        wait minutes for a fit whose model it would not serve)."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._closing = True
            waiting, self._waiting = self._waiting, []
        for outer, _, _ in waiting:
            outer.cancel()
        if pool is None:
            return
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False)
        for worker in workers:
            worker.terminate()


def _lower_priority(nice: int) -> None:
    if nice > 0 and hasattr(os, "nice"):
        os.nice(nice)


def _import_learner() -> None:
    # what a fit needs before its first call: scikit-learn and tidal's compiled base (numba);
    # the fit function's own module comes with the first pickled call
    import sklearn.base  # noqa: F401

    import tidal.base  # noqa: F401
