"""Feature hashing: any number of categories into a fixed number of columns, no state."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import murmurhash3_32

from tidal._kernels.preprocessing import feature_hash
from tidal.base import Columns, Tags, check_finite, store_params, to_float
from tidal.base.validation import check_bool, check_int
from tidal.preprocessing._base import PairTransformer

__all__ = ["FeatureHasher"]


def _hash(text: str) -> int:
    # murmur3 (seed 0) of the UTF-8 bytes: the same in every process, unlike Python's hash()
    return int(murmurhash3_32(text, seed=0, positive=False))


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _hash_column(name: str, values: np.ndarray) -> np.ndarray:
    out = np.empty(len(values), dtype=np.float64)
    cache: dict[Any, int] = {}
    for i, v in enumerate(values):
        h = cache.get(v)
        if h is None:
            text = v.decode("utf-8") if isinstance(v, bytes) else str(v)
            h = cache[v] = _hash(f"{name}={text}")
        out[i] = h
    return out


class FeatureHasher(PairTransformer):
    """Hashes features into ``n_features`` columns, as scikit-learn's ``FeatureHasher``.

    A text value ``v`` of column ``c`` adds ±1 at column ``murmur3("c=v") mod n_features``; a
    numeric value ``x`` adds ±x at column ``murmur3("c") mod n_features``; the sign is the sign
    of the hash when ``alternate_sign`` (so collisions cancel out on average). The output equals
    ``sklearn.feature_extraction.FeatureHasher(n_features, input_type="dict")`` on the same rows.
    Nothing is learned, so new categories need no new columns and use no memory. Text columns
    (strings) are categorical; the set is fixed by the first learn call. Missing values (None,
    NaN) are refused with the column and row.

    Parameters
    ----------
    n_features
        Number of output columns.
    alternate_sign
        Give each hashed feature the sign of its hash.

    >>> from tidal.preprocessing import FeatureHasher
    >>> hasher = FeatureHasher(n_features=4).learn_one({"city": "Paris", "t": 2.5})
    >>> hasher.transform_one({"city": "Paris", "t": 2.5})
    {'h0': 0.0, 'h1': -1.0, 'h2': 0.0, 'h3': -2.5}
    """

    _tags = Tags(task="transformer", handles_categorical=True, unsupervised=True)

    def __init__(self, n_features: int = 256, alternate_sign: bool = True) -> None:
        store_params(self, locals())

    def _check_params(self) -> None:
        k = self.n_features
        check_int("n_features", k, 1)
        check_bool("alternate_sign", self.alternate_sign)

    def _init_state(self) -> None:
        cats = self.categorical_features_
        names = self.feature_names_in_
        self._is_cat = np.array([n in cats for n in names], dtype=np.bool_)
        self._name_hash = np.array([_hash(n) for n in names], dtype=np.int64)

    def _state_dict(self) -> dict[str, Any]:
        return {}

    def _load_state(self, state: dict[str, Any]) -> None:
        self._init_state()

    def _output_names(self) -> tuple[str, ...]:
        return tuple(f"h{k}" for k in range(int(self.n_features)))

    def _convert(
        self, cols: Columns, order: list[int], names: tuple[str, ...], learn: bool, fixing: bool
    ) -> np.ndarray:
        # text cells become the hash of "column=value" instead of a learned category code, so
        # values never seen still hash (and nothing grows with the number of categories)
        categorical = self._categorical_columns(cols, order, names, fixing)
        if not categorical:
            return super()._convert(cols, order, names, learn, fixing)
        M = np.empty((cols.n_rows, len(order)), dtype=np.float64)
        pending = []
        for j, src in enumerate(order):
            values = cols.column(src)
            if names[j] in categorical:
                pending.append((j, values))
                # NaN marks a missing value so that check_finite refuses it, naming the row
                M[:, j] = [np.nan if _missing(v) else 0.0 for v in values]
            else:
                M[:, j] = to_float(values, names[j], self._name())
        check_finite(M, names, self._name(), allow_nan=False)
        for j, values in pending:
            M[:, j] = _hash_column(names[j], values)
        return M

    def _transform_pair(
        self, X_pred: np.ndarray | None, X_learn: np.ndarray | None
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        width, sign = int(self.n_features), bool(self.alternate_sign)
        Xp, Xl, Op, Ol = self._outputs(X_pred, X_learn, width, 0.0)
        if X_pred is not None:
            feature_hash(Xp, Op, self._is_cat, self._name_hash, width, sign)
        if X_learn is not None:
            if X_learn is X_pred:
                Ol[:] = Op
            else:
                feature_hash(Xl, Ol, self._is_cat, self._name_hash, width, sign)
        return (Op if X_pred is not None else None), (Ol if X_learn is not None else None)
