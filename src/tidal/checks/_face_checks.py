"""Checks of what the array and scikit-learn faces hand out: class order and typed outputs."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from tidal.checks._datasets import Dataset
from tidal.checks._utils import assert_same, float_tolerance

__all__ = ["check_classes_sorted", "check_typed_predictions"]


def _relabelled(dataset: Dataset) -> Dataset:
    """The stream with labels renamed so that first-seen order is the reverse of sorted order:
    the first label seen becomes "z", the second "y"... (a late class then sorts first)."""
    seen: list[Any] = []
    for v in dataset.y.tolist():
        if v not in seen:
            seen.append(v)
    names = {v: chr(ord("z") - k) for k, v in enumerate(seen)}
    y = np.array([names[v] for v in dataset.y.tolist()])
    return Dataset(dataset.name + "-relabelled", dataset.X, y, dataset.names)


def _by_label(learner: Any, X: dict, n: int) -> np.ndarray:
    """``predict_proba_one`` (the River face, keyed by label) as rows in ``classes_`` order."""
    rows = [{k: float(v[i]) for k, v in X.items()} for i in range(n)]
    classes = learner.classes_.tolist()
    return np.array([[learner.predict_proba_one(r).get(c, 0.0) for c in classes] for r in rows])


def check_classes_sorted(learner: Any, dataset: Dataset) -> None:
    """``classes_`` is sorted as scikit-learn sorts it (``np.unique``), also after a class that
    sorts first arrives mid-stream and after a state round-trip; the columns of
    ``predict_proba_many``, ``predict_proba`` and ``step_proba_many`` follow ``classes_``."""
    from tidal.base import learner_from_state

    data = _relabelled(dataset)
    tol = float_tolerance(learner)
    m = clone(learner)
    half, n = data.n // 2, data.n
    for lo, hi in ((0, half), (half, n - 50)):
        before = m.predict_proba_many(data.columns(lo, lo + 1)) if m.is_fitted else None
        known = m.classes_.tolist() if m.is_fitted else []
        out = m.step_proba_many(data.columns(lo, hi), data.y[lo:hi])
        classes = m.classes_.tolist()
        assert classes == np.unique(data.y[:hi]).tolist(), (
            f"classes_ {classes} after rows 0..{hi - 1}, expected {np.unique(data.y[:hi])}"
        )
        assert out.shape == (hi - lo, len(classes)), f"step_proba_many shape {out.shape}"
        if before is not None:  # row `lo` was predicted by step_proba_many as by predict_proba
            cols = [classes.index(c) for c in known]
            assert_same(out[:1, cols], before, "step_proba_many vs predict_proba_many", tol)
        rest = data.columns(hi, hi + 5)
        proba = m.predict_proba_many(rest)
        assert_same(proba, _by_label(m, rest, 5), "predict_proba_many vs predict_proba_one", tol)
        sk = m.predict_proba(np.column_stack([rest[k] for k in data.names]))
        assert_same(sk, proba, "predict_proba vs predict_proba_many", tol)
    back = learner_from_state(m.state_dict())
    assert back.classes_.tolist() == m.classes_.tolist(), "classes_ after a state round-trip"
    rest = data.columns(n - 50, n)
    assert_same(back.predict_proba_many(rest), m.predict_proba_many(rest), "after restore", tol)


def check_typed_predictions(learner: Any, dataset: Dataset) -> None:
    """``step_many`` and ``predict_many`` return typed arrays (labels of the stream's dtype,
    finite floats) on every row, the first ones included, that ``sklearn.metrics`` accept."""
    from sklearn.metrics import accuracy_score, mean_absolute_error

    tags = learner._get_tags()
    m = clone(learner)
    parts = []
    for s, e in ((0, 1), (1, 5), (5, 700)):
        parts.append(m.step_many(dataset.columns(s, e), dataset.y[s:e]))
    parts.append(m.predict_many(dataset.columns(700, 800)))
    y = dataset.y[:800]
    for p in parts:
        assert p.dtype != object, f"an object array: {p[:5].tolist()}"
    out = np.concatenate(parts)
    if tags.is_classifier:
        assert out.dtype.kind == y.dtype.kind, f"labels of dtype {out.dtype}, stream's {y.dtype}"
        # rows before any label get the zero of the labels' type (never a label of the stream)
        allowed = set(y.tolist()) | {type(y.tolist()[0])()}
        assert set(out.tolist()) <= allowed, f"labels not in the stream: {set(out)}"
        assert out[0] == type(y.tolist()[0])(), f"row 0 predicted {out[0]!r} before any label"
        assert 0.0 <= accuracy_score(y, out) <= 1.0
    else:
        assert out.dtype == np.float64 and np.isfinite(out).all(), f"values {out[:5]}"
        assert mean_absolute_error(y, out) >= 0.0
