"""What the linear learners share: turning the base's hook arguments into kernel arguments."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from tidal._kernels import linear as K
from tidal.base.exceptions import ParameterError, StateError
from tidal.optim import Optimizer
from tidal.optim.config import config_epoch

_NO_ROWS = np.empty(0)


def packed_optimizer(opt: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's hyper-parameter and code vectors, holding what ``opt`` (checked) sets."""
    if not isinstance(opt, Optimizer):
        raise ParameterError(
            f"{owner}: optimizer == {opt!r}, must be a tidal.optim optimiser (e.g. SGD(0.01))"
        )
    H = K.new_hyper()
    C = np.zeros(K.N_CODES, dtype=np.int64)
    opt._pack(H, C, owner)
    return H, C


def kernel_args(
    X_pred: np.ndarray | None,
    X_learn: np.ndarray | None,
    y: Any,
    w: np.ndarray | None,
    out: np.ndarray,
    n_features: int,
    y_dtype: type = np.float64,
) -> tuple[Any, ...]:
    """``(Xp, Xl, do_pred, do_learn, same, y, w, out2d)`` with empty stand-ins for absent parts.

    ``same`` lets a kernel reuse the prediction's dot product for learning when both matrices
    are one object (outside pipelines), which is most of the cost saved per row.
    """
    same = X_pred is not None and X_pred is X_learn
    Xp = _float_matrix(X_pred, n_features)
    Xl = Xp if same else _float_matrix(X_learn, n_features)
    if y is None:
        yv = np.empty(0, dtype=y_dtype)
    elif isinstance(y, np.ndarray) and y.dtype.type in (np.int64, np.float64):
        yv = y if y.flags.c_contiguous else np.ascontiguousarray(y)  # codes stay integers
    else:
        yv = np.ascontiguousarray(y, dtype=y_dtype)
    wv = _NO_ROWS if w is None else _float_vector(w)
    out2 = out.reshape(out.shape[0], -1)
    return Xp, Xl, X_pred is not None, X_learn is not None, same, yv, wv, out2


def _float_matrix(X: np.ndarray | None, n_features: int) -> np.ndarray:
    if X is None:
        return np.empty((0, n_features))
    if type(X) is np.ndarray and X.dtype.type is np.float64 and X.flags.c_contiguous:
        return X  # what the base and the transformers hand over: no conversion to ask numpy
    return np.ascontiguousarray(X, dtype=np.float64)


def _float_vector(w: Any) -> np.ndarray:
    if type(w) is np.ndarray and w.dtype.type is np.float64 and w.flags.c_contiguous:
        return w
    return np.ascontiguousarray(w, dtype=np.float64)


def named_weights(names: tuple[str, ...], coef: np.ndarray) -> dict[str, float]:
    return {n: float(c) for n, c in zip(names, coef)}


@functools.cache
def _param_names(cls: type) -> tuple[str, ...]:
    return tuple(cls._get_param_names())  # type: ignore[attr-defined]


def cached_config(learner: Any, build: Callable[[], Any]) -> Any:
    """``build()``'s result, rebuilt only when a parameter changed (checked by identity/value).

    Optimisers change only through ``set_params``, which bumps the configuration epoch, so
    comparing the epoch and the parameter values is enough; this keeps the per-block cost of
    packing the kernel's parameter vectors out of ``step_many``.
    """
    key = (config_epoch(), *(getattr(learner, k) for k in _param_names(type(learner))))
    hit = learner.__dict__.get("_config_cache")
    if hit is not None and hit[0] == key:
        return hit[1]
    value = build()
    learner.__dict__["_config_cache"] = (key, value)
    return value


def state_array(state: dict[str, Any], key: str, shape: tuple[int, ...], owner: str) -> np.ndarray:
    """A float64 copy of ``state[key]`` with exactly ``shape``, else a StateError.

    Kernels index these arrays without bounds checks, so a snapshot whose arrays do not fit the
    feature set must be refused before it reaches them.
    """
    try:
        arr = np.array(state[key], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as e:
        raise StateError(f"{owner} state: {key!r} is missing or not numeric ({e})") from None
    if arr.shape != shape:
        raise StateError(f"{owner} state: {key!r} has shape {arr.shape}, expected {shape}")
    return arr
