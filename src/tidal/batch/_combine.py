"""Hybrids of batch and online learners.

``Hybrid(batch, online)``: the batch model gives a base prediction and an online model learns a
correction on top of it — the residual for regression, a stacked logit for classification (the
online model sees the row's features plus the batch model's log-odds). The correction is
re-based (forgotten) each time a new batch model goes live, since it corrected the old one.

``Switch(a, b, ...)``: every learner learns every row; each row is served by the learner with the
best metric over the last ``window`` rows before it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from tidal.base import Classifier, Learner, Regressor, Tags, store_params
from tidal.base.exceptions import ParameterError
from tidal.base.validation import check_int
from tidal.batch._learner import BatchLearner

__all__ = ["Hybrid", "HybridClassifier", "HybridRegressor", "Switch"]

_EPS = 1e-12


class _MemberTags:
    """``_tags`` from the members: NaN is taken when every member takes it (a hybrid's online
    member also sets the task: a multiclass online learner makes a multiclass hybrid)."""

    def __get__(self, obj: Any, owner: type) -> Tags:
        base = owner._face_tags
        members = _members(obj) if obj is not None else []
        if not members or not all(isinstance(m, Learner) for m in members):
            return base
        task = base.task
        if base.task == "binary" and members[-1]._tags.task == "multiclass":
            task = "multiclass"
        missing = all(m._tags.handles_missing for m in members)
        return Tags(task=task, batch=base.batch, handles_missing=missing)


class _GetTags:
    """``_get_tags()`` answers for the instance when there is one (tags depend on members)."""

    def __get__(self, obj: Any, owner: type) -> Any:
        return (lambda: owner._face_tags) if obj is None else (lambda: obj._tags)


def _members(obj: Any) -> list[Any]:
    if isinstance(obj, Hybrid):
        return [obj.batch, obj.online]
    return list(getattr(obj, "learners", ()) or ())


def _sub_state(m: Learner) -> dict[str, Any]:
    return m.state_dict()


class Hybrid(Learner):
    """An online correction on top of the last batch model; see the module docstring.

    ``Hybrid(batch, online)`` picks :class:`HybridClassifier` or :class:`HybridRegressor` from
    the batch learner's task.

    >>> from sklearn.linear_model import Ridge
    >>> from tidal.batch import BatchLearner, EveryN
    >>> from tidal.linear_model import LinearRegression
    >>> X = np.random.default_rng(0).uniform(size=(4000, 2))
    >>> y = 3 * X[:, 0] + np.r_[np.zeros(2000), np.ones(2000)]   # a level shift at row 2000
    >>> h = Hybrid(BatchLearner(Ridge(), retrain=EveryN(1000)), LinearRegression())
    >>> err = np.abs(h.step_many(X, y) - y)
    >>> b = BatchLearner(Ridge(), retrain=EveryN(1000))
    >>> bool(err[2000:3000].mean() < np.abs(b.step_many(X, y) - y)[2000:3000].mean())
    True
    """

    #: the conformance suite tests HybridClassifier and HybridRegressor, which this dispatches to
    _abstract = True

    def __new__(cls, batch: Any = None, *args: Any, **kwargs: Any) -> Hybrid:
        if cls is Hybrid:
            regression = getattr(batch, "_tags", Tags()).task == "regression"
            cls = HybridRegressor if regression else HybridClassifier
        return object.__new__(cls)

    def __init__(self, batch: Any = None, online: Any = None):
        store_params(self, locals())

    def _check_params(self) -> None:
        if not isinstance(self.batch, BatchLearner):
            raise ParameterError(f"batch == {self.batch!r}, expected a tidal BatchLearner")
        if not isinstance(self.online, Learner):
            raise ParameterError(f"online == {self.online!r}, expected a tidal online learner")
        if self.online._tags.task not in self._online_tasks():
            raise ParameterError(
                f"online == {type(self.online).__name__} is a {self.online._tags.task} learner; "
                f"{self._name()} needs a {' or '.join(self._online_tasks())} learner"
            )

    @classmethod
    def _unit_test_params(cls):  # noqa: ANN206
        from sklearn.linear_model import LogisticRegression, Ridge

        from tidal.batch._policies import EveryN
        from tidal.linear_model import LinearRegression
        from tidal.linear_model import LogisticRegression as OnlineLR

        if cls is HybridRegressor:
            yield {
                "batch": BatchLearner(Ridge(), retrain=EveryN(300)),
                "online": LinearRegression(),
            }
        else:
            from tidal.linear_model import SoftmaxRegression
            from tidal.preprocessing import MeanImputer

            batch = BatchLearner(LogisticRegression(), retrain=EveryN(300))
            yield {"batch": batch, "online": OnlineLR()}
            # multiclass, and NaN taken: the online member imputes, the batch member too
            online = MeanImputer() | SoftmaxRegression()
            yield {"batch": clone(batch), "online": online}

    def _init_state(self) -> None:
        self._batch = clone(self.batch)
        # the batch member sees the hybrid's matrices: same features, fixed now
        self._batch._fix_features(self.feature_names_in_, None)
        if hasattr(self, "_labels"):
            self._batch._labels = list(self._labels)
        self._online = clone(self.online)
        self._version = 0
        self._width = 0
        self._seen = 0  # classes (codes 0..k-1) among the rows learned so far

    def _state_dict(self) -> dict[str, Any]:
        return {
            "batch": self._batch.state_dict(),
            "online": self._online.state_dict(),
            "version": self._version,
            "width": self._width,
            "seen": self._seen,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        from tidal.base.state import learner_from_state

        self._batch = learner_from_state(state["batch"])
        self._online = learner_from_state(state["online"])
        self._version = int(state["version"])
        # absent from states of binary-only releases
        self._width, self._seen = int(state.get("width", 0)), int(state.get("seen", 0))

    @property
    def batch_(self) -> BatchLearner:
        return self._batch

    def stream_warnings(self, n_rows: int) -> list[str]:
        """The batch member's warnings (see :meth:`BatchLearner.stream_warnings`)."""
        batch = self.__dict__.get("_batch")  # none before the first accepted block
        return batch.stream_warnings(n_rows) if batch is not None else []

    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        X = X_learn if X_learn is not None else X_pred
        base = self._base_out(len(X))
        self._batch._step_arrays(X_pred, X_learn, y, w, base)
        if X_learn is not None:
            self._batch.n_samples_seen_ += float(len(X))
        if X_learn is None:  # predicting: the serving batch model is the one we correct
            self._correct(X, base, None, w, 0, out)
            return
        versions = self._batch.served_versions_
        # runs of rows served by the same batch model: the correction restarts at each new one
        cuts = np.nonzero(np.diff(np.r_[self._version, versions]))[0]
        bounds = [0, *cuts.tolist(), len(X)]
        for a, b in zip(bounds[:-1], bounds[1:]):
            if a == b:
                continue
            if versions[a] != self._version:
                self._rebase(int(versions[a]), self._classes_before(y, a))
            self._correct(X[a:b], base[a:b], y[a:b], w, a, out[a:b])
        self._seen = self._classes_before(y, len(X))
        if self._batch.n_retrains_ != self._version:  # a model went live after the last row
            self._rebase(self._batch.n_retrains_, self._seen)

    def _classes_before(self, y: Any, a: int) -> int:
        """Classes seen before row ``a`` of this call (codes come in order of appearance, so
        whatever the block size)."""
        if not isinstance(self, Classifier) or a == 0:
            return self._seen
        return max(self._seen, int(np.max(y[:a])) + 1)

    def _rebase(self, version: int, n_classes: int) -> None:
        self._online = clone(self.online)
        self._version = version
        # a multiclass correction stacks the log-probabilities of the classes seen before the
        # new model's first row: a fixed width for the new online model's lifetime
        self._width = n_classes


class HybridRegressor(Hybrid, Regressor):
    """A :class:`Hybrid` for regression: the online model learns the batch model's residuals."""

    _face_tags = Tags(task="regression", batch=True)
    _tags = _MemberTags()  # type: ignore[assignment]
    _get_tags = _GetTags()  # type: ignore[assignment]

    def _online_tasks(self) -> tuple[str, ...]:
        return ("regression",)

    def _base_out(self, n: int) -> np.ndarray:
        return np.zeros(n)

    def _correct(self, X, base, y, w, a, out) -> None:  # noqa: ANN001
        if y is None:
            out[:] = base + (self._online.predict_many(X) if self._online.is_fitted else 0.0)
            return
        out[:] = base + self._online.step_many(X, y - base, w[a : a + len(X)])


class HybridClassifier(Hybrid, Classifier):
    """A :class:`Hybrid` for classification: a stacked logit over the batch model's log-odds."""

    _face_tags = Tags(task="binary", batch=True)
    _tags = _MemberTags()  # type: ignore[assignment]
    _get_tags = _GetTags()  # type: ignore[assignment]

    def _online_tasks(self) -> tuple[str, ...]:
        return ("binary", "multiclass")

    def _base_out(self, n: int) -> np.ndarray:
        return np.zeros((n, self._n_outputs()))

    def _on_new_classes(self, n_classes: int) -> None:
        if hasattr(self, "_batch"):
            # the batch member is fed codes directly: it shares our labels
            self._batch._labels = list(self._labels)
            self._batch._on_new_classes(n_classes)

    def _stacked(self, X: np.ndarray, base: np.ndarray) -> np.ndarray:
        """The online model's input: the row's features plus the batch model's log-odds
        (binary), or its log-probabilities of the first ``_width`` classes (multiclass)."""
        if self.online._tags.task == "multiclass":
            p = np.zeros((len(X), self._width))
            k = min(self._width, base.shape[1])
            p[:, :k] = base[:, :k]
            return np.column_stack([X, np.log(np.clip(p, _EPS, 1.0))])
        p1 = np.clip(base[:, 1] if base.shape[1] > 1 else np.zeros(len(X)), _EPS, 1 - _EPS)
        # rows the batch model left empty (no class yet) get log-odds 0
        logit = np.where(base.sum(axis=1) > 0, np.log(p1) - np.log1p(-p1), 0.0)
        return np.column_stack([X, logit])

    def _correct(self, X, base, y, w, a, out) -> None:  # noqa: ANN001
        Z = self._stacked(X, base)
        if y is None:
            if not self._online.is_fitted:
                out[:] = base
                return
            proba = self._online.predict_proba_many(Z)
        else:
            proba = self._online.step_proba_many(Z, y, w[a : a + len(X)])
        # the online learner learned our codes as its labels: its classes_ are codes
        codes = np.asarray(self._online.classes_, dtype=np.int64)
        keep = codes < out.shape[1]
        out[:, codes[keep]] = proba[:, keep]


class Switch(Learner):
    """Serves, for each row, the learner with the best metric over the last ``window`` rows.

    All learners learn every row. The metric is accuracy for classifiers and minus the mean
    absolute error for regressors; ties go to the learner listed first.

    >>> from tidal.dummy import MajorityClassifier, NoChangeClassifier
    >>> y = np.r_[np.zeros(50), np.tile([0] * 5 + [1] * 5, 10)].astype(int)
    >>> s = Switch(MajorityClassifier(), NoChangeClassifier(), window=20)
    >>> _ = s.step_many(np.zeros((150, 1)), y)
    >>> s.served_counts_.tolist()   # no-change wins once the labels start to come in runs
    [57, 93]
    """

    _face_tags = Tags(task="multiclass")
    _tags = _MemberTags()  # type: ignore[assignment]
    _get_tags = _GetTags()  # type: ignore[assignment]

    def __new__(cls, *learners: Any, **kwargs: Any) -> Switch:
        learners = learners or tuple(kwargs.get("learners") or ())
        if cls is Switch and learners and getattr(learners[0], "_tags", Tags()).is_regressor:
            cls = _SwitchRegressor
        elif cls is Switch:
            cls = _SwitchClassifier
        return object.__new__(cls)

    def __init__(self, *members: Learner, learners: Any = None, window: int = 500):
        # Switch(a, b) reads best; learners=(a, b) is what get_params/clone/state dicts use
        self.learners = tuple(learners) if learners is not None else members
        self.window = window

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"learners": self.learners, "window": self.window}

    def set_params(self, **params: Any) -> Switch:
        if "learners" in params:
            self.learners = tuple(params.pop("learners"))
        if "window" in params:
            self.window = params.pop("window")
        if params:
            raise ParameterError(f"Switch has no parameters {sorted(params)}")
        return self

    def __sklearn_clone__(self) -> Switch:
        return type(self)(learners=[clone(m) for m in self.learners], window=self.window)

    @classmethod
    def _unit_test_params(cls):  # noqa: ANN206
        from tidal.dummy import MajorityClassifier, NoChangeClassifier, RunningMeanRegressor

        if cls is _SwitchRegressor:
            yield {"learners": (RunningMeanRegressor(),), "window": 50}
        else:
            yield {"learners": (MajorityClassifier(), NoChangeClassifier()), "window": 50}

    def _check_params(self) -> None:
        if not self.learners:
            raise ParameterError("Switch needs at least one learner")
        check_int("window", self.window, 1, owner="Switch")

    def _init_state(self) -> None:
        self._members = [clone(m) for m in self.learners]
        self._tail = np.zeros((0, len(self._members)))
        self.served_counts_ = np.zeros(len(self._members), dtype=np.int64)

    def _state_dict(self) -> dict[str, Any]:
        return {
            "members": [_sub_state(m) for m in self._members],
            "tail": self._tail.copy(),
            "served": self.served_counts_.copy(),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        from tidal.base.state import learner_from_state

        self._members = [learner_from_state(s) for s in state["members"]]
        self._tail = np.asarray(state["tail"], dtype=np.float64).reshape(-1, len(self._members))
        self.served_counts_ = np.asarray(state["served"], dtype=np.int64)

    def _choose(self, scores: np.ndarray) -> np.ndarray:
        """Index of the member serving each row, from the members' scores on earlier rows."""
        w = self.window
        full = np.concatenate([self._tail, scores])
        csum = np.concatenate([np.zeros((1, full.shape[1])), np.cumsum(full, axis=0)])
        t = len(self._tail) + np.arange(len(scores))  # rows before row i in `full`
        lo = np.maximum(t - w, 0)
        recent = csum[t] - csum[lo]
        self._tail = full[-w:] if len(full) > w else full
        return np.argmax(recent, axis=1)


class _SwitchClassifier(Switch, Classifier):
    _face_tags = Tags(task="multiclass")

    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        X = X_learn if X_learn is not None else X_pred
        probas = []
        for m in self._members:
            if X_learn is None:
                p = m.predict_proba_many(X) if m.is_fitted else np.zeros((len(X), 0))
            else:
                p = m.step_proba_many(X, np.asarray(self._labels, dtype=object)[y], w)
            full = np.zeros(out.shape)
            labels = list(m.classes_) if m.is_fitted else []
            for j, lab in enumerate(labels[: p.shape[1]]):
                full[:, self._labels.index(lab)] = p[:, j]
            probas.append(full)
        if X_learn is None:
            best = np.full(len(X), self._best_now())
        else:
            hits = np.stack(
                [(np.argmax(p, axis=1) == y) & (p.sum(axis=1) > 0) for p in probas], axis=1
            )
            best = self._choose(hits.astype(np.float64))
            np.add.at(self.served_counts_, best, 1)
        for j, p in enumerate(probas):
            rows = best == j
            out[rows] = p[rows]

    def _best_now(self) -> int:
        w = self.window
        return int(np.argmax(self._tail[-w:].sum(axis=0))) if len(self._tail) else 0


class _SwitchRegressor(Switch, Regressor):
    _face_tags = Tags(task="regression")

    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        X = X_learn if X_learn is not None else X_pred
        if X_learn is None:
            best = int(np.argmax(self._tail.sum(axis=0))) if len(self._tail) else 0
            m = self._members[best]
            out[:] = m.predict_many(X) if m.is_fitted else 0.0
            return
        preds = np.stack([m.step_many(X, y, w) for m in self._members], axis=1)
        best = self._choose(-np.abs(preds - y[:, None]))
        np.add.at(self.served_counts_, best, 1)
        out[:] = preds[np.arange(len(X)), best]
