"""Compilation kept out of the measurements: a warm-up before the clock, and a compile clock.

numba compiles a kernel the first time it is called (or loads it from the on-disk cache). A
cold run used to charge those minutes to whichever learner called the kernel first: a cold
``make demo`` quoted arf at 83 CPU s, a warm one at 2 s. Two mechanisms keep the cost table
the same cold and warm:

- :func:`warm_up` runs a *copy* of each learner (a fresh clone: the learner itself is not
  touched) on the first rows of the stream before the engine starts its clocks, through the
  calls the engine will make (test-then-train, predict, learn), so that the kernels are
  compiled or loaded there.
- :class:`CompileClock` measures, while the run lasts, every moment spent holding numba's
  compiler lock (compiling, or loading from the cache) -- a kernel first reached later in the
  stream (a tree's first split of a rare kind) -- so that the engine takes it off the learner
  that triggered it and books it apart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["CompileClock", "warm_up", "PROBE_ROWS"]

#: rows of the stream a learner's copy sees in the warm-up: enough for the trees to try their
#: first splits (grace periods of 50-200 rows) and the drift detectors to check
PROBE_ROWS = 2000


class CompileClock:
    """CPU and wall seconds spent in numba's compiler (compiling or loading kernels).

    Use as a context manager; ``cpu``, ``wall`` and ``compiled`` (compilations, not loads
    from the cache; a kernel's helpers count too) grow while it is installed.

    >>> import numpy as np
    >>> from numba import njit
    >>> with CompileClock() as clock:
    ...     @njit
    ...     def _twice(a):
    ...         return a * 2.0
    ...     _ = _twice(np.ones(2))
    >>> clock.cpu > 0, clock.wall > 0, clock.compiled > 0
    (True, True, True)
    """

    def __init__(self) -> None:
        self.cpu = 0.0
        self.wall = 0.0
        self.compiled = 0
        self._local = threading.local()
        self._listeners: list[tuple[str, Any]] = []

    def __enter__(self) -> CompileClock:
        from numba.core import event

        clock = self

        class _Lock(event.Listener):
            def on_start(self, ev: Any) -> None:
                clock._start()

            def on_end(self, ev: Any) -> None:
                clock._end()

        class _Compile(event.Listener):
            def on_start(self, ev: Any) -> None:
                pass

            def on_end(self, ev: Any) -> None:
                clock.compiled += 1

        self._listeners = [("numba:compiler_lock", _Lock()), ("numba:compile", _Compile())]
        for kind, listener in self._listeners:
            event.register(kind, listener)
        return self

    def __exit__(self, *exc: Any) -> None:
        from numba.core import event

        for kind, listener in self._listeners:
            event.unregister(kind, listener)
        self._listeners = []

    # the lock is re-entrant: only the outermost acquisition of each thread is timed
    def _start(self) -> None:
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self._local.t0 = (time.process_time(), time.perf_counter())
        self._local.depth = depth + 1

    def _end(self) -> None:
        depth = getattr(self._local, "depth", 0) - 1
        self._local.depth = max(depth, 0)
        if depth == 0 and hasattr(self._local, "t0"):
            cpu0, wall0 = self._local.t0
            self.cpu += time.process_time() - cpu0
            self.wall += time.perf_counter() - wall0


def _private_copy(copy: Any) -> Any:
    """``copy`` writing nowhere the learner does: a batch learner's row ``store`` folder (even
    nested in a hybrid or a pipeline) becomes a temporary one."""
    try:
        params = copy.get_params(deep=True)
    except Exception:  # not an estimator: nothing to redirect
        return copy
    shared = {k: None for k, v in params.items() if k.split("__")[-1] == "store" and v}
    if shared:
        copy.set_params(**shared)
    return copy


def warm_up(
    learners: dict[str, Any],
    block: Any,
    classifiers: dict[str, bool],
    on_learner: Callable[[str, int], None] | None = None,
) -> dict[str, str]:
    """Run a fresh clone of each learner on the first rows of ``block`` (at most
    :data:`PROBE_ROWS`) through test-then-train, predict-only and learn-only calls.

    Returns ``{name: error}`` for the copies that raised (the run itself will report its own
    error). ``on_learner(name, i)`` is called before the ``i``-th learner.
    """
    from sklearn.base import clone

    failed = {}
    n = min(len(block), PROBE_ROWS)
    if n == 0:
        return failed
    head = block.slice(0, n)
    cut = max(n // 2, 1)
    first, rest = head.slice(0, cut), head.slice(cut, n)
    for i, (name, learner) in enumerate(learners.items()):
        if on_learner is not None:
            on_learner(name, i)
        try:
            copy = _private_copy(clone(learner))
            if classifiers[name]:
                copy.step_proba_many(first, first.y)
                if len(rest):
                    copy.predict_proba_many(rest)
            else:
                copy.step_many(first, first.y)
                if len(rest):
                    copy.predict_many(rest)
            if len(rest):
                copy.learn_many(rest, rest.y)
            flush = getattr(copy, "flush", None)
            if callable(flush):
                flush()
        except Exception as err:  # noqa: BLE001 -- the real run reports the learner's error
            failed[name] = f"{type(err).__name__}: {err}"
    return failed
