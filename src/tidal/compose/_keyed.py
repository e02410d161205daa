"""One model per key (customer, store, sensor): ``Keyed(learner, key="store")``.

Each key gets its own clone of ``learner``, created when the key is first seen. Keys never
share state, so test-then-train runs per key: a block gives exactly what feeding each key's rows,
in order, to its own model would give, whatever the block size and however keys interleave.

With ``warm_start=True`` a global model learns every row as well, and a key seen for the first
time starts as a copy of the global model as it was just before that key's first row (so the
answer still does not depend on the block size). Unseen keys are then predicted by the global
model.

Most keys are idle most of the time: with ``max_in_memory`` the least recently used models are
written to ``spill_dir`` (tidal state files, no pickle) and read back when their key returns.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tidal.base import as_array, read_columns
from tidal.base.exceptions import InputError, NotFittedError, ParameterError, StateError
from tidal.base.learner import Learner
from tidal.base.state import learner_from_state, read_state, save_state
from tidal.base.validation import check_int

__all__ = ["Keyed"]

KEYED_FORMAT = "tidal.keyed"
KEYED_FORMAT_VERSION = 1


def _plain(key: Any) -> Any:
    """A key as a plain JSON-able Python value (numpy scalars unwrapped)."""
    if isinstance(key, np.generic):
        key = key.item()
    if not isinstance(key, str | int | float | bool) or isinstance(key, float) and key != key:
        raise InputError(f"Keyed: a key must be a str, int, float or bool, got {key!r}")
    return key


def _assemble(parts: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """Per-key answers put back in row order, in one dtype that holds them all."""
    if not parts:
        return np.empty(0)
    try:
        dtype = np.result_type(*(got.dtype for _, got in parts))
    except TypeError:  # labels of unrelated kinds (str and bool): keep them as they are
        dtype = np.dtype(object)
    out = np.empty((n, *parts[0][1].shape[1:]), dtype=dtype)
    for rows, got in parts:
        out[rows] = got
    return out


class Keyed:
    """One clone of ``learner`` per value of the ``key`` column, with a bound on memory.

    Parameters
    ----------
    learner
        The model every key gets a fresh clone of (not modified).
    key
        The column holding the key; it is not passed to the models as a feature.
    warm_start
        Keep a global model learning every row; new keys start as a copy of it.
    max_in_memory
        Keep at most this many keys' models in memory; the rest are spilled to disk.
    spill_dir
        Where spilled models go (a temporary folder when ``None``).

    >>> from tidal.linear_model import LinearRegression
    >>> m = Keyed(LinearRegression(), key="store")
    >>> X = {"store": ["a", "b", "a", "b"], "x": [1.0, 1.0, 1.0, 1.0]}
    >>> m.step_many(X, [10.0, -10.0, 10.0, -10.0]).round(2).tolist()
    [0.0, 0.0, 0.4, -0.4]
    >>> sorted(m.keys_), m.predict_one({"store": "a", "x": 1.0}) > 0
    (['a', 'b'], True)
    """

    def __init__(
        self,
        learner: Learner,
        key: str,
        warm_start: bool = False,
        max_in_memory: int | None = None,
        spill_dir: str | Path | None = None,
    ):
        if not isinstance(key, str) or not key:
            raise ParameterError(f"Keyed: key == {key!r}, expected the name of a column")
        check_int("max_in_memory", max_in_memory, 1, owner="Keyed", allow_none=True)
        self.learner = learner
        self.key = key
        self.warm_start = warm_start
        self.max_in_memory = max_in_memory
        self.spill_dir = spill_dir
        self._models: OrderedDict[Any, Learner] = OrderedDict()  # least recently used first
        self._spilled: dict[Any, Path] = {}
        self._global: Learner | None = learner.clone() if warm_start else None
        self._tmp: tempfile.TemporaryDirectory | None = None

    # ------------------------------------------------------------------ keys and memory
    @property
    def keys_(self) -> list[Any]:
        """Every key seen, in memory or spilled."""
        return [*self._models, *self._spilled]

    @property
    def n_in_memory_(self) -> int:
        return len(self._models)

    def _spill_path(self, key: Any) -> Path:
        if self.spill_dir is None and self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="tidal-keyed-")
        folder = Path(self.spill_dir if self.spill_dir is not None else self._tmp.name)
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:32]
        return folder / f"{digest}.npz"

    def _model(self, key: Any, create: bool) -> Learner | None:
        """The model of ``key``, made most recent; read back from disk if spilled."""
        model = self._models.get(key)
        if model is not None:
            self._models.move_to_end(key)
            return model
        path = self._spilled.pop(key, None)
        if path is not None:
            model = learner_from_state(read_state(path))
            path.unlink()
        elif create:
            model = copy.deepcopy(self._global) if self._global is not None else None
            model = model if model is not None else self.learner.clone()
        else:
            return None
        self._models[key] = model
        self._evict(keep=key)
        return model

    def _evict(self, keep: Any) -> None:
        if self.max_in_memory is None:
            return
        while len(self._models) > self.max_in_memory:
            old = next(iter(self._models))
            if old == keep:  # never the model in use
                self._models.move_to_end(old)
                continue
            model = self._models.pop(old)
            self._spilled[old] = save_state(model.state_dict(), self._spill_path(old))

    # ------------------------------------------------------------------ input
    def _split(self, X: Any) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
        cols = read_columns(X)
        if self.key not in cols.names:
            raise InputError(
                f"Keyed: no key column {self.key!r} in the input (columns: {list(cols.names)})",
                column=self.key,
            )
        features = {n: cols.column(j) for j, n in enumerate(cols.names) if n != self.key}
        keys = np.asarray(cols.column(cols.names.index(self.key)))
        return keys, features, cols.n_rows

    @staticmethod
    def _groups(keys: np.ndarray) -> list[tuple[Any, np.ndarray]]:
        """(key, its row positions in order) in order of first appearance."""
        if len(keys) <= 256:  # pandas' fixed cost (~1 ms a call) dominates small blocks
            rows: dict[Any, list[int]] = {}
            for i, k in enumerate(keys.tolist()):
                rows.setdefault(k, []).append(i)
            return [(_plain(k), np.asarray(r, dtype=np.intp)) for k, r in rows.items()]
        codes, uniques = pd.factorize(pd.Series(keys, dtype=object), use_na_sentinel=False)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        return [(_plain(uniques[c]), order[bounds[c] : bounds[c + 1]]) for c in range(len(uniques))]

    # ------------------------------------------------------------------ learning
    def _run(self, X: Any, y: Any, w: Any, predict: bool) -> np.ndarray | None:
        keys, features, n = self._split(X)
        yv = as_array(y)
        if len(yv) != n:
            raise InputError(f"Keyed: {n} rows but {len(yv)} labels")
        wv = None if w is None else np.broadcast_to(np.asarray(w, dtype=float), (n,))
        groups = self._groups(keys)
        if self._global is not None:
            self._learn_global(groups, features, yv, wv)
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        for key, rows in groups:
            model = self._model(key, create=True)
            Xk = {name: col[rows] for name, col in features.items()}
            wk = None if wv is None else wv[rows]
            if predict:
                parts.append((rows, np.asarray(model.step_many(Xk, yv[rows], wk))))
            else:
                model.learn_many(Xk, yv[rows], wk)
        return _assemble(parts, n) if predict else None

    def _learn_global(
        self,
        groups: list[tuple[Any, np.ndarray]],
        features: dict[str, np.ndarray],
        y: np.ndarray,
        w: np.ndarray | None,
    ) -> None:
        """The global model learns every row; each new key is copied from it just before its
        first row (the copy is created here, so it does not depend on the block size)."""
        starts = sorted(
            (int(rows[0]), key)
            for key, rows in groups
            if key not in self._models and key not in self._spilled
        )
        done = 0
        for first, key in [*starts, (len(y), None)]:
            if first > done:
                sl = slice(done, first)
                self._global.learn_many(
                    {name: col[sl] for name, col in features.items()},
                    y[sl],
                    None if w is None else w[sl],
                )
                done = first
            if key is not None:
                self._models[key] = copy.deepcopy(self._global)
                self._evict(keep=key)

    def learn_many(self, X: Any, y: Any, w: Any = None) -> Keyed:
        """Learn rows in order, each by its key's model."""
        self._run(X, y, w, predict=False)
        return self

    def step_many(self, X: Any, y: Any, w: Any = None) -> np.ndarray:
        """For each row, its key's prediction before the row is learned; then learn it."""
        return self._run(X, y, w, predict=True)

    def learn_one(self, x: dict, y: Any, w: float = 1.0) -> Keyed:
        return self.learn_many({k: [v] for k, v in x.items()}, [y], [w])

    def _predictor(self, x: dict) -> tuple[Learner, dict]:
        if self.key not in x:
            raise InputError(f"Keyed: the row has no key {self.key!r}", column=self.key)
        key = _plain(x[self.key])
        model = self._model(key, create=False)
        if model is None:
            if self._global is None or not self._global.is_fitted:
                raise NotFittedError(
                    f"Keyed: no model for key {key!r} yet (learn a row of it first, or use "
                    "warm_start=True to predict unseen keys with the global model)"
                )
            model = self._global
        return model, {k: v for k, v in x.items() if k != self.key}

    def predict_one(self, x: dict) -> Any:
        model, row = self._predictor(x)
        return model.predict_one(row)

    def predict_proba_one(self, x: dict) -> dict[Any, float]:
        model, row = self._predictor(x)
        return model.predict_proba_one(row)

    def predict_many(self, X: Any) -> np.ndarray:
        """Each row predicted by its key's model (the global one for unseen keys)."""
        keys, features, n = self._split(X)
        parts = []
        for key, rows in self._groups(keys):
            model, _ = self._predictor({self.key: key})
            parts.append(
                (rows, np.asarray(model.predict_many({k: c[rows] for k, c in features.items()})))
            )
        return _assemble(parts, n)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Every key's state (spilled ones read back), the global model's, and the parameters.

        >>> from tidal.linear_model import LinearRegression
        >>> m = Keyed(LinearRegression(), key="k")
        >>> m = m.learn_many({"k": [1, 2], "x": [1.0, 2.0]}, [1.0, 2.0])
        >>> again = Keyed.from_state(m.state_dict())
        >>> again.predict_one({"k": 2, "x": 1.0}) == m.predict_one({"k": 2, "x": 1.0})
        True
        """
        keys = [[k, m.state_dict()] for k, m in self._models.items()]
        keys += [[k, read_state(p)] for k, p in self._spilled.items()]
        return {
            "format": KEYED_FORMAT,
            "format_version": KEYED_FORMAT_VERSION,
            "params": {
                "key": self.key,
                "warm_start": self.warm_start,
                "max_in_memory": self.max_in_memory,
                "spill_dir": None if self.spill_dir is None else str(self.spill_dir),
            },
            "learner": self.learner.state_dict(),
            "global": None if self._global is None else self._global.state_dict(),
            "keys": keys,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Keyed:
        """Rebuild a :class:`Keyed` from :meth:`state_dict` (also after ``save_state``)."""
        if not isinstance(state, dict) or state.get("format") != KEYED_FORMAT:
            raise StateError(f"not a keyed state dict (missing 'format': {KEYED_FORMAT!r})")
        if state.get("format_version") != KEYED_FORMAT_VERSION:
            raise StateError(
                f"keyed state format version {state.get('format_version')} is not supported: "
                f"this release reads version {KEYED_FORMAT_VERSION}"
            )
        keyed = cls(learner_from_state(state["learner"]), **state["params"])
        if state["global"] is not None:
            keyed._global = learner_from_state(state["global"])
        for key, sub in state["keys"]:
            keyed._models[_plain(key)] = learner_from_state(sub)
            keyed._evict(keep=None)
        return keyed

    def __repr__(self) -> str:
        return (
            f"Keyed({self.learner!r}, key={self.key!r}, warm_start={self.warm_start}, "
            f"max_in_memory={self.max_in_memory})"
        )
