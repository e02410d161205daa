"""Metrics on predicted probabilities: LogLoss and ROCAUC.

Probabilities come in one of three forms: a vector of P(positive label) (binary), a matrix with
``classes`` naming its columns (what ``step_proba_many`` returns, with ``classes_``), or a list of
``{label: probability}`` dicts (River style).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tidal._kernels.metrics import roc_auc_groups
from tidal.base.exceptions import InputError
from tidal.metrics.base import Metric, _Growing, _PositiveLabel, _Ring

__all__ = ["LogLoss", "ROCAUC"]

_EPS = 1e-15


def _is_pos(y_true: np.ndarray, pos_label: Any) -> np.ndarray:
    return np.asarray(y_true == pos_label, dtype=bool).reshape(len(y_true))


def _column(P: np.ndarray, classes: Any, label: Any, owner: str) -> np.ndarray:
    if classes is None:
        raise InputError(f"{owner}: a probability matrix needs `classes` naming its columns")
    for j, c in enumerate(classes):
        if c == label:
            return P[:, j]
    return np.zeros(P.shape[0])


def _positive_score(y_pred: Any, classes: Any, pos_label: Any, owner: str) -> np.ndarray:
    if isinstance(y_pred, list):
        return np.array([float(d.get(pos_label, 0.0)) for d in y_pred])
    if y_pred.ndim == 2:
        return _column(y_pred, classes, pos_label, owner).astype(np.float64)
    return np.asarray(y_pred, dtype=np.float64)


class _RowMean(Metric):
    """A weighted mean of per-row values (losses, errors), cumulative or over a window."""

    def _reset(self) -> None:
        if self.window is None:
            self._sum_w = 0.0
            self._sum_wx = 0.0
        else:
            self._ring = _Ring(self.window, 2)

    def _push(self, x: np.ndarray, w: np.ndarray) -> None:
        if self.window is None:
            self._sum_w += float(w.sum())
            self._sum_wx += float(np.dot(w, x))
        else:
            self._ring.push(x, w)

    def _mean(self) -> float:
        if self.window is None:
            sw, swx = self._sum_w, self._sum_wx
        else:
            x, w = self._ring.columns()
            sw, swx = float(w.sum()), float(np.dot(w, x))
        return swx / sw if sw > 0 else 0.0

    def get(self) -> float:
        return self._mean()


class LogLoss(_PositiveLabel, _RowMean):
    """Mean negative log-likelihood of the true label, probabilities clipped to [1e-15, 1-1e-15].

    With a vector of P(``pos_label``) it is the binary log loss (River's ``LogLoss``); with a
    matrix or dicts it is the multiclass cross-entropy (River's ``CrossEntropy``, except that a
    true label missing from the prediction counts as probability 0, not as a loss of 0).

    >>> from tidal.metrics import LogLoss
    >>> LogLoss().update_many([True, False], [0.9, 0.2]).get()
    0.164...
    >>> LogLoss().update_many(["a", "b"], [{"a": 0.9, "b": 0.1}, {"a": 0.2, "b": 0.8}]).get()
    0.164...
    """

    requires_proba = True
    higher_is_better = False

    def _update_many(self, y_true: Any, y_pred: Any, w: np.ndarray, classes: Any) -> None:
        owner = type(self).__name__
        if isinstance(y_pred, list):
            p = np.array([float(d.get(_key(t), 0.0)) for d, t in zip(y_pred, y_true)])
            loss = -np.log(np.clip(p, _EPS, 1 - _EPS))
        elif y_pred.ndim == 2:
            if classes is None:
                raise InputError(f"{owner}: a probability matrix needs `classes`")
            col = {_key(c): j for j, c in enumerate(classes)}
            p = _true_class_proba(y_true, y_pred, col)
            loss = -np.log(np.clip(p, _EPS, 1 - _EPS))
        else:
            p = np.clip(np.asarray(y_pred, dtype=np.float64), _EPS, 1 - _EPS)
            pos = _is_pos(y_true, self.pos_label)
            loss = np.where(pos, -np.log(p), -np.log(1 - p))
        self._push(loss, w)


def _true_class_proba(y_true: Any, P: np.ndarray, col: dict[Any, int]) -> np.ndarray:
    """P[i, column of y_true[i]] (0 for a label with no column); numeric labels are looked up
    once per distinct value, not once per row (the engine scores 581k-row streams)."""
    y = np.asarray(y_true)
    p = np.zeros(len(y))
    if y.dtype.kind in "biuf" and len(y):
        uniq, inverse = np.unique(y, return_inverse=True)
        lookup = np.array([col.get(_key(u), -1) for u in uniq], dtype=np.int64)
        cols = lookup[inverse]
        ok = cols >= 0
        p[ok] = P[np.flatnonzero(ok), cols[ok]]
        return p
    for i, t in enumerate(y):
        j = col.get(_key(t))
        if j is not None:
            p[i] = P[i, j]
    return p


def _key(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


class ROCAUC(_PositiveLabel, Metric):
    """Exact area under the ROC curve of P(``pos_label``): over all rows so far, or over the
    last ``window`` rows. Ties are averaged (trapezoid rule), as in scikit-learn; NaN while only
    one class has been seen.

    >>> from tidal.metrics import ROCAUC
    >>> ROCAUC().update_many([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]).get()
    0.75
    """

    task = "binary"
    requires_proba = True

    def _reset(self) -> None:
        self._rows = _Growing(3) if self.window is None else _Ring(self.window, 3)

    def _update_many(self, y_true: Any, y_pred: Any, w: np.ndarray, classes: Any) -> None:
        score = _positive_score(y_pred, classes, self.pos_label, type(self).__name__)
        if not np.isfinite(score).all():
            i = int(np.argmax(~np.isfinite(score)))
            raise InputError(f"ROCAUC: score row {i}: expected a finite number, got {score[i]}")
        pos = _is_pos(y_true, self.pos_label).astype(np.float64)
        self._rows.push(score, pos, w)

    def get(self) -> float:
        score, pos, w = self._rows.columns()
        if len(score) == 0:
            return math.nan
        order = np.argsort(-score, kind="stable")
        s = score[order]
        group_end = np.append(np.nonzero(np.diff(s))[0] + 1, len(s)).astype(np.int64)
        return float(roc_auc_groups(pos[order], w[order], group_end))
