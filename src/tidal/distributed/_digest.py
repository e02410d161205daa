"""A digest of a state dict: equal digests mean bit-identical states (arrays byte for byte)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

__all__ = ["state_digest"]


def _feed(h: Any, value: Any) -> None:
    if isinstance(value, np.ndarray):
        h.update(f"a{value.dtype.str}{value.shape}".encode())
        h.update(
            np.ascontiguousarray(value).tobytes()
            if value.dtype != object
            else repr(value.tolist()).encode()
        )
    elif isinstance(value, dict):
        h.update(b"{")
        for k in sorted(value, key=str):
            h.update(json.dumps(str(k)).encode())
            _feed(h, value[k])
        h.update(b"}")
    elif isinstance(value, list | tuple):
        h.update(b"[")
        for v in value:
            _feed(h, v)
        h.update(b"]")
    elif isinstance(value, float):
        h.update(b"f" + float.hex(value).encode())
    else:
        h.update(repr(value).encode())


def state_digest(state: Any) -> str:
    """SHA-256 of a state dict, floats and arrays by their exact bits.

    >>> a = {"w": np.array([0.1, 0.2]), "n": 3}
    >>> state_digest(a) == state_digest({"n": 3, "w": np.array([0.1, 0.2])})
    True
    >>> state_digest(a) == state_digest({"w": np.array([0.1, 0.2 + 1e-17]), "n": 3})
    True
    >>> state_digest(a) == state_digest({"w": np.array([0.1, 0.20000000000000004]), "n": 3})
    False
    """
    h = hashlib.sha256()
    _feed(h, state)
    return h.hexdigest()
