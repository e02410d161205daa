"""The classifier face: label encoding (``classes_``, internal codes), decoding probabilities
into labels (:meth:`Classifier.decode_proba`, the one place that does it), the River,
array and scikit-learn faces of a classifier.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from tidal.base._input import (
    as_array,
)
from tidal.base._learner import _Supervised
from tidal.base.exceptions import (
    InputError,
    NotFittedError,
)
from tidal.base.tags import Tags

__all__ = ["Classifier"]


class Classifier(ClassifierMixin, _Supervised):
    """Base of classifiers. Labels may be any hashable values; classes are added as they appear.

    ``classes_`` lists the labels sorted as scikit-learn sorts them (``np.unique`` order), and
    the columns of every probability matrix of the array and scikit-learn faces
    (``predict_proba_many``, ``step_proba_many``, ``predict_proba``) follow ``classes_``, also
    when a new class arrives mid-stream. Internally, and in the River face
    (``predict_proba_one`` dicts), classes keep the order in which they were first seen: codes
    never move, so a new class never reorders a learner's state. Binary learners
    (``task == "binary"``) keep code 0 for ``0``/``False`` and code 1 for ``1``/``True`` so that
    the positive class is the one River and scikit-learn use.

    Labels are decoded from probabilities by argmax; ties go to the class seen first (River's
    rule). A row with no probabilities (nothing learned yet) is predicted as the zero of the
    labels' type (``0``, ``False``, ``""``), as MOA predicts class 0: the array face
    (``predict_many``, ``step_many``) always returns a typed array that numpy and
    ``sklearn.metrics`` accept, and the value is fixed before any label is read, so the first
    row of a stream is never handed its own label. The River face keeps River's answer for such
    a row: ``predict_one`` gives None.

    >>> from tidal.dummy import MajorityClassifier
    >>> m = MajorityClassifier()
    >>> m.step_many({"x": [0.0, 0.0, 0.0]}, ["b", "a", "a"]).tolist()
    ['', 'b', 'b']
    >>> m.classes_.tolist(), m.predict_proba_many({"x": [0.0]}).round(3).tolist()
    (['a', 'b'], [[0.667, 0.333]])
    >>> m.predict_proba_one({"x": 0.0})   # the River face: first-seen order
    {'b': 0.333..., 'a': 0.666...}
    """

    _tags = Tags(task="multiclass")

    @property
    def classes_(self) -> np.ndarray:
        labels = getattr(self, "_labels", None)
        if labels is None:
            raise NotFittedError(f"This {self._name()} is not fitted yet; call learn_one first")
        ordered = [labels[i] for i in self._class_order()]
        return np.array(ordered, dtype=object if labels and _mixed(labels) else None)

    def _class_order(self) -> np.ndarray:
        """Code of each class of ``classes_``: ``classes_[j] == _labels[order[j]]`` (cached for
        as long as ``_labels`` is the same list)."""
        labels = getattr(self, "_labels", None) or []
        cache = self.__dict__.get("_class_order_cache")
        if cache is None or cache[0] is not labels or cache[1] != len(labels):
            order = np.array(_sorted_positions(labels), dtype=np.int64)
            identity = bool((order == np.arange(len(order))).all())
            cache = self._class_order_cache = (labels, len(labels), order, identity)
        return cache[2]

    @property
    def _n_classes(self) -> int:
        return len(getattr(self, "_labels", ()))

    def _n_outputs(self) -> int:
        n = self._n_classes
        return max(n, 2) if self._tags.task == "binary" else n

    def _out(self, n: int) -> np.ndarray:
        return np.zeros((n, self._n_outputs()), dtype=np.float64)

    def _label_index(self) -> dict[Any, int]:
        """``{label: code}``, cached for as long as ``_labels`` is the same list."""
        labels = self._labels
        cache = self.__dict__.get("_label_index_cache")
        if cache is None or cache[0] is not labels:
            cache = self._label_index_cache = (labels, {lab: i for i, lab in enumerate(labels)})
        return cache[1]

    def _encode_y(self, y: Any, n: int) -> np.ndarray:
        if n == 1 and type(y) is list and len(y) == 1 and "_labels" in self.__dict__:
            # learn_one with a label already known: no class to add, nothing to check
            try:
                code = self._label_index().get(y[0])
            except TypeError:  # unhashable: the general path explains
                code = None
            if code is not None:
                return np.array([code], dtype=np.int64)
        owner = self._name()
        arr = as_array(y)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if len(arr) != n:
            raise InputError(f"{owner}: {len(arr)} labels for {n} rows")
        codes = self._integer_codes(arr)
        if codes is not None:
            return codes
        labels = list(getattr(self, "_labels", []))
        index = {lab: i for i, lab in enumerate(labels)}
        if arr.dtype.kind in "biuf":
            if arr.dtype.kind == "f":
                bad = ~np.isfinite(arr)
                if bad.any():
                    i = int(np.argmax(bad))
                    raise InputError(f"{owner}: label row {i}: got {arr[i]!r}", row=i)
            uniq, first, inverse = np.unique(arr, return_index=True, return_inverse=True)
            new = [u.item() for u, _ in sorted(zip(uniq, first), key=lambda t: t[1])]
            new = [u for u in new if u not in index]
        else:
            for i, v in enumerate(arr):
                if v is None or (isinstance(v, float) and v != v):
                    raise InputError(f"{owner}: label row {i}: got {v!r}", row=i)
            uniq = None
            new = []
            seen = set(index)
            for v in arr:
                if v not in seen:
                    seen.add(v)
                    new.append(v.item() if isinstance(v, np.generic) else v)
        if new:
            if self._tags.task == "binary" and not labels and set(new) <= {0, 1}:
                # 0/False is the negative class, 1/True the positive one, whatever came first
                kind_bool = arr.dtype.kind == "b" or all(type(v) is bool for v in new)
                labels = [False, True] if kind_bool else [0, 1]
                new = []
            fixed = self._fixed_classes()
            for lab in new:
                if fixed is not None and lab not in fixed:
                    i = int(np.argmax(arr == lab))
                    raise InputError(
                        f"{owner}: label row {i}: {lab!r} is not one of the classes {fixed}",
                        row=i,
                    )
            labels = labels + new
            if self._tags.task == "binary" and len(labels) > 2:
                i = int(np.argmax(arr == labels[2]))
                raise InputError(
                    f"{owner} is a binary classifier: label row {i} is a third class "
                    f"{labels[2]!r} after {labels[:2]}; use a multiclass learner",
                    row=i,
                )
        index = {lab: i for i, lab in enumerate(labels)}
        if uniq is not None:
            codes = np.array([index[u.item()] for u in uniq], dtype=np.int64)[inverse]
        else:
            codes = np.fromiter((index[v] for v in arr), dtype=np.int64, count=len(arr))
        if new or getattr(self, "_labels", None) is None or labels != self._labels:
            self._labels = labels
            self._on_new_classes(len(labels))
        return codes

    def _integer_codes(self, arr: np.ndarray) -> np.ndarray | None:
        """Codes without ``np.unique`` when they are the labels themselves.

        That is the usual binary case (labels ``[0, 1]`` or ``[False, True]``, integer or
        boolean arrays): when every value is a known label ``k`` at position ``k``, there is no
        new class and nothing else to check. Anything else (None) takes the general path.
        """
        labels = self.__dict__.get("_labels")
        if arr.dtype.kind not in "biu" or arr.ndim != 1 or not len(arr):
            return None
        if not _codes_are_labels(labels):
            return None
        if arr.min() < 0 or arr.max() >= len(labels):
            return None
        return arr.astype(np.int64)

    def _fixed_classes(self) -> list[Any] | None:
        classes = getattr(self, "classes", None)
        return list(classes) if classes is not None else None

    def _on_new_classes(self, n_classes: int) -> None:
        """Grow class-indexed state to ``n_classes`` (called before the kernel sees them)."""

    def _decode(self, proba: np.ndarray, empty_label: bool = True) -> np.ndarray:
        """Labels from a probability matrix in code order (argmax; ties to the lower code).

        A row of zeros gets the zero of the labels' type (0, False, "") when ``empty_label`` (the
        array face), None otherwise (the River face).
        """
        n = proba.shape[0]
        labels = getattr(self, "_labels", [])
        if proba.shape[1] == 0 or not labels:
            return np.full(n, None, dtype=object)
        plain = _codes_are_labels(labels) and len(labels) >= proba.shape[1]
        if plain and proba.shape[1] == 2 and empty_label and not np.isnan(proba).any():
            # binary: argmax over two columns without numpy's slow row-wise reductions (an
            # empty row gives code 0, as argmax would)
            return (proba[:, 1] > proba[:, 0]).astype(type(labels[0]))
        codes = np.argmax(proba, axis=1)
        empty = proba.sum(axis=1) <= 0
        if empty_label and plain:
            codes[empty] = 0  # code 0 is the label 0 / False: the type's zero, as below
            empty[:] = False
        if plain and not empty.any():
            # labels 0..k-1 (or False/True): the codes are the answer, no object array needed
            return codes.astype(type(labels[0]))
        # a row with nothing learned gets the zero of the labels' type (0, False, "", 0.0), a
        # value fixed before any label: never a label read from the stream (that would hand
        # the first row its own answer); None on the River face or when labels mix types
        fill = _zero_label(labels) if empty_label else None
        table = np.array(labels + [fill], dtype=object)
        if len(labels) < proba.shape[1]:  # binary learner before its second class is named
            codes = np.minimum(codes, len(labels) - 1)
        codes[empty] = len(labels)
        out = table[codes]
        if fill is None and empty.any() or _mixed(labels):
            return out
        return out.astype(np.asarray(labels + [fill] if empty.any() else labels).dtype)

    def decode_proba(self, proba: Any, fill_empty: bool = True) -> np.ndarray:
        """Labels from a probability matrix in ``classes_`` order, as this learner decodes them:
        what :meth:`predict_many` / :meth:`step_many` return for the matrix that
        :meth:`predict_proba_many` / :meth:`step_proba_many` returned (call it before a new
        class arrives). One decoding for every caller: ties go to the class seen first, a row of
        zeros to the first class, or, with ``fill_empty=False``, to None (an evaluation that
        scores a row nothing was learned before as a miss: the first row of a stream is
        otherwise predicted with its own label).

        >>> from tidal.dummy import MajorityClassifier
        >>> X, y = {"x": [0.0] * 4}, ["b", "a", "a", "b"]
        >>> m = MajorityClassifier()
        >>> P = m.step_proba_many(X, y)
        >>> m.decode_proba(P).tolist(), MajorityClassifier().step_many(X, y).tolist()
        (['', 'b', 'b', 'a'], ['', 'b', 'b', 'a'])
        """
        P = np.asarray(proba, dtype=np.float64)
        order = self._class_order()
        if P.ndim == 2 and P.shape[1] == len(order) and not self._class_order_cache[3]:
            codes = np.empty_like(P)
            codes[:, order] = P
            P = codes
        return self._decode(P, empty_label=fill_empty)

    @staticmethod
    def decode_columns(proba: Any, classes: Any) -> np.ndarray:
        """Labels from a probability matrix whose columns are ``classes``, for a classifier
        that is not a tidal learner (scikit-learn's, another library's) and has no
        :meth:`decode_proba`: argmax (ties to the first column), None for a row of zeros.

        >>> Classifier.decode_columns([[0.2, 0.8], [0.0, 0.0], [0.5, 0.5]], ["a", "b"]).tolist()
        ['b', None, 'a']
        """
        P = np.asarray(proba, dtype=np.float64)
        out = np.full(P.shape[0], None, dtype=object)
        if P.ndim != 2 or P.shape[1] == 0:
            return out
        table = np.empty(len(classes), dtype=object)
        table[:] = list(classes)
        codes = np.argmax(P, axis=1)
        ok = P.sum(axis=1) > 0
        out[ok] = table[codes[ok]]
        return out

    def _proba_matrix(self, proba: np.ndarray) -> np.ndarray:
        """A probability matrix in code order as the public faces give it: ``classes_`` order."""
        if proba.shape[1] > self._n_classes:
            proba = proba[:, : max(self._n_classes, 0)]
        order = self._class_order()
        if self._class_order_cache[3] or len(order) != proba.shape[1]:
            return proba
        return proba[:, order]

    # River face -------------------------------------------------------------
    def predict_proba_one(self, x: dict) -> dict[Any, float]:
        """Class probabilities for one row, ``{label: probability}``."""
        if not self.is_fitted:
            return {}
        p = self._predict_out(self._row_for_predict(x))[0]
        return {lab: float(p[i]) for i, lab in enumerate(self._labels)}

    def predict_one(self, x: dict) -> Any:
        """The most probable label for one row, or None before any label was learned."""
        if not self.is_fitted:
            return None
        label = self._decode(self._predict_out(self._row_for_predict(x)), empty_label=False)[0]
        return label.item() if isinstance(label, np.generic) else label

    def _row_for_predict(self, x: dict) -> Any:
        return x

    # arrays -----------------------------------------------------------------
    def predict_proba_many(self, X: Any) -> np.ndarray:
        """Probability matrix, columns in ``classes_`` order."""
        return self._proba_matrix(self._predict_out(X))

    def predict_many(self, X: Any) -> np.ndarray:
        return self._decode(self._predict_out(X))

    def step_many(self, X: Any, y: Any, w: Any = None) -> np.ndarray:
        """Prequential step: for each row, predict it, then learn it. Returns the predictions."""
        return self._decode(self._run(X, y, w, predict=True))

    def step_proba_many(self, X: Any, y: Any, w: Any = None) -> np.ndarray:
        """Like :meth:`step_many`, returning probabilities in ``classes_`` order (after the call;
        0 for classes not yet seen when a row was predicted)."""
        return self._proba_matrix(self._run(X, y, w, predict=True))

    # scikit-learn face ------------------------------------------------------
    def predict(self, X: Any) -> np.ndarray:
        return self.predict_many(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.predict_proba_many(X)

    def _fitted_meta(self) -> dict[str, Any]:
        meta = super()._fitted_meta()
        meta["labels"] = [v.item() if isinstance(v, np.generic) else v for v in self._labels]
        return meta

    def _load_fitted_meta(self, meta: dict[str, Any]) -> None:
        super()._load_fitted_meta(meta)
        self._labels = list(meta["labels"])


def _sorted_positions(labels: list[Any]) -> list[int]:
    """Positions of ``labels`` in sorted order (scikit-learn's ``np.unique`` order); labels of
    types that do not compare (a mixed stream) are grouped by type name, then sorted as text."""
    try:
        return sorted(range(len(labels)), key=labels.__getitem__)
    except TypeError:
        return sorted(range(len(labels)), key=lambda i: (type(labels[i]).__name__, str(labels[i])))


def _zero_label(labels: list[Any]) -> Any:
    """The zero of the labels' type (``type()``: 0, False, "", 0.0), or None for mixed types."""
    if _mixed(labels):
        return None
    try:
        return type(labels[0])()
    except TypeError:
        return None


def _mixed(labels: list[Any]) -> bool:
    return len({type(v) for v in labels}) > 1


def _codes_are_labels(labels: list[Any] | None) -> bool:
    """Labels ``[0, 1, ..., k - 1]`` (Python ints) or ``[False, True]``: label k has code k."""
    if not labels:
        return False
    kind = type(labels[0])
    return kind in (int, bool) and all(type(v) is kind and v == k for k, v in enumerate(labels))
