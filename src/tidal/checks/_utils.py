"""Shared helpers of the checks: feeding a stream in blocks, exact comparisons."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from tidal.checks._datasets import Dataset

__all__ = [
    "step",
    "predict",
    "fitted_copy",
    "prequential",
    "labels_stream",
    "assert_same",
    "assert_same_state",
    "assert_same_learner_state",
    "float_tolerance",
    "frozen_state",
]


def step(learner: Any, X: Any, y: Any, w: Any = None) -> np.ndarray:
    """Test-then-train on ``X`` (rows weighted by ``w``): probabilities, values, or each row
    transformed before it is learned (what a downstream model sees)."""
    tags = learner._get_tags()
    if tags.is_classifier:
        return learner.step_proba_many(X, y, w)
    if tags.task == "transformer":
        return learner._steps(X, learn=True)[0]
    return learner.step_many(X, y, w)


def predict(learner: Any, X: Any) -> np.ndarray:
    """Probabilities, values or transformed rows for ``X``, learning nothing."""
    tags = learner._get_tags()
    if tags.task == "transformer":
        return learner.transform_many(X)
    return learner.predict_proba_many(X) if tags.is_classifier else learner.predict_many(X)


def fitted_copy(learner: Any, data: Dataset, n: int = 300) -> Any:
    """An unfitted clone of ``learner`` that has learned the first ``n`` rows."""
    from sklearn.base import clone

    m = clone(learner)
    prequential(m, data, 0, n, n)
    return m


def prequential(
    learner: Any, data: Dataset, lo: int, hi: int, block: int, w: Any = None
) -> np.ndarray:
    """Test-then-train outputs for rows ``lo:hi`` fed as dicts of columns of ``block`` rows
    (weighted by ``w[lo:hi]`` when given): class probabilities (columns: every class of the
    stream, in ``classes_`` order at the end, zeros for classes not known yet), predicted values,
    or the transformed rows."""
    parts, classes = [], []
    for s in range(lo, hi, block):
        e = min(s + block, hi)
        parts.append(
            np.asarray(
                step(learner, data.columns(s, e), data.y[s:e], None if w is None else w[s:e])
            )
        )
        if parts[-1].ndim == 2 and learner._get_tags().is_classifier:
            classes.append(learner.classes_.tolist())
    if parts and classes:
        final = classes[-1]
        aligned = []
        for p, c in zip(parts, classes):
            out = np.zeros((p.shape[0], len(final)))
            out[:, [final.index(v) for v in c]] = p
            aligned.append(out)
        parts = aligned
    return np.concatenate(parts) if parts else np.empty(0)


def labels_stream(
    learner: Any, data: Dataset, lo: int, hi: int, block: int, w: Any = None
) -> list[Any]:
    """``step_many`` predictions for rows ``lo:hi`` fed in blocks (weighted by ``w``), as a
    list."""
    out: list[Any] = []
    for s in range(lo, hi, block):
        e = min(s + block, hi)
        ws = None if w is None else w[s:e]
        out.extend(learner.step_many(data.columns(s, e), data.y[s:e], ws).tolist())
    return out


def _equal_arrays(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return a.tolist() == b.tolist()


def _close(a: np.ndarray, b: np.ndarray, atol: float) -> bool:
    return (
        atol > 0
        and a.shape == b.shape
        and a.dtype.kind in "fc"
        and b.dtype.kind in "fc"
        and bool(np.allclose(a, b, rtol=0.0, atol=atol, equal_nan=True))
    )


def float_tolerance(learner: Any) -> float:
    """The largest ``_float_tolerance`` declared by the learner or the learners in its params.

    0 (bit-for-bit equality) for every compiled tidal learner; learners that wrap a third-party
    estimator (BatchLearner) declare 1e-9, because e.g. scikit-learn's ``predict`` on 1 row and
    on 1,000 rows goes through different BLAS kernels and differs in the last bits.
    """
    members = [learner, *learner.get_params(deep=True).values()]
    return max(float(getattr(m, "_float_tolerance", 0.0)) for m in members)


def assert_same(a: Any, b: Any, what: str, atol: float = 0.0) -> None:
    """Exact equality (NaN equals NaN) of two outputs, naming the first difference; with
    ``atol`` > 0, float outputs may differ by at most ``atol``."""
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if _equal_arrays(a_arr, b_arr) or _close(a_arr, b_arr, atol):
        return
    if a_arr.shape != b_arr.shape:
        raise AssertionError(f"{what}: shapes differ, {a_arr.shape} vs {b_arr.shape}")
    if a_arr.dtype.kind in "fc" and b_arr.dtype.kind in "fc":
        diff = ~((a_arr == b_arr) | (np.isnan(a_arr) & np.isnan(b_arr)))
    else:
        diff = np.array([u != v for u, v in zip(a_arr.ravel().tolist(), b_arr.ravel().tolist())])
        diff = diff.reshape(a_arr.shape)
    first = np.argwhere(diff)[0]
    i = tuple(int(k) for k in first)
    raise AssertionError(
        f"{what}: differ at {i} (row {i[0]}): {a_arr[i]!r} vs {b_arr[i]!r} "
        f"({int(diff.sum())} cells differ)"
    )


def assert_same_state(
    a: Any,
    b: Any,
    what: str,
    path: str = "state",
    ignore: frozenset[str] = frozenset(),
    atol: float = 0.0,
) -> None:
    """Exact equality of two state dicts (arrays bit for bit, dtypes included), except for the
    keys in ``ignore`` (a learner's ``_unstable_state_keys``: measured seconds and the like)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            raise AssertionError(f"{what}: {path} keys differ: {sorted(a)} vs {sorted(b)}")
        for k in a:
            if (path == "state" and k == "tidal_version") or k in ignore:
                continue
            assert_same_state(a[k], b[k], what, f"{path}.{k}", ignore, atol)
        return
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a_arr, b_arr = np.asarray(a), np.asarray(b)
        if a_arr.dtype != b_arr.dtype or not (
            _equal_arrays(a_arr, b_arr) or _close(a_arr, b_arr, atol)
        ):
            raise AssertionError(
                f"{what}: {path} differs: {a_arr.dtype}{a_arr.shape} vs {b_arr.dtype}{b_arr.shape}"
                f"\n{a_arr!r}\n{b_arr!r}"[:2000]
            )
        return
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            raise AssertionError(f"{what}: {path} lengths differ: {len(a)} vs {len(b)}")
        for i, (u, v) in enumerate(zip(a, b)):
            assert_same_state(u, v, what, f"{path}[{i}]", ignore, atol)
        return
    same = a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)
    if not same and atol > 0 and isinstance(a, float) and isinstance(b, float):
        same = abs(a - b) <= atol
    if not same:
        raise AssertionError(f"{what}: {path} differs: {a!r} vs {b!r}")


def frozen_state(learner: Any) -> dict[str, Any]:
    """A deep copy of the learner's state dict, safe from later in-place updates."""
    return copy.deepcopy(learner.state_dict())


def assert_same_learner_state(learner: Any, a: Any, b: Any, what: str, atol: float = 0.0) -> None:
    """:func:`assert_same_state`, skipping the unstable keys declared by the learner and by the
    learners among its parameters (a hybrid's batch member, a pipeline's steps)."""
    members = [learner, *learner.get_params(deep=True).values()]
    ignore = frozenset().union(*(getattr(m, "_unstable_state_keys", ()) for m in members))
    assert_same_state(a, b, what, ignore=ignore, atol=atol)
