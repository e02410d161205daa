"""A drift detector's buffer, reached from its address by the compiled one-value entry points.

``tidal.drift.base`` keeps a detector's parameters ``p`` and state ``s`` as views of one float64
buffer ``[kind, len(p), len(buf), p..., s...]`` and hands the entry points its address: numba
unboxes an int several times faster than an array, which is most of the cost of a call from
Python. The caller keeps the buffer alive.
"""

from __future__ import annotations

import numpy as np
from numba import carray, types
from numba.core.extending import intrinsic

from tidal._kernels import inlined

__all__ = ["detector_at", "f64_ptr"]


@intrinsic
def f64_ptr(typingctx, addr):  # type: ignore[no-untyped-def]
    """Reinterpret an integer address as a float64 pointer (the caller keeps the memory alive)."""
    sig = types.CPointer(types.float64)(addr)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.inttoptr(args[0], context.get_value_type(types.CPointer(types.float64)))

    return sig, codegen


@inlined
def detector_at(addr: int) -> tuple[int, np.ndarray, np.ndarray]:
    """``(kind, p, s)`` of the detector buffer stored at ``addr``, as arrays without a
    reference count."""
    head = carray(f64_ptr(addr), 3)
    buf = carray(f64_ptr(addr), int(head[2]))
    n_params = int(head[1])
    return int(head[0]), buf[3 : 3 + n_params], buf[3 + n_params :]
