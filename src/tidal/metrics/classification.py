"""Metrics on predicted labels, from per-class weights: Accuracy, BalancedAccuracy, F1, MacroF1.

A prediction of ``None`` (the learner had nothing to predict yet) counts as a miss: it adds to
the weight of its true class and to the total, never to a predicted class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal._kernels.metrics import window_counts_push
from tidal.metrics._labels import LabelIndex
from tidal.metrics.base import Metric, _PositiveLabel

__all__ = ["Accuracy", "BalancedAccuracy", "F1", "MacroF1"]


class _CountMetric(Metric):
    """Keeps, per class ``k``, the weight of rows whose true label is ``k`` (``true_w``), whose
    predicted label is ``k`` (``pred_w``) and both (``tp_w``): every label metric is a function of
    these, cumulative or over a sliding window (updated row by row in a compiled kernel)."""

    def _reset(self) -> None:
        self._labels = LabelIndex()
        self._true_w = np.zeros(8)
        self._pred_w = np.zeros(8)
        self._tp_w = np.zeros(8)
        self._total = np.zeros(1)
        if self.window is not None:
            self._buf_t = np.zeros(self.window, dtype=np.int64)
            self._buf_p = np.zeros(self.window, dtype=np.int64)
            self._buf_w = np.zeros(self.window)
            self._pos = 0
            self._count = 0

    def _grow(self, n: int) -> None:
        if n <= len(self._true_w):
            return
        cap = max(n, 2 * len(self._true_w))
        for attr in ("_true_w", "_pred_w", "_tp_w"):
            old = getattr(self, attr)
            new = np.zeros(cap)
            new[: len(old)] = old
            setattr(self, attr, new)

    def _update_many(self, y_true: Any, y_pred: Any, w: np.ndarray, classes: Any) -> None:
        t = self._labels.encode(y_true)
        if (t < 0).any():
            i = int(np.argmax(t < 0))
            from tidal.base.exceptions import InputError

            raise InputError(f"{type(self).__name__}: y_true row {i} is missing", row=i)
        p = self._labels.encode(y_pred)
        self._grow(len(self._labels))
        if self.window is None:
            np.add.at(self._true_w, t, w)
            hit = p >= 0
            np.add.at(self._pred_w, p[hit], w[hit])
            same = p == t
            np.add.at(self._tp_w, t[same], w[same])
            self._total[0] += w.sum()
        else:
            self._pos, self._count = window_counts_push(
                self._true_w,
                self._pred_w,
                self._tp_w,
                self._total,
                self._buf_t,
                self._buf_p,
                self._buf_w,
                self._pos,
                self._count,
                t,
                p,
                w,
            )

    def _present(self) -> np.ndarray:
        """Codes of the classes River's confusion matrix lists: some true or predicted weight."""
        n = len(self._labels)
        return np.nonzero((self._true_w[:n] != 0) | (self._pred_w[:n] != 0))[0]


def _div(a: float, b: float) -> float:
    return a / b if b != 0 else 0.0


def _f1(tp: float, true_w: float, pred_w: float) -> float:
    p = _div(tp, pred_w)
    r = _div(tp, true_w)
    return _div(2 * p * r, p + r)


class Accuracy(_CountMetric):
    """Share of rows (by weight) whose predicted label is the true one.

    >>> from tidal.metrics import Accuracy
    >>> Accuracy().update_many(["a", "b", "b", "a"], ["a", "b", "a", None]).get()
    0.5
    """

    def get(self) -> float:
        n = len(self._labels)
        return _div(float(self._tp_w[:n].sum()), float(self._total[0]))

    @staticmethod
    def row_losses(y_true: Any, y_pred: Any) -> np.ndarray:
        """Per-row mistakes (1) and hits (0), one byte a row: what the engine keeps of every
        row for the steady state and the recovery analysis (``1 - mean`` is the accuracy).
        No prediction (None) is a mistake.

        >>> Accuracy.row_losses(np.array([1, 0, 2]), np.array([1, None, 0], dtype=object))
        array([0, 1, 1], dtype=uint8)
        """
        y = np.asarray(y_true)
        if y.dtype.kind in "biu" and not np.equal(y_pred, None).any():
            # every row predicted, numeric labels: compare as numbers (no Python loop)
            return (np.asarray(y_pred, dtype=np.float64) != y).astype(np.uint8)
        y_obj = np.asarray(y, dtype=object)
        ok = np.fromiter((a == b for a, b in zip(y_pred, y_obj)), dtype=bool, count=len(y_obj))
        return (~ok).astype(np.uint8)


class BalancedAccuracy(_CountMetric):
    """Mean recall over the classes that have true rows.

    >>> from tidal.metrics import BalancedAccuracy
    >>> BalancedAccuracy().update_many([1, 0, 1, 1, 0, 1], [1, 0, 1, 1, 1, 0]).get()
    0.625
    """

    def get(self) -> float:
        total, k = 0.0, 0
        for c in self._present():
            if self._true_w[c] != 0:
                total += float(self._tp_w[c] / self._true_w[c])
                k += 1
        return _div(total, k)


class F1(_PositiveLabel, _CountMetric):
    """Binary F1 score of the positive label ``pos_label`` (``True`` == 1 by default).

    >>> from tidal.metrics import F1
    >>> F1().update_many([1, 0, 1, 1], [1, 1, 0, 1]).get()
    0.666...
    >>> F1(pos_label="up").update_many(["up", "down"], ["up", "up"]).get()
    0.666...
    """

    task = "binary"

    def get(self) -> float:
        c = self._labels._index.get(self.pos_label)
        if c is None:
            return 0.0
        return _f1(float(self._tp_w[c]), float(self._true_w[c]), float(self._pred_w[c]))


class MacroF1(_CountMetric):
    """Unweighted mean of the per-class F1 scores, over every class seen as true or predicted.

    >>> from tidal.metrics import MacroF1
    >>> MacroF1().update_many([0, 1, 2, 2, 2], [0, 0, 2, 2, 1]).get()
    0.488...
    """

    def get(self) -> float:
        present = self._present()
        if len(present) == 0:
            return 0.0
        total = sum(
            _f1(float(self._tp_w[c]), float(self._true_w[c]), float(self._pred_w[c]))
            for c in present
        )
        return total / len(present)
