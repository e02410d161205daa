"""Bounded BLAS and OpenMP thread pools around scikit-learn / LightGBM calls.

``n_jobs=1`` does not bound BLAS or OpenMP: a scikit-learn ``LogisticRegression`` fit spawns as
many OpenBLAS threads as there are cores, which then fight the numba learners (and each other)
for them. On a 2-core machine that made a default ``tidal compare`` 7x slower. Every fit and
predict of an external estimator therefore runs inside :func:`bounded_threads`.

Two facts shape the code:

- OpenBLAS's thread count (pthreads build) is one global setting: threads that enter and leave
  at different times must not restore it under each other. The first thread in sets it, the
  last one out restores it (a counter under a lock). threadpoolctl >= 3.6 lets only one
  "controlling" thread set it and silently ignores the others (a training thread would stay
  unbounded), so the count is set through the library's own call.
- OpenMP's count (``omp_set_num_threads``) belongs to the calling thread: each thread sets and
  restores its own, so a training thread is bounded too.

>>> from threadpoolctl import threadpool_info
>>> with bounded_threads(1):
...     all(p["num_threads"] == 1 for p in threadpool_info())
True
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["bounded_threads"]

_lock = threading.Lock()
_blas_users = 0
_blas_saved: list[tuple[Any, int]] = []
_controller: Any = None
_modules_seen = -1


def _pools() -> Any:
    """A cached ThreadpoolController (building one scans the loaded libraries: ~2 ms), rebuilt
    when new modules were imported since (one may have loaded a BLAS or an OpenMP runtime)."""
    global _controller, _modules_seen
    if _controller is None or len(sys.modules) != _modules_seen:
        from threadpoolctl import ThreadpoolController

        _controller, _modules_seen = ThreadpoolController(), len(sys.modules)
    return _controller


def _limit(libs: list[Any], n: int) -> list[tuple[Any, int]]:
    """Set each library's count to ``n``; returns what to restore."""
    saved = []
    for lib in libs:
        before = lib.get_num_threads()
        if before is None or before == n:
            continue
        # the library's own call, not threadpoolctl's per-thread ownership (see above)
        getattr(lib, "_real_set_num_threads", lib.set_num_threads)(n)
        saved.append((lib, before))
    return saved


def _per_thread(lib: Any) -> bool:
    """OpenMP runtimes, and a BLAS built on OpenMP, keep one count per thread."""
    return lib.user_api == "openmp" or getattr(lib, "threading_layer", None) == "openmp"


def _restore(saved: list[tuple[Any, int]]) -> None:
    for lib, before in saved:
        getattr(lib, "_real_set_num_threads", lib.set_num_threads)(before)


@contextmanager
def bounded_threads(n: int | None = 1) -> Iterator[None]:
    """Run the block with at most ``n`` BLAS threads and ``n`` OpenMP threads in this thread.

    ``n=None`` (or ``n < 1``, scikit-learn's "all cores") leaves the pools alone. Nested and
    concurrent uses are safe; while several threads are inside, the BLAS bound is the one set
    by the first.
    """
    if n is None or n < 1:
        yield
        return
    global _blas_users, _blas_saved
    n = int(n)
    with _lock:
        libs = _pools().lib_controllers
        per_thread = [lib for lib in libs if _per_thread(lib)]
        if _blas_users == 0:
            _blas_saved = _limit([lib for lib in libs if not _per_thread(lib)], n)
        _blas_users += 1
    omp = _limit(per_thread, n)
    try:
        yield
    finally:
        _restore(omp)
        with _lock:
            _blas_users -= 1
            if _blas_users == 0:
                _restore(_blas_saved)
                _blas_saved = []
