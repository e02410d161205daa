"""Monitored: a drift detector on a learner's errors, with an action on alarm, exact per row."""

from __future__ import annotations

import numpy as np
import pytest

from tidal.base import ParameterError
from tidal.base.state import learner_from_state
from tidal.checks._utils import assert_same_state
from tidal.drift import ADWIN, DDM, Monitored, MonitoredClassifier, MonitoredRegressor, PageHinkley
from tidal.dummy import RunningMeanRegressor
from tidal.evaluate import prequential
from tidal.linear_model import LinearRegression, LogisticRegression

N = 3000


def _flip(seed=0, n=N, at=1500):
    """A binary concept that flips at ``at``: a model that keeps its past is then always wrong."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] > 0).astype(int)
    y[at:] = 1 - y[at:]
    return X, y


def _errors(pred, y):
    return np.array([p is None or p != t for p, t in zip(pred, y)], dtype=float)


def _in_blocks(model, X, y, size):
    out = [model.step_many(X[a : a + size], y[a : a + size]) for a in range(0, len(X), size)]
    return np.concatenate(out)


@pytest.mark.parametrize("action", ["alert", "reset", "background"])
def test_one_row_at_a_time_equals_one_block(action):
    X, y = _flip(n=1200, at=600)
    a = Monitored(LogisticRegression(), detector=DDM(), action=action, grace=50)
    b = a.clone()
    pa, pb = _in_blocks(a, X, y, 1), _in_blocks(b, X, y, 4096)
    assert pa.tolist() == pb.tolist()
    assert a.alarms_ == b.alarms_ and a.swaps_ == b.swaps_ and a.backgrounds_ == b.backgrounds_
    assert_same_state(a.state_dict(), b.state_dict(), "block 1 vs 4096")
    assert a.alarms_, "the flip must raise an alarm"


def test_alert_changes_nothing_and_reports_the_detectors_alarms():
    X, y = _flip()
    plain = LogisticRegression()
    expected = plain.step_many(X, y)
    oracle = DDM().update_many(_errors(expected, y))  # the detector on the plain model's errors
    model = Monitored(LogisticRegression(), detector=DDM(), action="alert")
    assert model.step_many(X, y).tolist() == expected.tolist()
    assert model.alarms_ == oracle.tolist() and len(oracle) > 0
    assert_same_state(model.model_.state_dict(), plain.state_dict(), "alert")


def test_reset_matches_a_row_by_row_oracle():
    X, y = _flip()
    model = Monitored(LogisticRegression(), detector=ADWIN(), action="reset")
    got = model.step_many(X, y)
    # the oracle: one row at a time, a fresh model after each alarm
    current, detector, expected, alarms = LogisticRegression(), ADWIN(), [], []
    for i in range(N):
        p = current.step_many(X[i : i + 1], y[i : i + 1])[0]
        expected.append(p)
        if detector.update(float(p is None or p != y[i])).drift_detected:
            alarms.append(i)
            current, detector = LogisticRegression(), ADWIN()
    assert got.tolist() == expected
    assert model.alarms_ == alarms and model.n_resets_ == len(alarms) >= 1
    assert 1500 < alarms[0] < 1700


def test_background_model_replaces_the_model_when_it_is_better():
    X, y = _flip()
    model = Monitored(LogisticRegression(), detector=DDM(), action="background", grace=30)
    hits = model.step_many(X, y) == y
    plain_hits = LogisticRegression().step_many(X, y) == y
    assert model.backgrounds_ and model.swaps_
    start, swap = model.backgrounds_[0], model.swaps_[0]
    assert 1500 <= start < swap < 1600
    # after the swap it serves the model that only learned the new concept, while the plain
    # model still drags the old one along
    assert hits[1500:1800].mean() > 0.7 > 0.2 > plain_hits[1500:1800].mean()


def test_background_is_not_swapped_in_when_it_is_worse():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(N, 2))
    y = (X[:, 0] > 0).astype(int)
    noisy = y.copy()
    noisy[1000:1200] = rng.integers(0, 2, 200)  # noise that a warning may react to
    model = Monitored(LogisticRegression(), detector=DDM(), action="background", grace=2000)
    model.step_many(X, noisy)
    assert model.swaps_ == []  # a fresh model needs more than `grace` rows to be trusted


def test_retrain_asks_the_batch_learner_for_a_retrain():
    from sklearn.linear_model import LogisticRegression as SkLR

    from tidal.batch import BatchLearner, EveryN

    X, y = _flip(n=1400, at=700)

    def batch():
        return BatchLearner(SkLR(), retrain=EveryN(500), min_rows=20)

    a = Monitored(batch(), detector=DDM(), action="retrain")
    b = a.clone()
    pa, pb = _in_blocks(a, X, y, 1), _in_blocks(b, X, y, 500)
    assert pa.tolist() == pb.tolist()
    assert a.alarms_ == b.alarms_ and a.n_retrains_ == len(a.alarms_) >= 1
    assert 700 <= a.alarms_[0] < 800
    plain = batch()
    plain.step_many(X, y)
    # the alarms' retrains went live on top of the policy's own (rows 500 and 1000)
    assert a.model_.n_retrains_ == plain.n_retrains_ + len(a.alarms_)


def test_regressor_reset_on_a_mean_shift():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(2000, 1))
    y = np.where(np.arange(2000) < 1000, 0.0, 20.0) + 0.1 * rng.normal(size=2000)
    model = Monitored(RunningMeanRegressor(), detector=PageHinkley(), action="reset")
    assert isinstance(model, MonitoredRegressor)
    pred = model.step_many(X, y)
    assert 1000 <= model.alarms_[0] < 1100
    assert np.median(np.abs(pred[1500:] - 20.0)) < 1.0  # the old mean was forgotten


def test_state_round_trip_mid_stream_continues_exactly():
    X, y = _flip()
    ref = Monitored(LogisticRegression(), detector=DDM(), action="background", grace=300)
    ref.step_many(X[:1600], y[:1600])
    assert ref.background_ is not None  # saved while a background model is learning
    copy = learner_from_state(ref.state_dict())
    assert copy.step_many(X[1600:], y[1600:]).tolist() == ref.step_many(X[1600:], y[1600:]).tolist()
    assert copy.swaps_ == ref.swaps_ and copy.alarms_ == ref.alarms_ and ref.swaps_


def test_in_the_engine():
    X, y = _flip()
    watched = Monitored(LogisticRegression(), detector=DDM(), action="reset")
    res = prequential((X, y), {"plain": LogisticRegression(), "watched": watched}, window=None)
    assert res["watched"]["Accuracy"] > res["plain"]["Accuracy"] + 0.1
    assert watched.n_resets_ >= 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"learner": LogisticRegression(), "action": "panic"}, "action == 'panic'"),
        ({"learner": LogisticRegression(), "action": "retrain"}, "retrain_now"),
        ({"learner": LogisticRegression(), "detector": "adwin"}, "detector =="),
        ({"learner": LogisticRegression(), "grace": 0}, "grace == 0"),
    ],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ParameterError, match=message):
        Monitored(**params).learn_one({"x": 1.0}, 1)


def test_a_regressor_in_the_classifier_face_is_refused():
    with pytest.raises(ParameterError, match="tidal classifier"):
        MonitoredClassifier(LinearRegression()).learn_one({"x": 1.0}, 1)
