"""The base of every estimator (:class:`Learner`) and of the supervised ones: input reading,
feature checks, weights, state. The hooks are described in :mod:`tidal.base.learner`.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from tidal.base._input import (
    CategoryEncoder,
    Columns,
    Rows,
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

__all__ = ["Learner"]

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
