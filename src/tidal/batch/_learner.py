"""BatchLearner: keep rows, retrain any scikit-learn estimator under a policy, serve the last model.

It implements the same per-row hook as online learners (``_step_arrays``), so the prequential
engine, the comparison and the service treat it like any learner: each row is predicted by the
model *deployed at that row*, then stored. Retraining happens in a background worker; the model it
produces goes live ``deploy_delay`` rows after the row that triggered it (modelling training,
review and roll-out), so runs are reproducible whatever the block size or the machine's speed.
Until a first model is live, predictions come from a baseline: :mod:`tidal.dummy`'s
(weighted) majority class or running mean, learning every row as the online baselines do.
"""

from __future__ import annotations

import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from sklearn.base import clone, is_regressor

from tidal._threads import bounded_threads
from tidal.base import Classifier, Learner, Regressor, Tags, store_params
from tidal.base.exceptions import ParameterError
from tidal.base.validation import check_int
from tidal.batch._impute import MeanImputed, allows_nan
from tidal.batch._policies import EveryN, RetrainPolicy
from tidal.batch._retraining import _Retraining
from tidal.batch._store import RowStore
from tidal.dummy import MajorityClassifier, RunningMeanRegressor

__all__ = ["BatchLearner", "BatchClassifier", "BatchRegressor"]

# We set n_jobs on every estimator that has it (design rule: explicit thread counts); scikit-learn
# >= 1.8 warns that LogisticRegression ignores it. Silence exactly that message, nothing else
# (a filter inside the training thread would not be thread-safe).
warnings.filterwarnings(
    "ignore",
    message="'n_jobs' has no effect",
    category=FutureWarning,
    module="sklearn.linear_model._logistic",
)


class BatchLearner(_Retraining, Learner):
    """Keeps rows and retrains ``estimator`` on them; use :class:`BatchClassifier` or
    :class:`BatchRegressor` directly, or let ``BatchLearner(...)`` pick from the estimator.

    Parameters
    ----------
    estimator
        Any scikit-learn-compatible estimator (``fit``, ``predict``; ``predict_proba`` for
        probabilities). Cloned at each retrain; its thread count is set to ``n_jobs``.
    retrain
        A retrain policy (:class:`EveryN`, :class:`OnDrift`, :class:`MetricBelow`,
        :class:`AnyOf`); default ``EveryN(1000)``.
    window
        Train on the last ``window`` rows (``None``: every row so far).
    half_life
        Time-decayed sample weights: a row ``h`` rows older than the newest weighs half as much.
    deploy_delay
        Rows between the row that triggers a retrain and the first row the new model serves.
    deploy_delay_seconds
        The same in stream time: the new model serves the first row whose time is at least
        this many seconds after the triggering row's (needs ``time_column``).
    time_column
        A feature holding each row's time in seconds (e.g. a Unix timestamp): it is the stream
        clock of :class:`EveryT` and ``deploy_delay_seconds``, and is not given to the model.
    min_rows
        Rows needed (in the window) before the first training.
    store
        Folder of the Parquet row store (``None``: a temporary folder, deleted with the learner).
    mode
        ``"reproducible"`` (deploy exactly ``deploy_delay`` rows later, waiting for training
        if needed) or ``"realistic"`` (deploy as soon as training has finished, checked between
        blocks; results then depend on the machine's speed).
    n_jobs
        Threads given to the estimator (``n_jobs``/``num_threads``/``thread_count``), 1 by
        default so that the estimator's pool does not fight numba's or BLAS's; its fits and
        predictions also run with at most ``n_jobs`` BLAS and OpenMP threads (threadpoolctl).

    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(3000, 2)); y = (X[:, 0] > 0).astype(int)
    >>> model = BatchLearner(LogisticRegression(), retrain=EveryN(1000), deploy_delay=100)
    >>> type(model).__name__
    'BatchClassifier'
    >>> acc = (model.step_many(X, y) == y)
    >>> model.n_retrains_  # retrains at rows 1000 and 2000 went live at 1100 and 2100
    2
    >>> bool(acc[:1100].mean() < 0.6 < 0.95 < acc[1100:].mean())
    True
    """

    #: the conformance suite tests BatchClassifier and BatchRegressor, which this dispatches to
    _abstract = True
    #: measured wall-clock seconds differ between identical runs
    _unstable_state_keys = frozenset({"train_seconds"})
    #: scikit-learn's predict on 1 row and on many rows uses different BLAS kernels, so outputs
    #: are equal across block sizes to ~1e-15, not bit for bit (model versions are identical)
    _float_tolerance = 1e-9

    def __new__(cls, estimator: Any = None, *args: Any, **kwargs: Any) -> BatchLearner:
        if cls is BatchLearner:
            try:
                regression = is_regressor(estimator)
            except (AttributeError, TypeError):  # not an estimator: _check_params says so
                regression = False
            cls = BatchRegressor if regression else BatchClassifier
        return object.__new__(cls)

    def __init__(
        self,
        estimator: Any = None,
        retrain: RetrainPolicy | None = None,
        window: int | None = None,
        half_life: float | None = None,
        deploy_delay: int = 0,
        deploy_delay_seconds: float | None = None,
        time_column: str | None = None,
        min_rows: int = 10,
        store: str | None = None,
        mode: str = "reproducible",
        n_jobs: int = 1,
    ):
        store_params(self, locals())

    # ------------------------------------------------------------------ parameters
    def _check_params(self) -> None:
        est = self.estimator
        if est is None or not hasattr(est, "fit") or not hasattr(est, "predict"):
            raise ParameterError(
                f"{self._name()}: estimator == {est!r}, expected an object with fit() and "
                "predict() (a scikit-learn-compatible estimator)"
            )
        if self.window is not None and (not isinstance(self.window, int) or self.window < 2):
            raise ParameterError(f"window == {self.window!r}, must be None or an integer >= 2")
        if self.half_life is not None and not self.half_life > 0:
            raise ParameterError(f"half_life == {self.half_life!r}, must be None or > 0")
        if not isinstance(self.deploy_delay, int) or self.deploy_delay < 0:
            raise ParameterError(f"deploy_delay == {self.deploy_delay!r}, must be >= 0")
        if self.mode not in ("reproducible", "realistic"):
            raise ParameterError(f"mode == {self.mode!r}, must be 'reproducible' or 'realistic'")
        check_int("min_rows", self.min_rows, 1)
        if self.time_column is not None and self.time_column not in self.feature_names_in_:
            raise ParameterError(
                f"time_column == {self.time_column!r} is not one of the features "
                f"{list(self.feature_names_in_)}"
            )
        needs_time = self.retrain is not None and self.retrain.needs_time
        if (needs_time or self.deploy_delay_seconds is not None) and self.time_column is None:
            what = "deploy_delay_seconds" if self.deploy_delay_seconds is not None else "retrain"
            raise ParameterError(
                f"{what} counts stream time: give time_column, the feature holding each row's "
                "time in seconds"
            )
        if self.deploy_delay_seconds is not None and not self.deploy_delay_seconds >= 0:
            raise ParameterError(
                f"deploy_delay_seconds == {self.deploy_delay_seconds!r}, must be >= 0"
            )
        if self.window is not None and self.min_rows > self.window:
            raise ParameterError(
                f"min_rows == {self.min_rows} is larger than window == "
                f"{self.window}: no training window could ever hold it"
            )

    def _estimator_with_threads(self) -> Any:
        """The estimator to clone at each retrain: its thread count set, and, when it does not
        accept NaN (scikit-learn's ``allow_nan`` tag), behind a mean imputer (:class:`MeanImputed`);
        NaN-capable ones (LightGBM, HistGradientBoosting) get the NaN as it is."""
        est = clone(self.estimator)
        names = est.get_params(deep=False)
        for key in ("n_jobs", "num_threads", "thread_count"):
            if key in names:
                est.set_params(**{key: self.n_jobs})
        return est if allows_nan(est) else MeanImputed(est)

    # ------------------------------------------------------------------ state
    def _init_state(self) -> None:
        m = self.n_features_in_
        self._policy = clone(self.retrain) if self.retrain is not None else EveryN(1000)
        self._policy.start()
        self._est = self._estimator_with_threads()
        names = list(self.feature_names_in_)
        self._time_idx = names.index(self.time_column) if self.time_column is not None else None
        self._rows = RowStore(self.store, self.feature_names_in_)
        self._X = np.zeros((0, m))
        self._y = np.zeros(0)
        self._w = np.zeros(0)
        self._first = 0  # stream index of _X[0]
        self._flushed = 0  # rows already written to the store
        self._model: Any = None
        self._model_rows = (0, 0)
        # (row it goes live at, training rows, future, stream time it goes live at or None)
        self._pending: list[tuple[int, tuple[int, int], Future, float | None]] = []
        self._executor: ThreadPoolExecutor | None = None
        # the pre-model baseline: a tidal.dummy learner fed our matrices and codes directly
        self._baseline = self._baseline_class()
        self._baseline._init_state()
        self.n_retrains_ = 0
        #: stream row the first model served (None: the baseline still serves); the verdict's
        #: "rows after the first fit" (not kept in the state: a restored learner says None)
        self.first_live_row_: int | None = None
        self.train_seconds_: list[float] = []
        self.train_cpu_seconds_: list[float] = []
        #: refits that failed in another process (raised, or the process died): the serving
        #: model stayed (see tidal.batch._refit)
        self.refit_failures_ = 0
        self.refits_superseded_ = 0  # queued refits a newer one replaced before they started
        self.staleness_sum_ = 0.0
        self.n_served_ = 0
        self.warnings_: list[str] = []

    @property
    def n_learned_(self) -> int:
        if not self.is_fitted:  # nothing kept yet (a rejected first block leaves us here)
            return 0
        return self._first + len(self._y)

    @property
    def bytes_kept_(self) -> int:
        """Bytes of training data kept: the store's files plus rows not yet flushed to it."""
        if not self.is_fitted:
            return 0
        unflushed = self.n_learned_ - max(self._flushed, self._first)
        row_bytes = (self.n_features_in_ + 2) * 8
        return self._rows.nbytes + max(unflushed, 0) * row_bytes

    @property
    def staleness_mean_(self) -> float:
        """Mean over predictions of the rows learned before it that the serving model lacks."""
        return self.staleness_sum_ / self.n_served_ if self.n_served_ else 0.0

    @property
    def serving_rows_(self) -> tuple[int, int]:
        """Stream rows ``[start, end)`` the serving model was trained on ((0, 0): baseline)."""
        return tuple(self._model_rows)

    def flush(self) -> BatchLearner:
        """Write rows kept in memory to the on-disk store. Returns ``self``."""
        if self.is_fitted and self.n_learned_ > max(self._flushed, self._first):
            self._flush()
        return self

    def stream_warnings(self, n_rows: int) -> list[str]:
        """What a report must tell about this run of ``n_rows`` rows: retrains skipped, a
        window larger than the stream, a policy that never put a model live.

        >>> from sklearn.linear_model import LogisticRegression
        >>> m = BatchLearner(LogisticRegression(), retrain=EveryN(10_000), window=50_000)
        >>> m = m.learn_many(np.arange(20.0).reshape(-1, 1), [0, 1] * 10)
        >>> for w in m.stream_warnings(20): print(w[:72])
        BatchClassifier: window == 50000 is larger than the stream (20 rows): ev
        BatchClassifier: retrain policy EveryN(n=10000) never put a model live i
        """
        out = list(getattr(self, "warnings_", []))
        if self.window is not None and self.window > n_rows:
            out.append(
                f"{self._name()}: window == {self.window} is larger than the stream ({n_rows} "
                "rows): every model trains on all rows, as with window=None"
            )
        if getattr(self, "n_retrains_", 0) == 0:
            policy = self.retrain if self.retrain is not None else EveryN(1000)
            out.append(
                f"{self._name()}: retrain policy {policy!r} never put a model live in {n_rows} "
                f"rows: the baseline ({self._baseline_name}) served every prediction"
            )
        return out

    @classmethod
    def _unit_test_params(cls):  # noqa: ANN206
        from sklearn.linear_model import LogisticRegression, Ridge

        if cls is BatchRegressor:
            yield {"estimator": Ridge(), "retrain": EveryN(300), "deploy_delay": 20}
        else:
            yield {"estimator": LogisticRegression(), "retrain": EveryN(300), "deploy_delay": 20}

    @property
    def train_seconds_total_(self) -> float:
        return float(sum(self.train_seconds_))

    def _state_dict(self) -> dict[str, Any]:
        # a fit in another process is not waited for (a snapshot must not hold serving up):
        # the state names its rows, and a restore fits them again
        self._wait_all(refits=False)
        return {
            "X": self._X.copy(),
            "y": self._y.copy(),
            "w": self._w.copy(),
            "first": self._first,
            "model_rows": list(self._model_rows),
            "has_model": self._model is not None,
            "pending": [[at, list(rows), at_t] for at, rows, _, at_t in self._pending],
            "policy": self._policy.state_dict(),
            "fallback": self._baseline._state_dict(),
            "n_retrains": self.n_retrains_,
            "train_seconds": list(self.train_seconds_),
            "staleness_sum": self.staleness_sum_,
            "n_served": self.n_served_,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self._init_state()
        self._X = np.asarray(state["X"], dtype=np.float64).reshape(-1, self.n_features_in_)
        self._y = np.asarray(state["y"], dtype=np.float64)
        self._w = np.asarray(state["w"], dtype=np.float64)
        self._first = int(state["first"])
        self._rows.append(self._X, self._y, self._w, self._first)
        self._flushed = self.n_learned_
        self._policy.load_state(state["policy"])
        self._baseline._load_state(state["fallback"])
        self.n_retrains_ = int(state["n_retrains"])
        self.train_seconds_ = list(state["train_seconds"])
        self.staleness_sum_ = float(state["staleness_sum"])
        self.n_served_ = int(state["n_served"])
        # models are rebuilt from the rows they were trained on: no pickle in a snapshot
        if state["has_model"]:
            self._model = self._train_now(tuple(state["model_rows"]))
            self._model_rows = tuple(state["model_rows"])
        for at, rows, at_t in state["pending"]:
            fut: Future = Future()
            fut.set_result((self._train_now(tuple(rows)), 0.0, 0.0))
            self._pending.append((int(at), tuple(rows), fut, at_t))

    def __getstate__(self) -> dict[str, Any]:
        self._wait_all()
        state = dict(vars(self))
        state["_executor"] = None
        return state

    def __del__(self) -> None:
        rows = vars(self).get("_rows")
        if rows is not None:
            rows.close()
        ex = vars(self).get("_executor")
        if ex is not None:
            ex.shutdown(wait=False)

    # ------------------------------------------------------------------ the per-row hook
    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        if X_learn is None:  # prediction only: nothing moves
            t = self._times(X_pred)
            self._deploy_due(None if t is None or not len(t) else float(t.min()))
            self._serve(X_pred, None, out, None)
            self.served_versions_ = np.full(len(X_pred), self.n_retrains_, dtype=np.int64)
            return
        n = X_learn.shape[0]
        X = X_pred if X_pred is not None else X_learn
        # which deployed model served each row (Hybrid re-bases its corrector when it changes)
        versions = self.served_versions_ = np.zeros(n, dtype=np.int64)
        times = self._times(X_learn)
        pos = 0
        while pos < n:
            self._deploy_due(None if times is None else float(times[pos]))
            end = n
            nxt = self._next_deploy(times, pos)
            if nxt is not None:
                end = min(n, pos + nxt)
            seg = slice(pos, end)
            self._serve(X[seg], y[seg], out[seg], w[seg])
            versions[seg] = self.n_retrains_
            self.staleness_sum_ += float(
                np.sum(self.n_learned_ + np.arange(end - pos) - self._model_rows[1])
            )
            self.n_served_ += end - pos
            errors = self._errors(out[seg], y[seg])
            k = self._policy.first_trigger(
                self.n_learned_, errors, None if times is None else times[seg]
            )
            stop = pos + k + 1 if k >= 0 else end
            self._learn_rows(X_learn[pos:stop], y[pos:stop], w[pos:stop])
            if k >= 0:
                # rows after the trigger were served by the old model; serve them again in case
                # the new model goes live before them (deploy_delay == 0)
                self.staleness_sum_ -= float(
                    np.sum(self.n_learned_ + np.arange(end - stop) - self._model_rows[1])
                )
                self.n_served_ -= end - stop
                self._start_retrain(None if times is None else float(times[stop - 1]))
            pos = stop
        # a model due at the next row goes live now, so that state after a call is canonical
        # (a later predict-only call then changes nothing)
        self._deploy_due()

    def _learn_rows(self, X: np.ndarray, y: np.ndarray, w: np.ndarray) -> None:
        self._baseline._step_arrays(None, X, y, w, self._out(len(y)))
        self._keep(X, y, w)

    def _serve(
        self, X: np.ndarray, y: np.ndarray | None, out: np.ndarray, w: np.ndarray | None
    ) -> None:
        """Predict rows ``X`` with the serving model, or, before the first one, with the
        baseline as it would be after learning each earlier row of ``X`` (``y``, ``w``: rows
        may be served again after a retrain, so the baseline itself learns nothing here)."""
        if self._model is not None:
            self._serve_model(self._model_X(X), out)
        elif y is None:
            self._baseline._step_arrays(X, None, None, None, out)
        else:
            copy = self._baseline_class()
            copy._load_state(self._baseline._state_dict())
            copy._step_arrays(X, X, y, w, out)


class BatchClassifier(BatchLearner, Classifier):
    """A :class:`BatchLearner` for classification (labels encoded like every tidal classifier).

    >>> from sklearn.tree import DecisionTreeClassifier
    >>> m = BatchClassifier(DecisionTreeClassifier(random_state=0), retrain=EveryN(50))
    >>> X = np.arange(200.0).reshape(-1, 1)
    >>> _ = m.learn_many(X, np.where(X[:, 0] % 20 < 10, "lo", "hi"))
    >>> m.predict_one({"x0": 5.0}), m.predict_one({"x0": 15.0}), m.n_retrains_
    ('lo', 'hi', 4)
    """

    _tags = Tags(task="multiclass", batch=True, handles_missing=True)
    _baseline_name = "majority class"
    _baseline_class = MajorityClassifier

    def _train_target(self, y: np.ndarray) -> np.ndarray:
        return y.astype(np.int64)

    def _trainable(self, rows: tuple[int, int]) -> bool:
        if not super()._trainable(rows):
            return False
        s, e = rows
        labels = np.unique(self._y[s - self._first : e - self._first])
        if len(labels) < 2:
            msg = (
                f"{self._name()}: retrain at row {e} skipped: the training window "
                f"(rows {s}..{e - 1}) holds a single class; keeping the serving model"
            )
            self.warnings_.append(msg)
            warnings.warn(msg, stacklevel=2)
            return False
        return True

    def _serve_model(self, X: np.ndarray, out: np.ndarray) -> None:
        out[:] = 0.0  # rows may be served again after a retrain: no stale columns
        with bounded_threads(self.n_jobs):
            if hasattr(self._model, "predict_proba"):
                proba = self._model.predict_proba(X)
                out[:, np.asarray(self._model.classes_, dtype=np.int64)] = proba
            else:
                codes = np.asarray(self._model.predict(X), dtype=np.int64)
                out[np.arange(len(codes)), codes] = 1.0

    def _errors(self, proba: np.ndarray, y: np.ndarray) -> np.ndarray:
        empty = proba.sum(axis=1) <= 0
        return ((np.argmax(proba, axis=1) != y) | empty).astype(np.float64)


class BatchRegressor(BatchLearner, Regressor):
    """A :class:`BatchLearner` for regression.

    >>> from sklearn.linear_model import Ridge
    >>> X = np.arange(300.0).reshape(-1, 1)
    >>> m = BatchRegressor(Ridge(), retrain=EveryN(100)).learn_many(X, 2 * X[:, 0] + 1)
    >>> round(m.predict_one({"x0": 1000.0}))
    2001
    """

    _tags = Tags(task="regression", batch=True, handles_missing=True)
    _baseline_name = "running mean"
    _baseline_class = RunningMeanRegressor

    def _serve_model(self, X: np.ndarray, out: np.ndarray) -> None:
        with bounded_threads(self.n_jobs):
            out[:] = self._model.predict(X)

    def _errors(self, values: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.abs(values - y)
