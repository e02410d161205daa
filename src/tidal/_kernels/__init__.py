"""Compiled kernels: pure functions on arrays, compiled by numba. The one place that sets numba up.

Imports nothing else from tidal. Kernels are compiled with ``cache=True``; when the package folder
is not writable (a wheel installed into a read-only site-packages), the cache goes to
``$TIDAL_NUMBA_CACHE_DIR``, else ``$XDG_CACHE_HOME/tidal/numba`` (``~/.cache/tidal/numba``).
``NUMBA_DISABLE_JIT=1`` runs the same kernels as plain Python for debugging.
"""

from __future__ import annotations

import os
import tempfile


def _writable(path: str) -> bool:
    probe = os.path.join(path, "__pycache__")
    try:
        os.makedirs(probe, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=probe)
        os.close(fd)
        os.unlink(name)
        return True
    except OSError:
        return False


def _configure_cache() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = os.path.dirname(os.path.abspath(__file__))
    if _writable(here) and not os.environ.get("TIDAL_NUMBA_CACHE_DIR"):
        return
    base = os.environ.get("TIDAL_NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "tidal",
        "numba",
    )
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        base = os.path.join(tempfile.gettempdir(), "tidal-numba-cache")
        os.makedirs(base, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = base
    import sys

    if "numba" in sys.modules:  # numba already imported by the user: tell its config too
        from numba.core import config

        config.CACHE_DIR = base


_configure_cache()

from numba import njit  # noqa: E402

__all__ = ["inlined", "jit", "njit"]


def jit(fn):  # type: ignore[no-untyped-def]
    """The decorator every kernel uses: nopython, cached on disk, no fastmath (exact results)."""
    return njit(cache=True, nogil=True)(fn)


def inlined(fn):  # type: ignore[no-untyped-def]
    """Helpers run once per row by the learning loops, inlined by numba itself: a call passes
    every array by value and counts its references, which costs more than some helpers' work."""
    return njit(cache=True, nogil=True, inline="always")(fn)
