"""Global, per-key and global+per-key models side by side (``tidal compare ... --key COLUMN``).

For a learner ``lr`` and a key column ``store`` the comparison runs three models on the stream:

- ``lr``: one global model for every key (the key column is not one of its features);
- ``lr@store``: one clone per key (:class:`tidal.compose.Keyed`), each learning its key's rows;
- ``lr@store+global``: the same, plus a global model learning every row, and each new key's
  model starts as a copy of it (``Keyed(warm_start=True)``): cold keys start from what all keys
  taught, not from nothing.

:class:`KeyedLearner` puts each behind the engine's learner face (probabilities over the union
of the classes any key has seen, for classifiers), and counts what per-key models cost:
``keys`` (distinct keys seen), ``models`` held, and ``bytes_per_key`` (the models' state bytes
over the keys). :func:`keyed_verdict` adds the answer to "one model per key, or one for all?"
to the verdict, with those costs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal.base.exceptions import InputError, ParameterError

__all__ = ["MODES", "KeyedLearner", "add_key_costs", "keyed_learners", "keyed_verdict"]

MODES = ("global", "per-key", "global+per-key")
_SUFFIX = {"global": "", "per-key": "@{key}", "global+per-key": "@{key}+global"}


class _DictProba:
    """A classifier whose ``step_many`` answers each row's class probabilities as a dict: keys'
    models see different classes, so their answers are aligned by label afterwards."""

    def __init__(self, learner: Any) -> None:
        self.learner = learner

    def clone(self) -> _DictProba:
        return _DictProba(self.learner.clone())

    @property
    def is_fitted(self) -> bool:
        return self.learner.is_fitted

    def _dicts(self, P: np.ndarray) -> np.ndarray:
        classes = list(getattr(self.learner, "classes_", []))
        out = np.empty(len(P), dtype=object)
        out[:] = [dict(zip(classes, row.tolist())) for row in np.asarray(P)]
        return out

    def step_many(self, X: Any, y: Any, w: Any = None) -> np.ndarray:
        return self._dicts(self.learner.step_proba_many(X, y, w))

    def predict_many(self, X: Any) -> np.ndarray:
        return self._dicts(self.learner.predict_proba_many(X))

    def learn_many(self, X: Any, y: Any, w: Any = None) -> _DictProba:
        self.learner.learn_many(X, y, w)
        return self

    def state_dict(self) -> dict[str, Any]:
        return self.learner.state_dict()


class KeyedLearner:
    """One of the three models of a keyed comparison, behind the engine's learner face.

    >>> from tidal.linear_model import LinearRegression
    >>> X = {"store": ["a", "b", "a", "b"], "x": [1.0, 1.0, 1.0, 1.0]}
    >>> y = [10.0, -10.0, 10.0, -10.0]
    >>> per_key = KeyedLearner(LinearRegression(), key="store", mode="per-key")
    >>> per_key.step_many(X, y).round(2).tolist(), per_key.keys, per_key.models
    ([0.0, 0.0, 0.4, -0.4], 2, 2)
    >>> one = KeyedLearner(LinearRegression(), key="store", mode="global")
    >>> one.step_many(X, y).round(3).tolist(), one.keys, one.models  # one model for both keys
    ([0.0, 0.4, -0.016, 0.385], 2, 1)
    """

    def __init__(self, learner: Any, key: str, mode: str = "per-key") -> None:
        if mode not in MODES:
            raise ParameterError(f"KeyedLearner: mode == {mode!r}, must be one of {MODES}")
        self.learner = learner
        self.key = key
        self.mode = mode
        self._init()

    def _init(self) -> None:
        from tidal.compose import Keyed

        self.tags = self.learner.tags
        inner = _DictProba(self.learner.clone()) if self.tags.is_classifier else self.learner
        self._keyed = Keyed(inner, key=self.key, warm_start=self.mode == "global+per-key")
        self._seen: set[Any] = set()
        self.classes_: list[Any] = []

    # scikit-learn's clone (the engine's warm-up copies) rebuilds from these
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"learner": self.learner, "key": self.key, "mode": self.mode}

    def set_params(self, **params: Any) -> KeyedLearner:
        for k, v in params.items():
            setattr(self, k, v)
        self._init()
        return self

    @property
    def is_fitted(self) -> bool:
        return bool(self._seen)

    @property
    def keys(self) -> int:
        """Distinct keys seen."""
        return len(self._seen)

    @property
    def models(self) -> int:
        """Models held: 1 (global), one per key, or one per key plus the global one."""
        if self.mode == "global":
            return 1
        return len(self._keyed.keys_) + (self.mode == "global+per-key")

    def _columns(self, X: Any, y: Any = None) -> dict[str, np.ndarray]:
        from tidal.base import read_columns

        cols = read_columns(X)
        if self.key not in cols.names:
            raise InputError(
                f"no key column {self.key!r}; the columns are {list(cols.names)}", column=self.key
            )
        out = {n: cols.column(j) for j, n in enumerate(cols.names)}
        if y is not None:
            self._seen.update(np.unique(np.asarray(out[self.key], dtype=object)).tolist())
            self._learn_classes(y)
        if self.mode == "global":  # one key for all: one model, the key not a feature
            out[self.key] = np.zeros(cols.n_rows, dtype=np.int64)
        return out

    def _learn_classes(self, y: Any) -> None:
        if self.tags.is_classifier:
            new = {c.item() if isinstance(c, np.generic) else c for c in y} - set(self.classes_)
            if new:
                self.classes_ = sorted([*self.classes_, *new], key=lambda c: (str(type(c)), c))

    def _matrix(self, dicts: np.ndarray) -> np.ndarray:
        # a model may know a class before this wrapper learned a row of it (a fixed binary pair)
        self._learn_classes([c for row in dicts for c in row])
        index = {c: j for j, c in enumerate(self.classes_)}
        P = np.zeros((len(dicts), len(self.classes_)))
        for i, row in enumerate(dicts):
            for c, p in row.items():
                P[i, index[c]] = p
        return P

    def learn_many(self, X: Any, y: Any, w: Any = None) -> KeyedLearner:
        self._keyed.learn_many(self._columns(X, y), y, w)
        return self

    def step_many(self, X: Any, y: Any, w: Any = None) -> np.ndarray:
        return self._keyed.step_many(self._columns(X, y), y, w)

    def step_proba_many(self, X: Any, y: Any, w: Any = None) -> np.ndarray:
        return self._matrix(self.step_many(X, y, w))

    def predict_many(self, X: Any) -> np.ndarray:
        """Each row by its key's model; a key not learned yet (labels arrive late) gets no
        answer (an empty dict, or 0.0 for a regressor) unless a global model stands in."""
        cols = self._columns(X)
        keys = np.asarray(cols[self.key], dtype=object)
        if self.mode != "per-key":
            return self._keyed.predict_many(cols)
        known = set(self._keyed.keys_)
        rows = np.flatnonzero([k in known for k in keys.tolist()])
        out = np.empty(len(keys), dtype=object) if self.tags.is_classifier else np.zeros(len(keys))
        if self.tags.is_classifier:
            out[:] = [{} for _ in range(len(keys))]
        if len(rows):
            out[rows] = self._keyed.predict_many({n: c[rows] for n, c in cols.items()})
        return out

    def predict_proba_many(self, X: Any) -> np.ndarray:
        return self._matrix(self.predict_many(X))

    def state_dict(self) -> dict[str, Any]:
        """The arrays of every model held (what :func:`tidal.evaluate.model_bytes` counts)."""
        state = self._keyed.state_dict()
        held = [s.get("state") for _, s in state["keys"]]
        if state["global"] is not None:
            held.append(state["global"].get("state"))
        return {"state": held}

    def __repr__(self) -> str:
        return f"KeyedLearner({self.learner!r}, key={self.key!r}, mode={self.mode!r})"


def keyed_learners(
    specs: list[str], key: str, categorical: bool, task: str | None
) -> dict[str, Any]:
    """For each online zoo name: the global, per-key and global+per-key models, by name."""
    from tidal import zoo
    from tidal.evaluate._costs import family

    out: dict[str, Any] = {}
    for spec in specs:
        learner = zoo.make(spec, categorical=categorical, task=task)
        kind = family(learner)
        if kind == "baseline":
            out[spec] = learner
            continue
        if kind != "online":
            raise ParameterError(
                f"--key: {spec!r} is a {kind} model; per-key models are online learners here "
                "(a refit per key is not measured yet): give online models with --models"
            )
        for mode in MODES:
            out[spec + _SUFFIX[mode].format(key=key)] = KeyedLearner(learner, key, mode)
    return out


def add_key_costs(results: Any, learners: dict[str, Any]) -> None:
    """Put ``keys``, ``models`` and ``bytes_per_key`` in the rows of the keyed learners."""
    from tidal.evaluate._memory import model_bytes

    for row in results.rows:
        m = learners.get(row["learner"])
        if isinstance(m, KeyedLearner):
            row["keys"], row["models"] = m.keys, m.models
            row["bytes_per_key"] = model_bytes(m) / m.keys if m.keys else None


def keyed_verdict(v: Any, results: Any, key: str) -> None:
    """Add "one model per key, or one for all?" to verdict ``v``: a reason (first) and a
    "Per-key cost" row in the considerations, every number a citation."""
    from tidal.evaluate._steady import paired_confidence
    from tidal.evaluate._verdict import CONFIDENCE, FLOOR, _rows
    from tidal.evaluate._words import Cite

    rows = [r for r in results.rows if "keys" in r and not r.get("error")]
    classifier = any("Accuracy" in r for r in results.rows)
    steady = "steady_accuracy" if classifier else "steady_mae"
    sign = 1.0 if classifier else -1.0
    glob = [r for r in rows if "@" not in r["learner"] and r.get(steady) is not None]
    per = [r for r in rows if "@" in r["learner"] and r.get(steady) is not None]
    if not glob or not per:
        return
    g = max(glob, key=lambda r: sign * r[steady])
    p = max(per, key=lambda r: sign * r[steady])
    say = Cite(_rows(results))
    blocks = results.analysis.get("steady", {}).get("blocks", {})
    conf = paired_confidence(blocks.get(p["learner"], []), blocks.get(g["learner"], []))
    gap = sign * (p[steady] - g[steady])
    floor = FLOOR if classifier else FLOOR * 2 * abs(g[steady])
    wins = conf >= CONFIDENCE and gap >= floor
    a, b = p["learner"], g["learner"]
    diff = (
        say.derived(f"{a}|{b}", "points", 100 * abs(gap))
        if classifier
        else say.derived(f"{a}|{b}", "percent", abs(gap) / abs(g[steady] or 1.0)) + " of the MAE"
    )
    quality = (
        f"{say.cite(a, steady)} vs {say.cite(b, steady)}, "
        f"{say.derived(f'{a}|{b}', 'confidence', conf)} confidence"
    )
    cost = (
        f"{say.cite(a, 'keys')} keys at {say.cite(a, 'bytes_per_key')} per key "
        f"({say.cite(a, 'peak_model_bytes')} in all, vs {say.cite(b, 'peak_model_bytes')})"
    )
    if wins:
        text = f"Per-key models win: {a} beats the global {b} by {diff} on the steady state "
        text += f"({quality}); they cost {cost}."
    else:
        text = f"Per-key models do not beat the global model here: {a} vs {b} is {diff} apart "
        text += f"on the steady state ({quality}); one model for all keys saves {cost}."
    v.reasons.insert(0, text)
    v.cited[:0] = say.cited
    v.details["keyed"] = {"key": key, "per_key": a, "global": b, "gap": gap,
                          "confidence": conf, "wins": wins}  # fmt: skip
    if v.answers:
        say = Cite(say.rows)
        row = {}
        for col in next(iter(v.answers.values())):
            name = col[col.index("(") + 1 : -1] if "(" in col else col
            keyed = "@" in name and any(x["learner"] == name for x in rows)
            row[col] = (
                f"{say.cite(name, 'models')} models, {say.cite(name, 'bytes_per_key')}/key"
                if keyed
                else "one model for every key"
            )
        v.answers["Per-key cost"] = row
        v.cited += say.cited
