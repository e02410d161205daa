"""The learner protocol shared by every online, batch and hybrid learner.

A subclass implements three hooks and gets the River face (``learn_one``...), the array face
(``learn_many``, ``step_many``...), the scikit-learn face (``fit``, ``partial_fit``...) and state
(de)serialisation for free:

``_init_state(self)``
    allocate state once the feature set is fixed (``self.n_features_in_`` is known).
``_step_arrays(self, X_pred, X_learn, y, w, out)``
    the compiled per-row loop. For each row ``i``: if ``X_pred`` is not None, write the
    prediction for ``X_pred[i]`` into ``out[i]``; then, if ``X_learn`` is not None, learn
    ``(X_learn[i], y[i], w[i])``. ``out`` is a probability matrix (classifiers, columns in
    internal code order) or a vector of values (regressors). The two matrices differ only inside
    pipelines, where a transformer may update between the prediction and the learning of a row.
``_state_dict(self)`` / ``_load_state(self, state)``
    the fitted state as a (nested) dict of numpy arrays and JSON scalars.

What every face returns (see :class:`Classifier` for the details):

* ``classes_`` is sorted (scikit-learn's ``np.unique`` order) and the columns of the array and
  scikit-learn faces' probability matrices follow it; internal codes and ``predict_proba_one``
  keep first-seen order.
* ``predict_many`` / ``step_many`` return typed arrays on every row: before the first label a
  classifier predicts the zero of its labels' type (0, False, "": fixed before any label, as
  MOA predicts class 0) and a regressor 0.0.
  ``predict_one`` answers None (classifiers) / 0.0 (regressors) before anything is learned.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from tidal.base._input import (
    CategoryEncoder,
    Columns,
    Rows,
    as_array,
    check_finite,
    read_columns,
    to_float,
)
from tidal.base.exceptions import (
    InputError,
    NotFittedError,
    SchemaMismatchError,
)
from tidal.base.tags import Tags

__all__ = ["Learner", "Classifier", "Regressor", "Transformer"]

#: private attributes the base sets while learning; ``reset`` forgets them with the ``_``-suffixed
_BASE_PRIVATE_STATE = frozenset(
    {
        "_labels",
        "_label_index_cache",
        "_class_order_cache",
        "_categories",
        "_pending_categorical",
        "_pending_categories",
    }
)


class Learner(BaseEstimator):
    """Base of every tidal estimator (see the module docstring for the subclass hooks).

    >>> from tidal.dummy import RunningMeanRegressor
    >>> m = RunningMeanRegressor().learn_many({"x": [0.0, 0.0]}, [1.0, 3.0])
    >>> m.is_fitted, m.n_samples_seen_, m.clone().is_fitted
    (True, 2.0, False)
    """

    _tags: ClassVar[Tags] = Tags()
    #: bump when the layout of ``_state_dict`` changes; older snapshots are then refused clearly
    _state_version: ClassVar[int] = 1
    #: keys in ``_state_dict()`` (at any depth) holding measurements such as wall-clock seconds:
    #: restored like the rest, but not expected to be identical between two identical runs
    _unstable_state_keys: ClassVar[frozenset[str]] = frozenset()

    # ------------------------------------------------------------------ subclass hooks
    def _check_params(self) -> None:
        """Validate hyper-parameters (raise ParameterError); called before the first learn."""

    def _init_state(self) -> None:
        raise NotImplementedError

    def _state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def _load_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ generic machinery
    @classmethod
    def _get_tags(cls) -> Tags:
        return cls._tags

    @property
    def tags(self) -> Tags:
        """This learner's :class:`~tidal.base.Tags`."""
        return self._tags

    @property
    def is_fitted(self) -> bool:
        return getattr(self, "feature_names_in_", None) is not None

    def __sklearn_is_fitted__(self) -> bool:
        # what sklearn.utils.validation.check_is_fitted asks (pipelines, meta-estimators)
        return self.is_fitted

    def reset(self) -> Learner:
        """Forget everything learned (the parameters stay). Returns ``self``."""
        for k in list(vars(self)):
            if (k.endswith("_") and not k.startswith("__")) or k in _BASE_PRIVATE_STATE:
                delattr(self, k)
        return self

    def clone(self) -> Learner:
        """A fresh, unfitted copy with the same parameters."""
        from sklearn.base import clone

        return clone(self)

    def __or__(self, other: Any) -> Any:
        from tidal.compose import Pipeline

        return Pipeline(self, other)

    def _name(self) -> str:
        return type(self).__name__

    # feature handling ------------------------------------------------------
    def _matrix(self, X: Any, learn: bool) -> np.ndarray:
        """The float64 (rows, features) matrix for ``X``, in the fitted feature order.

        Fixes the feature set on the first learn call. Raises InputError / SchemaMismatchError
        naming the column and row; never changes state when it raises (the feature set is only
        fixed once the whole input has been checked).
        """
        row = self._fast_row(X)
        if row is not None:
            return row
        cols = read_columns(X)
        owner = self._name()
        fixed = getattr(self, "feature_names_in_", None)
        if fixed is None:
            if not learn:
                raise NotFittedError(
                    f"This {owner} is not fitted yet; call learn_one, learn_many or fit first"
                )
            if len(set(cols.names)) != len(cols.names):
                raise SchemaMismatchError(f"{owner}: duplicate feature names in {cols.names}")
            if len(cols.names) == 0:
                raise InputError(f"{owner}: no features: expected at least one column")
            names = cols.names
            M = self._convert(cols, list(range(len(names))), names, learn, fixing=True)
            self._fix_features(names, cols)
            return M
        if cols.named:
            if cols.names == fixed:
                order = list(range(len(fixed)))
            else:
                pos = {n: j for j, n in enumerate(cols.names)}
                missing = [n for n in fixed if n not in pos]
                extra = [n for n in cols.names if n not in set(fixed)]
                if extra or (missing and not self._tags.handles_missing):
                    parts = []
                    if missing:
                        parts.append(f"missing {missing}")
                    if extra:
                        parts.append(f"unexpected {extra}")
                    raise SchemaMismatchError(
                        f"{owner}: features do not match those it learned from "
                        f"({list(fixed)}): {'; '.join(parts)}",
                        column=(missing or extra)[0],
                    )
                order = [pos.get(n, -1) for n in fixed]
        else:
            if len(cols.names) != len(fixed):
                raise SchemaMismatchError(
                    f"{owner}: expected {len(fixed)} features {list(fixed)}, "
                    f"got an array with {len(cols.names)} columns"
                )
            order = list(range(len(fixed)))
        return self._convert(cols, order, fixed, learn, fixing=False)

    def _convert(
        self, cols: Columns, order: list[int], names: tuple[str, ...], learn: bool, fixing: bool
    ) -> np.ndarray:
        owner = self._name()
        allow_nan = self._tags.handles_missing
        if cols.matrix is not None and order == list(range(len(order))):
            M = np.ascontiguousarray(cols.matrix, dtype=np.float64)
            check_finite(M, names, owner, allow_nan)
            return M
        n = cols.n_rows
        M = np.empty((n, len(order)), dtype=np.float64)
        categorical = self._categorical_columns(cols, order, names, fixing)
        pending: list[tuple[int, np.ndarray]] = []
        for j, src in enumerate(order):
            if src < 0:
                M[:, j] = np.nan
                continue
            values = cols.column(src)
            if names[j] in categorical:
                pending.append((j, values))
                # NaN marks a missing category, so check_finite below refuses it by the same rule
                M[:, j] = np.where(_missing(values), np.nan, 0.0)
            else:
                M[:, j] = to_float(values, names[j], owner)
        check_finite(M, names, owner, allow_nan)
        # categories are registered only once the whole input is known to be valid
        if pending:
            if fixing:
                self._pending_categories = CategoryEncoder()
            encoder = self._pending_categories if fixing else self._categories
            for j, values in pending:
                M[:, j] = encoder.encode(names[j], values, learn)
        return M

    def _categorical_columns(
        self, cols: Columns, order: list[int], names: tuple[str, ...], fixing: bool
    ) -> frozenset[str]:
        if not self._tags.handles_categorical:
            return frozenset()
        if not fixing:
            return self.categorical_features_
        found = set()
        for j, src in enumerate(order):
            if src >= 0 and _is_categorical(cols.column(src)):
                found.add(names[j])
        self._pending_categorical = frozenset(found)
        return self._pending_categorical

    def _fix_features(self, names: tuple[str, ...], cols: Columns) -> None:
        self.feature_names_in_ = tuple(names)
        self.n_features_in_ = len(names)
        self.n_samples_seen_ = 0.0
        if self._tags.handles_categorical:
            self.categorical_features_ = getattr(self, "_pending_categorical", frozenset())
            self._categories = vars(self).pop("_pending_categories", None) or CategoryEncoder()
        self._check_params()
        self._init_state()

    def _row(self, x: dict) -> np.ndarray:
        """One dict row as a (1, features) matrix (learning may fix the feature set)."""
        row = self._fast_row(x)
        return row if row is not None else self._matrix(x, learn=True)

    def _fast_row(self, X: Any) -> np.ndarray | None:
        """The (1, features) matrix of one dict row of finite Python numbers holding exactly the
        fitted features, or None: then the general path (which names bad cells) decides.

        This is what makes ``learn_one`` / ``predict_one`` cheap; it accepts nothing the general
        path would refuse (no strings, no bools, no NaN, no numpy scalars).
        """
        if type(X) is not dict:
            return None
        fixed = self.__dict__.get("feature_names_in_")
        if fixed is None or len(X) != len(fixed):
            return None
        if self._tags.handles_categorical and self.__dict__.get("categorical_features_"):
            return None
        try:
            values = [X[k] for k in fixed]
        except KeyError:
            return None
        for v in values:
            if type(v) is not float and type(v) is not int:
                return None
        row = np.array([values], dtype=np.float64)
        if not np.isfinite(row).all():
            return None
        return row

    def _weights(self, w: Any, n: int) -> np.ndarray:
        if w is None:
            return np.ones(n, dtype=np.float64)
        if n == 1 and type(w) is list and len(w) == 1 and _plain_finite(w[0]) and w[0] >= 0:
            return np.array(w, dtype=np.float64)  # learn_one's weight
        if np.ndim(w) == 0:
            w = np.full(n, float(w))
        from tidal.base._input import as_float_vector

        out = as_float_vector(w, "sample weight", self._name(), n)
        if (out < 0).any():
            i = int(np.argmax(out < 0))
            raise InputError(
                f"{self._name()}: sample weight row {i}: expected >= 0, got {out[i]}", row=i
            )
        return out

    # state ------------------------------------------------------------------
    def _fitted_meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "feature_names": list(self.feature_names_in_),
            "n_samples_seen": float(self.n_samples_seen_),
        }
        if self._tags.handles_categorical:
            meta["categorical_features"] = sorted(self.categorical_features_)
            meta["categories"] = self._categories.to_json()
        return meta

    def _load_fitted_meta(self, meta: dict[str, Any]) -> None:
        self.feature_names_in_ = tuple(meta["feature_names"])
        self.n_features_in_ = len(self.feature_names_in_)
        self.n_samples_seen_ = float(meta["n_samples_seen"])
        if self._tags.handles_categorical:
            self.categorical_features_ = frozenset(meta["categorical_features"])
            self._categories = CategoryEncoder.from_json(meta["categories"])

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this learner is: plain arrays and JSON.

        >>> from tidal.base.state import learner_from_state
        >>> from tidal.dummy import NoChangeClassifier
        >>> m = NoChangeClassifier().learn_one({"a": 1.0}, "up")
        >>> learner_from_state(m.state_dict()).predict_one({"a": 2.0})
        'up'
        """
        from tidal.base.state import build_state

        fitted = self.is_fitted
        return build_state(
            self,
            self._fitted_meta() if fitted else None,
            self._state_dict() if fitted else None,
        )

    def load_state(self, state: dict[str, Any]) -> Learner:
        """Restore a :meth:`state_dict` into this learner (parameters included). Returns self."""
        from tidal.base.state import check_state, decode_params

        check_state(self, state)
        self.set_params(**decode_params(state["params"]))
        self.reset()
        if state["fitted"] is not None:
            self._load_fitted_meta(state["fitted"])
            self._check_params()
            self._load_state(copy.deepcopy(state["state"]))
        return self


class _Supervised(Learner):
    def _prepare_learn(self, X: Any, y: Any, w: Any) -> tuple[np.ndarray, Any, np.ndarray]:
        M = self._matrix(X, learn=True)
        n = M.shape[0]
        # weights first: _encode_y commits new classes, so it must be the last check
        wv = self._weights(w, n)
        yv = self._encode_y(y, n)
        return M, yv, wv

    def _encode_y(self, y: Any, n: int) -> Any:
        raise NotImplementedError

    def _out(self, n: int) -> np.ndarray:
        raise NotImplementedError

    def _run(self, X: Any, y: Any, w: Any, predict: bool) -> np.ndarray | None:
        """Validate everything, then run the per-row kernel once over the whole input."""
        fixed_before = getattr(self, "feature_names_in_", None) is not None
        snapshot = None if fixed_before else self._snapshot_unfitted()
        categories = getattr(self, "_categories", None) if fixed_before else None
        mark = categories.mark() if categories is not None else None
        try:
            M, yv, wv = self._prepare_learn(X, y, w)
        except Exception:
            if snapshot is not None:
                self._restore_unfitted(snapshot)
            if categories is not None:
                categories.rollback(mark)
            raise
        out = self._out(M.shape[0])
        if M.shape[0]:  # kernels may assume at least one row
            self._step_arrays(M if predict else None, M, yv, wv, out)
        self.n_samples_seen_ += float(M.shape[0])
        return out if predict else None

    def _snapshot_unfitted(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k.endswith("_") or k.startswith("_")}

    def _restore_unfitted(self, snap: dict[str, Any]) -> None:
        for k in list(vars(self)):
            if (k.endswith("_") or k.startswith("_")) and k not in snap:
                delattr(self, k)
        vars(self).update(snap)

    def _step_arrays(self, X_pred: Rows, X_learn: Rows, y: Any, w: Rows, out: np.ndarray) -> None:
        raise NotImplementedError

    # River face -------------------------------------------------------------
    def learn_one(self, x: dict, y: Any, w: float = 1.0) -> Learner:
        """Learn one row (a dict of feature name -> value) with its label and weight."""
        self._run([x] if not isinstance(x, dict) else x, [y], [w], predict=False)
        return self

    def learn_many(self, X: Any, y: Any, w: Any = None) -> Learner:
        """Learn rows in order, one at a time (exactly as many ``learn_one`` calls would)."""
        self._run(X, y, w, predict=False)
        return self

    # scikit-learn face ------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Learner:
        """Forget everything, then learn ``X, y`` in one pass, row by row."""
        self.reset()
        return self.learn_many(X, y, sample_weight)

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None, **kwargs: Any) -> Learner:
        """Learn ``X, y`` in one pass on top of what was learned before."""
        return self.learn_many(X, y, sample_weight)

    def _predict_out(self, X: Any) -> np.ndarray:
        M = self._matrix(X, learn=False)
        out = self._out(M.shape[0])
        if M.shape[0]:
            self._step_arrays(M, None, None, None, out)
        return out


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


def _is_categorical(values: np.ndarray) -> bool:
    """Text columns are categorical; an object column of numbers and None is numeric."""
    if values.dtype.kind in "US":
        return True
    return values.dtype.kind == "O" and any(isinstance(v, str | bytes) for v in values)


def _plain_finite(v: Any) -> bool:
    return (type(v) is float or type(v) is int) and math.isfinite(v)


def _missing(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind != "O":
        return np.zeros(len(values), dtype=bool)
    return np.fromiter(
        (v is None or (isinstance(v, float) and v != v) for v in values), bool, len(values)
    )


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


class Regressor(RegressorMixin, _Supervised):
    """Base of regressors: targets are finite floats.

    >>> from tidal.dummy import RunningMeanRegressor
    >>> RunningMeanRegressor().fit([[0.0], [0.0]], [1.0, 2.0]).predict([[5.0]]).tolist()
    [1.5]
    """

    _tags = Tags(task="regression")

    def _out(self, n: int) -> np.ndarray:
        return np.zeros(n, dtype=np.float64)

    def _encode_y(self, y: Any, n: int) -> np.ndarray:
        from tidal.base._input import as_float_vector

        if n == 1 and type(y) is list and len(y) == 1 and _plain_finite(y[0]):
            return np.array(y, dtype=np.float64)  # learn_one's target
        return as_float_vector(y, "target", self._name(), n)

    def predict_one(self, x: dict) -> float:
        """The predicted value for one row (0.0 before anything was learned)."""
        if not self.is_fitted:
            return 0.0
        return float(self._predict_out(x)[0])

    def predict_many(self, X: Any) -> np.ndarray:
        return self._predict_out(X)

    def step_many(self, X: Any, y: Any, w: Any = None) -> np.ndarray:
        """Prequential step: for each row, predict it, then learn it. Returns the predictions."""
        return self._run(X, y, w, predict=True)

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_many(X)


class Transformer(Learner):
    """Base of online transformers (scalers, encoders).

    Subclasses implement ``_init_state``, ``_state_dict``/``_load_state``, ``_output_names()`` and
    ``_transform_arrays(X, learn) -> (X_pred, X_learn)``: for each row, ``X_pred[i]`` is the row
    transformed with the state *before* learning it and ``X_learn[i]`` the row transformed after
    (River's pipeline order). With ``learn=False`` both are the same and nothing is learned.

    >>> from tidal.preprocessing import StandardScaler
    >>> s = StandardScaler().learn_many({"x": [1.0, 3.0]})
    >>> s.transform_one({"x": 3.0})
    {'x': 1.0}
    """

    _tags = Tags(task="transformer", unsupervised=True)

    def _output_names(self) -> tuple[str, ...]:
        return tuple(self.feature_names_in_)

    def _transform_arrays(self, X: np.ndarray, learn: bool) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _steps(self, X: Any, learn: bool) -> tuple[np.ndarray, np.ndarray]:
        M = self._matrix(X, learn=learn)
        if M.shape[0] == 0:  # kernels may assume at least one row
            empty = np.empty((0, len(self._output_names())), dtype=np.float64)
            return empty, empty.copy()
        out = self._transform_arrays(M, learn)
        if learn:
            self.n_samples_seen_ += float(M.shape[0])
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array(self._output_names(), dtype=object)

    def learn_one(self, x: dict, y: Any = None, w: float = 1.0) -> Transformer:
        self._steps(x, learn=True)
        return self

    def learn_many(self, X: Any, y: Any = None, w: Any = None) -> Transformer:
        self._steps(X, learn=True)
        return self

    def transform_one(self, x: dict) -> dict[str, float]:
        _, out = self._steps(x, learn=False)
        return dict(zip(self._output_names(), out[0].tolist()))

    def transform_many(self, X: Any) -> np.ndarray:
        return self._steps(X, learn=False)[1]

    # scikit-learn face
    def fit(self, X: Any, y: Any = None) -> Transformer:
        self.reset()
        return self.learn_many(X)

    def partial_fit(self, X: Any, y: Any = None) -> Transformer:
        return self.learn_many(X)

    def transform(self, X: Any) -> np.ndarray:
        return self.transform_many(X)
