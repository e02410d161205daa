"""The memory a model holds: the bytes of the arrays in its state dict."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["model_bytes"]


def _array_bytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, dict):
        return sum(_array_bytes(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(_array_bytes(v) for v in value)
    return 0


def model_bytes(learner: Any) -> int:
    """Bytes of the numpy arrays in ``learner.state_dict()`` (0 before it learned anything).

    >>> from tidal.dummy import MajorityClassifier
    >>> from tidal.evaluate import model_bytes
    >>> model_bytes(MajorityClassifier())
    0
    >>> model_bytes(MajorityClassifier().learn_many([{"x": 0.0}] * 3, ["a", "b", "c"]))
    24
    """
    state_dict = getattr(learner, "state_dict", None)
    if state_dict is None:
        return 0
    state = state_dict()
    return _array_bytes(state.get("state")) if isinstance(state, dict) else 0
