import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

from tidal.base import ParameterError, learner_from_state
from tidal.batch import BatchLearner, EveryN, Hybrid, HybridClassifier, Switch
from tidal.dummy import MajorityClassifier, NoChangeClassifier, RunningMeanRegressor
from tidal.linear_model import LinearRegression
from tidal.linear_model import LogisticRegression as OnlineLR


def shifted_regression(n=6000, shift_at=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, 2))
    y = 2 * X[:, 0] - X[:, 1] + np.where(np.arange(n) >= shift_at, 1.5, 0.0)
    return X, y


def test_hybrid_regressor_is_base_plus_online_residual_rebased_at_each_deployment():
    X, y = shifted_regression()
    hybrid = Hybrid(
        BatchLearner(Ridge(), retrain=EveryN(1000), deploy_delay=200), LinearRegression()
    )
    pred = hybrid.step_many(X, y)
    # re-statement: the batch learner alone, plus a LinearRegression on its residuals that
    # restarts whenever a new batch model starts serving
    batch = BatchLearner(Ridge(), retrain=EveryN(1000), deploy_delay=200)
    base, corr, online, version = np.zeros(len(y)), np.zeros(len(y)), None, -1
    for i in range(len(y)):
        base[i] = batch.step_many(X[i : i + 1], y[i : i + 1])[0]
        if batch.served_versions_[0] != version:
            online, version = LinearRegression(), batch.served_versions_[0]
        corr[i] = online.step_many(X[i : i + 1], y[i : i + 1] - base[i : i + 1])[0]
    np.testing.assert_allclose(pred, base + corr, rtol=0, atol=1e-12)
    # after the shift the online correction recovers before the next batch model does
    assert np.abs(pred - y)[3300:4000].mean() < np.abs(base - y)[3300:4000].mean() / 2


def test_hybrid_classifier_stacks_the_batch_log_odds():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5000, 2))
    y = (X[:, 0] + 0.3 * X[:, 1] > np.where(np.arange(5000) < 2500, 0.0, 1.0)).astype(int)
    hybrid = Hybrid(BatchLearner(LogisticRegression(), retrain=EveryN(2000)), OnlineLR())
    assert isinstance(hybrid, HybridClassifier)
    hits = hybrid.step_many(X, y) == y
    batch_hits = BatchLearner(LogisticRegression(), retrain=EveryN(2000)).step_many(X, y) == y
    assert hits[2600:4000].mean() > batch_hits[2600:4000].mean() + 0.05


def test_hybrid_state_roundtrip_continues_identically():
    X, y = shifted_regression(3000, 1500)
    a = Hybrid(BatchLearner(Ridge(), retrain=EveryN(400), deploy_delay=30), LinearRegression())
    a.step_many(X[:1234], y[:1234])
    b = learner_from_state(a.state_dict())
    np.testing.assert_array_equal(a.step_many(X[1234:], y[1234:]), b.step_many(X[1234:], y[1234:]))


def test_hybrid_rejects_an_online_learner_of_the_wrong_task():
    h = Hybrid(BatchLearner(Ridge()), OnlineLR())
    with pytest.raises(ParameterError, match="needs a regression learner"):
        h.learn_one({"a": 1.0}, 1.0)


def test_switch_serves_the_member_with_the_best_recent_accuracy():
    y = np.r_[np.zeros(300), np.tile([0] * 10 + [1] * 10, 30)].astype(int)
    X = np.zeros((len(y), 1))
    switch = Switch(MajorityClassifier(), NoChangeClassifier(), window=40)
    pred = switch.step_many(X, y)
    maj = MajorityClassifier().step_many(X, y)
    nochange = NoChangeClassifier().step_many(X, y)
    # by hand: row i is served by the member with more hits on rows i-40..i-1 (ties: first)
    hits = np.stack([maj == y, nochange == y], axis=1).astype(float)
    expected = []
    for i in range(len(y)):
        recent = hits[max(0, i - 40) : i].sum(axis=0)
        expected.append([maj, nochange][int(np.argmax(recent))][i])
    assert pred.tolist() == expected
    # it follows the better member closely (a few rows of lag after the regime change)
    assert (pred == y).mean() > (nochange == y).mean() - 0.01 > (maj == y).mean() + 0.2


def test_switch_regressor_and_roundtrip():
    X, y = shifted_regression(2000, 1000)
    s = Switch(RunningMeanRegressor(), LinearRegression(), window=100)
    s.step_many(X[:700], y[:700])
    t = learner_from_state(s.state_dict())
    np.testing.assert_array_equal(s.step_many(X[700:], y[700:]), t.step_many(X[700:], y[700:]))
    assert s.served_counts_[1] > s.served_counts_[0]
