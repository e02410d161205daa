"""The training side of :class:`tidal.batch.BatchLearner`: the rows it keeps (in memory and in
its Parquet store), the fits it starts in a background worker, and when their models go live.

Split from :mod:`tidal.batch._learner` (which keeps the parameters, the state and the per-row
hook) so that each module stays small; ``_Retraining`` is a mixin that only
:class:`~tidal.batch.BatchLearner` uses.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from sklearn.base import clone

from tidal._threads import bounded_threads
from tidal.batch._refit import RefitFuture, refit_backend

__all__: list[str] = []

#: rows kept in memory between two appends to the on-disk row store
_FLUSH_ROWS = 4096

log = logging.getLogger("tidal.batch")


def _fit(
    estimator: Any, X: np.ndarray, y: np.ndarray, w: np.ndarray, threads: int = 1
) -> tuple[Any, float, float]:
    """Train a fresh clone with ``threads`` BLAS/OpenMP threads at most; returns (model, wall
    seconds, CPU seconds of this thread)."""
    model = clone(estimator)
    t0, c0 = time.perf_counter(), time.thread_time()
    with bounded_threads(threads):
        if np.all(w == 1.0):
            model.fit(X, y)
        else:
            model.fit(X, y, sample_weight=w)
    return model, time.perf_counter() - t0, time.thread_time() - c0


class _Retraining:
    """Rows kept, fits started and models deployed (the attributes are BatchLearner's)."""

    # the attributes come from BatchLearner._init_state and its parameters
    _X: np.ndarray
    _y: np.ndarray
    _w: np.ndarray
    _first: int
    _flushed: int
    _pending: list[Any]
    _executor: Any
    _time_idx: int | None
    _model: Any
    _model_rows: tuple[int, int]
    _est: Any
    _policy: Any
    _rows: Any
    half_life: float | None
    window: int | None
    min_rows: int
    n_jobs: int
    deploy_delay: int
    deploy_delay_seconds: float | None
    mode: str
    n_retrains_: int
    first_live_row_: int | None
    train_seconds_: list[float]
    train_cpu_seconds_: list[float]

    # ------------------------------------------------------------------ training
    def _training_set(self, rows: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s, e = rows
        a, b = s - self._first, e - self._first
        X, y, w = self._model_X(self._X[a:b]), self._y[a:b], self._w[a:b]
        if self.half_life is not None:
            age = np.arange(len(y) - 1, -1, -1, dtype=np.float64)
            w = w * np.power(0.5, age / self.half_life)
        return X, self._train_target(y), w

    def _train_target(self, y: np.ndarray) -> np.ndarray:
        return y

    def _model_X(self, X: np.ndarray) -> np.ndarray:
        """The model's inputs: every feature but the time column."""
        return X if self._time_idx is None else np.delete(X, self._time_idx, axis=1)

    def _times(self, X: np.ndarray) -> np.ndarray | None:
        return None if self._time_idx is None else X[:, self._time_idx]

    def _train_now(self, rows: tuple[int, int]) -> Any:
        return _fit(self._est, *self._training_set(rows), self.n_jobs)[0]

    def _trainable(self, rows: tuple[int, int]) -> bool:
        return rows[1] - rows[0] >= self.min_rows

    def _start_retrain(self, now: float | None = None) -> None:
        """Train on the window ending at the last learned row (whose stream time is ``now``)."""
        e = self.n_learned_
        s = max(0, e - self.window) if self.window is not None else 0
        rows = (s, e)
        self._policy.retrained()
        if not self._trainable(rows):
            return
        X, y, w = self._training_set(rows)
        executor = refit_backend()
        if executor is None:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="tidal-batch")
            executor = self._executor
        fut = executor.submit(_fit, self._est, X.copy(), y.copy(), w.copy(), self.n_jobs)
        if isinstance(fut, RefitFuture):  # a queued refit of an older window: not needed now
            kept = [
                p for p in self._pending if not (isinstance(p[2], RefitFuture) and p[2].cancel())
            ]
            self.refits_superseded_ += len(self._pending) - len(kept)
            self._pending = kept
        at_t = None
        if self.deploy_delay_seconds is not None:
            at_t = (now if now is not None else -np.inf) + self.deploy_delay_seconds
        self._pending.append((e + self.deploy_delay, rows, fut, at_t))

    def retrain_now(self) -> Any:
        """Start a retrain on the rows kept so far, now (what a drift alarm asks for: see
        :class:`tidal.drift.Monitored`); it goes live ``deploy_delay`` rows later. Returns self.

        >>> from sklearn.linear_model import LogisticRegression
        >>> from tidal.batch import BatchLearner, EveryN
        >>> m = BatchLearner(LogisticRegression(), retrain=EveryN(10_000))
        >>> _ = m.learn_many([[0.0], [1.0]] * 10, [0, 1] * 10).retrain_now()
        >>> m.n_retrains_, m.serving_rows_
        (1, (0, 20))
        """
        if not self.is_fitted:
            from tidal.base.exceptions import NotFittedError

            raise NotFittedError(f"This {self._name()} has no rows yet: nothing to retrain on")
        now = float(self._X[-1, self._time_idx]) if self._time_idx is not None else None
        self._start_retrain(now)
        self._deploy_due()  # with deploy_delay=0 it serves the next row: live now
        return self

    def _deploy_due(self, next_time: float | None = None) -> None:
        """Put live the pending models whose time has come for the next row (row index
        ``n_learned_``, stream time ``next_time`` when known)."""
        now = self.n_learned_
        while self._pending:
            at, rows, fut, at_t = self._pending[0]
            elsewhere = isinstance(fut, RefitFuture)  # never waited for: live once returned
            if self.mode == "reproducible":
                if at_t is not None and (next_time is None or next_time < at_t):
                    return
                if at_t is None and at > now:
                    return
            if (self.mode == "realistic" or elsewhere) and not fut.done():
                return
            self._pending.pop(0)
            if elsewhere and (fut.cancelled() or fut.exception() is not None):
                self._refit_failed(rows, fut.exception() if not fut.cancelled() else "cancelled")
                continue
            model, wall, cpu = fut.result()
            self._model, self._model_rows = model, rows
            if self.n_retrains_ == 0:
                self.first_live_row_ = now
            self.n_retrains_ += 1
            self.train_seconds_.append(wall)
            self.train_cpu_seconds_.append(cpu)

    def _refit_failed(self, rows: tuple[int, int], error: BaseException | str) -> None:
        self.refit_failures_ += 1
        msg = (
            f"{self._name()}: refit on rows {rows[0]}..{rows[1] - 1} failed in another process "
            f"({type(error).__name__}: {error}); the model of rows "
            f"{self._model_rows[0]}..{self._model_rows[1] - 1} keeps serving"
        )
        self.warnings_.append(msg)
        log.warning(msg)

    def wait_refits(self) -> Any:
        """Wait for every fit in flight (also those in another process, see
        :func:`tidal.batch.set_refit_backend`) and put live those due. Returns self."""
        for pending in vars(self).get("_pending", ()):
            if not pending[2].cancelled():
                pending[2].exception()  # waits; a failure is the deployment's to report
        if self.is_fitted:
            self._deploy_due()
        return self

    def _wait_all(self, refits: bool = True) -> None:
        for pending in vars(self).get("_pending", ()):
            if refits or not isinstance(pending[2], RefitFuture):
                pending[2].result()

    def _next_deploy(self, times: np.ndarray | None, pos: int) -> int | None:
        """Offset from ``pos`` of the first row of this block a pending model serves, if any."""
        if self.mode != "reproducible" or not self._pending:
            return None
        at, _, fut, at_t = self._pending[0]
        if isinstance(fut, RefitFuture):  # checked between calls, never waited for mid-block
            return None
        if at_t is None:
            return max(at - self.n_learned_, 1)
        if times is None:
            return None
        later = np.nonzero(times[pos + 1 :] >= at_t)[0]
        return int(later[0]) + 1 if len(later) else None

    # ------------------------------------------------------------------ rows
    def _keep(self, X: np.ndarray, y: np.ndarray, w: np.ndarray) -> None:
        self._X = np.concatenate([self._X, X]) if len(self._X) else X.copy()
        self._y = np.concatenate([self._y, y.astype(np.float64)])
        self._w = np.concatenate([self._w, w])
        if self.n_learned_ - self._flushed >= _FLUSH_ROWS:
            self._flush()
        if self.window is not None:
            needed = [self.n_learned_ - self.window, self._model_rows[0]]
            needed += [p[1][0] for p in self._pending]
            drop = min(needed) - self._first
            if drop > 0:
                self._X, self._y, self._w = self._X[drop:], self._y[drop:], self._w[drop:]
                self._first += drop
                self._rows.forget_before(self._first)

    def _flush(self) -> None:
        a = max(self._flushed, self._first) - self._first
        self._rows.append(self._X[a:], self._y[a:], self._w[a:], self._first + a)
        self._flushed = self.n_learned_
