"""Monitored: a drift detector on a learner's own errors, with an action on every alarm.

The wrapper is a learner itself (the engine, the comparison and the service use it as any other):
for each row it predicts with the wrapped model, learns, and feeds the row's error (0/1 for a
classifier, the absolute error for a regressor) to the detector -- the errors of a whole block go
to the detector in one compiled call (``update_many``). When the detector raises an alarm after
row ``k`` the action happens after row ``k``, and row ``k + 1`` on is handled by whatever the
action left in place, so a block of one row gives exactly what a block of 4,096 does:

- ``"alert"``: record the row in ``alarms_``;
- ``"reset"``: replace the model by a fresh copy (same parameters, features and classes);
- ``"background"``: at the first warning (or alarm, for detectors without a warning zone) start
  a fresh background model that learns every row from then on; once it has seen ``grace`` rows
  and made fewer errors than the model over the same rows, it replaces the model;
- ``"retrain"``: ask a batch learner for a retrain now (``BatchLearner.retrain_now``). A batch
  learner cannot take back rows it stored, so this action goes one row at a time.

After a reset or a swap the detector restarts (the errors of a new model are a new signal).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from tidal.base import Classifier, Learner, ParameterError, Regressor, Tags, store_params
from tidal.base.validation import check_int
from tidal.drift.base import DriftDetector

__all__ = ["Monitored", "MonitoredClassifier", "MonitoredRegressor"]

ACTIONS = ("alert", "reset", "background", "retrain")
_EMPTY = np.empty(0, dtype=np.int64)
_CHUNK = 512


class _MonitoredTags:
    """The wrapped learner's tags (the class alone gets its face's defaults)."""

    def __get__(self, obj: Any, owner: type) -> Tags:
        inner = None if obj is None else obj.__dict__.get("learner")
        if not isinstance(inner, Learner):
            return owner._face_tags
        t = inner._tags
        return Tags(
            task=t.task,
            handles_categorical=t.handles_categorical,
            handles_missing=t.handles_missing,
            stochastic=t.stochastic,
            batch=t.batch,
        )


class _GetTags:
    def __get__(self, obj: Any, owner: type) -> Any:
        return (lambda: owner._face_tags) if obj is None else (lambda: obj._tags)


def _set_labels(model: Any, labels: list[Any]) -> None:
    """Give ``model`` the wrapper's classes (same codes) before its kernel sees them."""
    target = model._step_list()[-1] if hasattr(model, "_step_list") else model
    if getattr(target, "_labels", None) != labels:
        target._labels = list(labels)
        target._on_new_classes(len(labels))


def _first(rows: np.ndarray, start: int, default: int) -> int:
    later = rows[rows >= start]
    return int(later[0]) if len(later) else default


class Monitored(Learner):
    """A learner whose errors feed a drift detector, with an action on alarm (see the module).

    ``Monitored(learner, ...)`` builds a :class:`MonitoredClassifier` or a
    :class:`MonitoredRegressor`, following ``learner``.

    Parameters
    ----------
    learner
        The tidal classifier or regressor to watch (a template: the wrapper trains a clone).
    detector
        A :mod:`tidal.drift` detector (cloned); default :class:`~tidal.drift.ADWIN`.
    action
        "alert", "reset", "background" or "retrain".
    grace
        Rows a background model must have seen before it may replace the model.

    Fitted attributes: ``model_`` (the serving model), ``background_`` (or None), ``detector_``,
    ``alarms_``, ``backgrounds_`` and ``swaps_`` (stream rows, 0-based, after which an alarm
    came, a background model started, a swap happened) and ``n_resets_``, ``n_retrains_``.

    >>> import numpy as np
    >>> from tidal.drift import DDM, Monitored
    >>> from tidal.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(4000, 2))
    >>> y = np.where(np.arange(4000) < 2000, X[:, 0] > 0, X[:, 0] < 0).astype(int)  # flips at 2000
    >>> model = Monitored(LogisticRegression(), detector=DDM(), action="reset")
    >>> type(model).__name__
    'MonitoredClassifier'
    >>> hits = model.step_many(X, y) == y
    >>> model.alarms_[0] > 2000, model.n_resets_ == len(model.alarms_)
    (True, True)
    >>> bool(hits[3000:].mean() > 0.9)
    True
    """

    _tags = _MonitoredTags()  # type: ignore[assignment]
    _get_tags = _GetTags()  # type: ignore[assignment]
    _face_tags: ClassVar[Tags] = Tags(task="multiclass")
    _abstract = True

    def __new__(cls, learner: Any = None, *args: Any, **kwargs: Any) -> Monitored:
        if cls is Monitored:
            cls = MonitoredRegressor if isinstance(learner, Regressor) else MonitoredClassifier
        return object.__new__(cls)

    def __init__(
        self,
        learner: Any = None,
        detector: DriftDetector | None = None,
        action: str = "alert",
        grace: int = 100,
    ) -> None:
        store_params(self, locals())

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        return f"Monitored({self.learner!r}, detector={self.detector!r}, action={self.action!r})"

    # ------------------------------------------------------------------ parameters
    def _check_params(self) -> None:
        face = Regressor if isinstance(self, Regressor) else Classifier
        if not isinstance(self.learner, face):
            raise ParameterError(
                f"learner == {self.learner!r}, must be a tidal {face.__name__.lower()} "
                f"for a {type(self).__name__}"
            )
        if self.detector is not None and not isinstance(self.detector, DriftDetector):
            raise ParameterError(
                f"detector == {self.detector!r}, must be a tidal.drift detector or None"
            )
        if self.action not in ACTIONS:
            raise ParameterError(f"action == {self.action!r}, must be one of {list(ACTIONS)}")
        if self.action == "retrain" and not hasattr(self.learner, "retrain_now"):
            raise ParameterError(
                f"action == 'retrain' needs a learner with retrain_now() (a tidal.batch "
                f"BatchLearner), got {type(self.learner).__name__}"
            )
        check_int("grace", self.grace, 1)

    def _fixed_classes(self) -> list[Any] | None:
        return self.learner._fixed_classes()

    # ------------------------------------------------------------------ state
    def _fresh(self) -> Learner:
        """A clone of ``learner`` with this wrapper's features, categories and classes."""
        model = self.learner.clone()
        first = model._step_list()[0] if hasattr(model, "_step_list") else model
        if self._tags.handles_categorical and first._tags.handles_categorical:
            first._pending_categorical = self.categorical_features_
            first._pending_categories = self._categories  # shared: new categories reach both
        model._fix_features(self.feature_names_in_, None)
        if getattr(self, "_labels", None):
            _set_labels(model, self._labels)
        return model

    def _init_state(self) -> None:
        from tidal.drift._adwin import ADWIN

        self.model_ = self._fresh()
        self.background_: Learner | None = None
        self.detector_ = (self.detector if self.detector is not None else ADWIN()).clone()
        self.alarms_: list[int] = []
        self.backgrounds_: list[int] = []
        self.swaps_: list[int] = []
        self.n_resets_ = 0
        self.n_retrains_ = 0
        # errors of the background model and of the model since the background started
        self._race = np.zeros(3)  # (background errors, model errors, rows)

    def _on_new_classes(self, n_classes: int) -> None:
        for model in (self.__dict__.get("model_"), self.__dict__.get("background_")):
            if model is not None:
                _set_labels(model, self._labels)

    def _state_dict(self) -> dict[str, Any]:
        bg = self.background_
        return {
            "model": self.model_.state_dict(),
            "background": {} if bg is None else bg.state_dict(),
            "detector": self.detector_.state_dict(),
            "race": self._race.copy(),
            "alarms": np.array(self.alarms_, dtype=np.int64),
            "backgrounds": np.array(self.backgrounds_, dtype=np.int64),
            "swaps": np.array(self.swaps_, dtype=np.int64),
            "counts": np.array([self.n_resets_, self.n_retrains_], dtype=np.int64),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        from tidal.base.state import learner_from_state
        from tidal.drift.base import detector_from_state

        self.model_ = self._relink(learner_from_state(state["model"]))
        bg = state["background"]
        self.background_ = self._relink(learner_from_state(bg)) if bg else None
        self.detector_ = detector_from_state(state["detector"])
        self._race = np.array(state["race"], dtype=np.float64)
        self.alarms_ = [int(v) for v in np.asarray(state["alarms"]).tolist()]
        self.backgrounds_ = [int(v) for v in np.asarray(state["backgrounds"]).tolist()]
        self.swaps_ = [int(v) for v in np.asarray(state["swaps"]).tolist()]
        self.n_resets_, self.n_retrains_ = (int(v) for v in state["counts"])

    def _relink(self, model: Learner) -> Learner:
        first = model._step_list()[0] if hasattr(model, "_step_list") else model
        if self._tags.handles_categorical and first._tags.handles_categorical:
            first._categories = self._categories
        return model

    # ------------------------------------------------------------------ the per-row hook
    def _errors(self, out: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _step_model(self, model: Learner, rows: tuple, out: np.ndarray, pos: int) -> np.ndarray:
        """Step ``model`` over rows ``pos:`` (predict into ``out``, learn); their errors."""
        P, L, y, w = rows
        out[pos:] = 0.0
        model._step_arrays(P[pos:], L[pos:], y[pos:], w[pos:], out[pos:])
        model.n_samples_seen_ += float(L.shape[0] - pos)
        err = np.zeros(L.shape[0])
        err[pos:] = self._errors(out[pos:], y[pos:])
        return err

    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        if X_learn is None:  # prediction only: the detector needs labels
            self.model_._step_arrays(X_pred, None, None, None, out)
            return
        P = X_pred if X_pred is not None else X_learn  # learning alone still measures errors
        row = int(self.n_samples_seen_)
        if self.action == "alert":
            self._run_rows((P, X_learn, y, w), out, row)
            return
        if self.action != "retrain":
            # a reset or a swap re-does the rest of the rows: chunks bound that waste
            for a in range(0, X_learn.shape[0], _CHUNK):
                b = a + _CHUNK
                self._run_rows((P[a:b], X_learn[a:b], y[a:b], w[a:b]), out[a:b], row + a)
            return
        for i in range(X_learn.shape[0]):
            one = (P[i : i + 1], X_learn[i : i + 1], y[i : i + 1], w[i : i + 1])
            self._run_rows(one, out[i : i + 1], row + i)

    def _run_rows(self, rows: tuple, out: np.ndarray, row: int) -> None:
        """Rows of one call: the model's errors go to the detector in one call; at the first
        event (alarm, warning, swap) act, and go on from the next row."""
        n = rows[1].shape[0]
        pos = fed = bg_from = 0
        err = bg_out = bg_err = None
        alarms = warns = _EMPTY
        while True:
            if pos >= n:  # the rows since the background model (if any) started count
                if bg_out is not None:
                    self._race = self._running(bg_err[bg_from:], err[bg_from:])[:, -1]
                return
            if err is None:
                err = self._step_model(self.model_, rows, out, pos)
            if fed < n:
                a, wr = self.detector_.update_many(err[fed:], return_warnings=True)
                alarms, warns, fed = np.r_[alarms, a + fed], np.r_[warns, wr + fed], n
            if self.background_ is not None and bg_out is None:
                bg_out, bg_from = np.zeros_like(out), pos
                bg_err = self._step_model(self.background_, rows, bg_out, pos)
            k_alarm = _first(alarms, pos, n)
            k_warn = n
            if self.action == "background" and self.background_ is None:
                k_warn = _first(warns, pos, n)
            k_swap = n
            if bg_out is not None:
                k_swap = self._swap_row(bg_err[bg_from:], err[bg_from:], bg_from, n)
            k = min(k_alarm, k_warn, k_swap)
            pos = k + 1
            if k >= n:
                continue
            if k == k_swap:
                self.model_, self.background_ = self.background_, None
                self.swaps_.append(row + k)
                out[pos:], err[pos:] = bg_out[pos:], bg_err[pos:]
                bg_out = None
                self.detector_.reset()
                fed, alarms, warns = pos, _EMPTY, _EMPTY
                if k != k_alarm:
                    continue
            if k == k_alarm:
                self.alarms_.append(row + k)
                if self.action == "reset":
                    self.model_ = self._fresh()
                    self.n_resets_ += 1
                    self.detector_.reset()
                    err, fed, alarms, warns = None, pos, _EMPTY, _EMPTY
                    continue
                if self.action == "retrain":
                    self.model_.retrain_now()
                    self.n_retrains_ += 1
            if self.action == "background" and self.background_ is None and k < k_swap:
                self.background_ = self._fresh()
                self.backgrounds_.append(row + k)
                self._race[:] = 0.0

    def _swap_row(self, bg_err: np.ndarray, err: np.ndarray, start: int, n: int) -> int:
        """The first row after which the background model has seen ``grace`` rows and made
        fewer errors than the model over the same rows (``n`` if there is none)."""
        bg, model, seen = self._running(bg_err, err)
        ok = (bg < model) & (seen >= self.grace)
        return start + int(np.argmax(ok)) if ok.any() else n

    def _running(self, bg_err: np.ndarray, err: np.ndarray) -> np.ndarray:
        """Running (background errors, model errors, rows) after each row, summed row by row
        from the saved totals so that the sums do not depend on the block size."""
        ones = np.ones(len(err))
        parts = [np.cumsum(np.r_[r, e])[1:] for r, e in zip(self._race, (bg_err, err, ones))]
        return np.vstack(parts)


class MonitoredClassifier(Monitored, Classifier):
    """A :class:`Monitored` classifier: the error of a row is 1 if the predicted class is wrong.

    >>> from tidal.drift import MonitoredClassifier
    >>> from tidal.naive_bayes import GaussianNB
    >>> m = MonitoredClassifier(GaussianNB(), action="alert")
    >>> m.learn_many({"x": [0.0, 1.0, 0.1, 0.9]}, ["a", "b", "a", "b"]).predict_one({"x": 0.95})
    'b'
    """

    _face_tags: ClassVar[Tags] = Tags(task="multiclass")

    @classmethod
    def _unit_test_params(cls) -> list[dict[str, Any]]:
        from tidal.drift._adwin import ADWIN
        from tidal.drift._ddm import DDM
        from tidal.linear_model import LogisticRegression
        from tidal.naive_bayes import GaussianNB

        return [
            {"learner": GaussianNB(), "detector": DDM(), "action": "reset"},
            {"learner": LogisticRegression(), "detector": DDM(), "action": "background"},
            {"learner": GaussianNB(), "detector": ADWIN(), "action": "alert"},
        ]

    def _errors(self, out: np.ndarray, y: np.ndarray) -> np.ndarray:
        if out.shape[1] == 0:
            return np.ones(len(y))
        empty = out.sum(axis=1) <= 0
        return ((np.argmax(out, axis=1) != y) | empty).astype(np.float64)


class MonitoredRegressor(Monitored, Regressor):
    """A :class:`Monitored` regressor: the error of a row is the absolute error.

    >>> from tidal.drift import MonitoredRegressor, PageHinkley
    >>> from tidal.dummy import RunningMeanRegressor
    >>> m = MonitoredRegressor(RunningMeanRegressor(), detector=PageHinkley(), action="reset")
    >>> _ = m.step_many({"x": [0.0] * 400}, [1.0] * 200 + [50.0] * 200)
    >>> m.n_resets_ >= 1, round(m.predict_one({"x": 0.0}), 1)
    (True, 50.0)
    """

    _face_tags: ClassVar[Tags] = Tags(task="regression")

    @classmethod
    def _unit_test_params(cls) -> list[dict[str, Any]]:
        from tidal.drift._adwin import ADWIN
        from tidal.drift._page_hinkley import PageHinkley
        from tidal.linear_model import LinearRegression

        return [
            {"learner": LinearRegression(), "detector": PageHinkley(), "action": "reset"},
            {"learner": LinearRegression(), "detector": ADWIN(), "action": "background"},
        ]

    def _errors(self, out: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.abs(out - y)
