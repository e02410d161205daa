"""Every fit and predict of an external estimator runs with bounded BLAS / OpenMP pools.

A scikit-learn fit with n_jobs=1 still spawned one OpenBLAS thread per core, which fought the
numba learners for a 2-core machine (a default compare 7x slower). The probe estimator below
records the pools it sees from inside its own fit and predict.
"""

import threading

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.linear_model import LogisticRegression, Ridge
from threadpoolctl import threadpool_info, threadpool_limits

from tidal._threads import bounded_threads
from tidal.batch import BatchLearner, EveryN

SEEN: list[tuple[str, int]] = []


def _record(where: str) -> None:
    for pool in threadpool_info():
        SEEN.append((f"{where}:{pool['user_api']}", pool["num_threads"]))


class ProbeClassifier(ClassifierMixin, BaseEstimator):
    def fit(self, X, y, sample_weight=None):
        _record("fit")
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        _record("predict")
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.model_.predict(X)


class ProbeRegressor(RegressorMixin, BaseEstimator):
    def fit(self, X, y, sample_weight=None):
        _record("fit")
        self.model_ = Ridge().fit(X, y)
        return self

    def predict(self, X):
        _record("predict")
        return self.model_.predict(X)


@pytest.fixture
def two_threads():
    """Pools allowed 2 threads (this machine's default), so that a missing bound shows."""
    SEEN.clear()
    with threadpool_limits(limits=2):
        yield


@pytest.mark.parametrize("probe", [ProbeClassifier, ProbeRegressor])
def test_fit_and_predict_see_one_thread_per_pool(probe, two_threads):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = (X[:, 0] > 0).astype(int)
    model = BatchLearner(probe(), retrain=EveryN(200))  # fits in a background thread
    model.step_many(X, y)
    model.retrain_now()  # and one in the calling thread
    model.predict_many(X[:10])
    assert {w.split(":")[0] for w, _ in SEEN} == {"fit", "predict"}
    assert SEEN and all(n == 1 for _, n in SEEN), sorted(set(SEEN))
    # the bound is gone once the learner returns
    assert any(p["num_threads"] == 2 for p in threadpool_info())


def test_the_bound_follows_n_jobs(two_threads):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 2))
    model = BatchLearner(ProbeRegressor(), retrain=EveryN(200), n_jobs=2)
    model.step_many(X, X[:, 0])
    assert SEEN and all(n == 2 for _, n in SEEN)


def test_a_thread_leaving_early_does_not_lift_the_bound_of_another(two_threads):
    """BLAS's count is global: the last thread out restores it, not the first."""
    inside, release = threading.Event(), threading.Event()
    seen = []

    def worker():
        with bounded_threads(1):
            inside.set()
            release.wait(10)
            seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")

    t = threading.Thread(target=worker)
    t.start()
    inside.wait(10)
    with bounded_threads(1):
        pass  # enters and leaves while the worker is still inside
    release.set()
    t.join()
    assert seen and all(n == 1 for n in seen)
