"""Retrain policies: when a batch learner trains a new model, in stream rows.

A policy sees the stream after each row is learned and answers "retrain now?". It works on whole
segments of rows at once (``first_trigger``), returning the offset of the first row after which a
retrain must start, so that a block of 1 row and a block of 4,096 rows trigger at the same rows.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from tidal.base import store_params
from tidal.base.exceptions import ParameterError
from tidal.base.validation import check_int, check_real

__all__ = ["RetrainPolicy", "EveryN", "EveryT", "OnDrift", "MetricBelow", "AnyOf"]


class RetrainPolicy(BaseEstimator):
    """Base of retrain policies."""

    #: needs the stream time of each row (a BatchLearner ``time_column``)
    needs_time = False

    def start(self) -> None:
        """Forget all history (called at the first row and by ``reset``)."""

    def first_trigger(
        self, n_learned: int, errors: np.ndarray, times: np.ndarray | None = None
    ) -> int:
        """Offset ``k`` in ``errors`` of the first row after which to retrain, or -1.

        ``n_learned`` is the number of rows learned before this segment; ``errors[i]`` is the
        serving model's error on row ``i`` of the segment (0/1 for classifiers, absolute error
        for regressors); ``times[i]`` its stream time in seconds, when the learner has a time
        column. Consumes the rows up to and including ``k`` (all of them when -1).
        """
        raise NotImplementedError

    def retrained(self) -> None:
        """Called when a retrain starts: drift-based policies start afresh."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


class EveryN(RetrainPolicy):
    """Retrain after every ``n`` learned rows.

    >>> EveryN(100).first_trigger(250, np.zeros(60))
    49
    """

    def __init__(self, n: int = 1000):
        self.n = n

    def start(self) -> None:
        check_int("n", self.n, 1, owner="EveryN")

    def first_trigger(
        self, n_learned: int, errors: np.ndarray, times: np.ndarray | None = None
    ) -> int:
        k = self.n - (n_learned % self.n) - 1
        return k if k < len(errors) else -1


class EveryT(RetrainPolicy):
    """Retrain every ``seconds`` of stream time: after the first row whose time is at least
    ``seconds`` past the previous retrain (or past the first row). Needs the BatchLearner's
    ``time_column``.

    >>> p = EveryT(3600.0)
    >>> p.start()
    >>> p.first_trigger(0, np.zeros(5), times=np.array([0.0, 1800.0, 3599.0, 3600.0, 4000.0]))
    3
    """

    needs_time = True

    def __init__(self, seconds: float = 86_400.0):
        self.seconds = seconds

    def start(self) -> None:
        check_real("seconds", self.seconds, 0.0, closed="(]", owner="EveryT")
        self._next: float | None = None

    def first_trigger(
        self, n_learned: int, errors: np.ndarray, times: np.ndarray | None = None
    ) -> int:
        if times is None:
            raise ParameterError("EveryT needs stream time: give the BatchLearner a time_column")
        if len(times) == 0:
            return -1
        if self._next is None:
            self._next = float(times[0]) + self.seconds
        hits = np.nonzero(times >= self._next)[0]
        if len(hits) == 0:
            return -1
        k = int(hits[0])
        self._next = float(times[k]) + self.seconds
        return k

    def state_dict(self) -> dict[str, Any]:
        return {"next": self._next}

    def load_state(self, state: dict[str, Any]) -> None:
        self._next = state["next"]


class OnDrift(RetrainPolicy):
    """Retrain when a drift detector fires on the serving model's errors.

    >>> from tidal.drift import ADWIN
    >>> p = OnDrift(ADWIN())
    >>> p.start()
    >>> errs = np.r_[np.zeros(2000), np.ones(500)]
    >>> 2000 < p.first_trigger(0, errs) < 2200
    True
    """

    def __init__(self, detector: Any = None):
        self.detector = detector

    def start(self) -> None:
        if self.detector is None:
            from tidal.drift import ADWIN

            self._detector = ADWIN()
        else:
            if not hasattr(self.detector, "update_many"):
                raise ParameterError(
                    f"OnDrift: detector {self.detector!r} has no update_many(); "
                    "pass a tidal.drift detector"
                )
            self._detector = copy.deepcopy(self.detector)
            self._detector.reset()

    def first_trigger(
        self, n_learned: int, errors: np.ndarray, times: np.ndarray | None = None
    ) -> int:
        before = copy.deepcopy(self._detector)
        alarms = self._detector.update_many(errors)
        if len(alarms) == 0:
            return -1
        k = int(alarms[0])
        # the detector saw rows past the alarm: replay only up to it
        self._detector = before
        self._detector.update_many(errors[: k + 1])
        return k

    def retrained(self) -> None:
        self._detector.reset()

    def state_dict(self) -> dict[str, Any]:
        return {"detector": self._detector.state_dict()}

    def load_state(self, state: dict[str, Any]) -> None:
        self._detector.load_state(state["detector"])


class MetricBelow(RetrainPolicy):
    """Retrain when the serving model's rolling accuracy (or, for regressors, minus the rolling
    mean absolute error) over ``window`` rows falls below ``threshold``.

    >>> p = MetricBelow(threshold=0.8, window=10)
    >>> p.start()
    >>> p.first_trigger(0, np.r_[np.zeros(10), np.ones(5)])  # 3 errors in rows 3..12
    12
    """

    def __init__(self, threshold: float = 0.7, window: int = 500, regression: bool = False):
        store_params(self, locals())

    def start(self) -> None:
        check_int("window", self.window, 1, owner="MetricBelow")
        self._tail = np.zeros(0)

    def _scores(self, errors: np.ndarray) -> np.ndarray:
        return -errors if self.regression else 1.0 - errors

    def first_trigger(
        self, n_learned: int, errors: np.ndarray, times: np.ndarray | None = None
    ) -> int:
        w = self.window
        scores = np.concatenate([self._tail, self._scores(errors)])
        csum = np.concatenate([[0.0], np.cumsum(scores)])
        ends = np.arange(w, len(scores) + 1)
        if len(ends):
            means = (csum[ends] - csum[ends - w]) / w
            below = np.nonzero(means < self.threshold)[0]
            if len(below):
                k = int(ends[below[0]]) - 1 - len(self._tail)
                if k >= 0:
                    self._tail = np.zeros(0)
                    return k
        self._tail = scores[-(w - 1) :] if w > 1 else np.zeros(0)
        return -1

    def retrained(self) -> None:
        self._tail = np.zeros(0)

    def state_dict(self) -> dict[str, Any]:
        return {"tail": self._tail.copy()}

    def load_state(self, state: dict[str, Any]) -> None:
        self._tail = np.asarray(state["tail"], dtype=np.float64)


class AnyOf(RetrainPolicy):
    """Retrain when any of the policies says so (e.g. every 5,000 rows or on drift).

    >>> p = AnyOf(EveryN(100), MetricBelow(0.5, 10))
    >>> p.start()
    >>> p.first_trigger(0, np.ones(50))
    9
    """

    def __init__(self, *policies: RetrainPolicy):
        self.policies = policies

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"policies": self.policies}

    def set_params(self, **params: Any) -> AnyOf:
        if "policies" in params:
            self.policies = tuple(params.pop("policies"))
        return super().set_params(**params) if params else self

    def __sklearn_clone__(self) -> AnyOf:
        from sklearn.base import clone

        return AnyOf(*(clone(p) for p in self.policies))

    def start(self) -> None:
        if not self.policies:
            raise ParameterError("AnyOf: needs at least one policy")
        for p in self.policies:
            p.start()

    @property
    def needs_time(self) -> bool:  # type: ignore[override]
        return any(p.needs_time for p in self.policies)

    def first_trigger(
        self, n_learned: int, errors: np.ndarray, times: np.ndarray | None = None
    ) -> int:
        # each policy may only consume rows up to the earliest trigger: find it, then replay
        saved = [copy.deepcopy(p) for p in self.policies]
        hits = [p.first_trigger(n_learned, errors, times) for p in self.policies]
        fired = [h for h in hits if h >= 0]
        if not fired:
            return -1
        k = min(fired)
        self.policies = tuple(saved)
        for p in self.policies:
            p.first_trigger(n_learned, errors[: k + 1], None if times is None else times[: k + 1])
        return k

    def retrained(self) -> None:
        for p in self.policies:
            p.retrained()

    def state_dict(self) -> dict[str, Any]:
        return {"policies": [p.state_dict() for p in self.policies]}

    def load_state(self, state: dict[str, Any]) -> None:
        for p, s in zip(self.policies, state["policies"]):
            p.load_state(s)
