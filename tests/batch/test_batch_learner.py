import os

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression, Ridge

from tidal.base import ParameterError, learner_from_state
from tidal.batch import (
    AnyOf,
    BatchClassifier,
    BatchLearner,
    BatchRegressor,
    EveryN,
    EveryT,
    MetricBelow,
    OnDrift,
)


def concept_change(n=6000, change=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] > 0).astype(int)
    y[change:] = (X[change:, 1] > 0).astype(int)
    return X, y


def steps_in_blocks(model, X, y, size):
    return np.concatenate(
        [model.step_many(X[i : i + size], y[i : i + size]) for i in range(0, len(y), size)]
    )


@pytest.mark.parametrize(
    "retrain",
    [EveryN(500), MetricBelow(0.8, 200), OnDrift(), AnyOf(EveryN(1500), MetricBelow(0.7, 100))],
    ids=["every", "metric", "drift", "any"],
)
def test_block_size_does_not_change_predictions(retrain):
    X, y = concept_change(3000, 1500)

    def make():
        return BatchLearner(LogisticRegression(), retrain=clone(retrain), deploy_delay=37)

    one_block = make().step_many(X, y)
    small = steps_in_blocks(make(), X, y, 61)
    assert (one_block == small).all()


def test_models_go_live_after_the_deploy_delay():
    X, y = concept_change(3000, 10_000)
    model = BatchLearner(LogisticRegression(), retrain=EveryN(1000), deploy_delay=250)
    model.step_many(X[:1249], y[:1249])
    assert model.n_retrains_ == 0 and model.serving_rows_ == (0, 0)
    model.step_many(X[1249:1251], y[1249:1251])
    assert model.n_retrains_ == 1 and model.serving_rows_ == (0, 1000)


def test_staleness_of_periodic_retraining_is_half_the_period_plus_the_delay():
    n, period, delay = 20_000, 1000, 100
    X, y = concept_change(n, n + 1)
    model = BatchLearner(
        LogisticRegression(), retrain=EveryN(period), window=2000, deploy_delay=delay
    )
    model.step_many(X, y)
    # by hand: row r is served by the model trained on rows before the last trigger that is
    # at least `delay` rows old, and misses every row after that trigger
    rows = np.arange(n)
    trained_until = np.maximum((rows - delay) // period * period, 0)
    expected = (rows - trained_until).mean()
    assert model.staleness_mean_ == pytest.approx(expected)
    assert model.staleness_mean_ == pytest.approx(period / 2 + delay, rel=0.1)


def test_window_trains_on_the_last_rows_and_bounds_the_store():
    X, y = concept_change(20_000, 10_000)
    model = BatchLearner(LogisticRegression(), retrain=EveryN(2000), window=3000)
    model.step_many(X, y)
    # the model trained after the last row is live for the next row (deploy_delay=0)
    assert model.serving_rows_ == (17_000, 20_000)
    model.flush()
    on_disk = sum(
        os.path.getsize(os.path.join(model._rows.path, f)) for f in os.listdir(model._rows.path)
    )
    assert model.bytes_kept_ == on_disk
    everything = BatchLearner(LogisticRegression(), retrain=EveryN(2000)).learn_many(X, y)
    assert model.bytes_kept_ < everything.flush().bytes_kept_ / 2


def test_windowed_batch_recovers_after_a_concept_change():
    X, y = concept_change(12_000, 6000)
    model = BatchLearner(LogisticRegression(), retrain=EveryN(500), window=1000)
    hits = model.step_many(X, y) == y
    assert hits[5000:6000].mean() > 0.95
    assert hits[6000:6500].mean() < 0.75  # the old concept serves right after the change
    assert hits[8000:].mean() > 0.95


def test_on_drift_retrains_soon_after_the_change_and_not_before():
    X, y = concept_change(8000, 4000)
    model = BatchLearner(LogisticRegression(), retrain=AnyOf(EveryN(1000), OnDrift()), window=800)
    model.step_many(X[:3999], y[:3999])
    before = model.n_retrains_
    assert before == 3  # EveryN at 1000, 2000, 3000; no drift alarm on a stable concept
    model.step_many(X[3999:4600], y[3999:4600])
    assert model.n_retrains_ > before + 0  # an alarm fired within 600 rows of the change


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Remembers the weights it was trained with."""

    def fit(self, X, y, sample_weight=None):
        self.classes_ = np.unique(y)
        self.weights_ = sample_weight
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_half_life_decays_sample_weights():
    X, y = concept_change(400, 1000)
    model = BatchClassifier(RecordingClassifier(), retrain=EveryN(400), half_life=100.0)
    model.learn_many(X, y)
    w = model._model.weights_
    assert w[-1] == 1.0 and w[-101] == pytest.approx(0.5) and w[-201] == pytest.approx(0.25)


def test_state_roundtrip_rebuilds_models_without_pickle():
    X, y = concept_change(4000, 2000)
    a = BatchLearner(LogisticRegression(), retrain=EveryN(700), window=1500, deploy_delay=90)
    a.step_many(X[:2345], y[:2345])
    b = learner_from_state(a.state_dict())
    assert (a.step_many(X[2345:], y[2345:]) == b.step_many(X[2345:], y[2345:])).all()
    assert a.staleness_mean_ == b.staleness_mean_ and a.n_retrains_ == b.n_retrains_


def test_regressor_learns_a_line():
    X = np.linspace(0, 10, 1000).reshape(-1, 1)
    model = BatchLearner(Ridge(alpha=1e-6), retrain=EveryN(200))
    assert isinstance(model, BatchRegressor)
    pred = model.step_many(X, 3 * X[:, 0] - 1)
    assert abs(pred[-1] - (3 * X[-1, 0] - 1)) < 0.5


def test_bad_estimator_and_unwritable_store_are_named(tmp_path):
    with pytest.raises(ParameterError, match="expected an object with fit"):
        BatchLearner(object()).learn_one({"a": 1.0}, 1)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ParameterError, match=str(blocker)):
        BatchLearner(LogisticRegression(), store=str(blocker / "rows")).learn_one({"a": 1.0}, 1)
    with pytest.raises(ParameterError, match="window"):
        BatchLearner(LogisticRegression(), window=5, min_rows=10).learn_one({"a": 1.0}, 1)


def test_single_class_window_is_reported_not_silent():
    X = np.random.default_rng(1).normal(size=(300, 2))
    model = BatchLearner(LogisticRegression(), retrain=EveryN(100))
    with pytest.warns(UserWarning, match="single class"):
        model.learn_many(X, np.ones(300, dtype=int))
    assert model.n_retrains_ == 0 and len(model.warnings_) == 3
    assert model.predict_one({"x0": 0.0, "x1": 0.0}) == 1  # the baseline serves meanwhile


def timed_stream(n=4000, seed=5):
    """Rows arriving at irregular times (seconds), with a time column ``t``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    t = np.cumsum(rng.exponential(60.0, size=n))  # one row a minute on average
    y = (X[:, 0] > 0).astype(int)
    return {"t": t, "a": X[:, 0], "b": X[:, 1]}, y, t


def test_every_t_retrains_on_stream_time_and_deploys_after_a_delay_in_seconds():
    cols, y, t = timed_stream()
    model = BatchLearner(
        LogisticRegression(),
        retrain=EveryT(6 * 3600.0),
        time_column="t",
        deploy_delay_seconds=1800.0,
    )
    model.step_many(cols, y)
    # by hand: a trigger at the first row 6 h after the previous one (or after the first row)
    triggers, nxt = [], t[0] + 6 * 3600.0
    for i, ti in enumerate(t):
        if ti >= nxt:
            triggers.append(i)
            nxt = ti + 6 * 3600.0
    live = [int(np.argmax(t >= t[i] + 1800.0)) for i in triggers if t[-1] >= t[i] + 1800.0]
    assert model.n_retrains_ == len(live) > 5
    last = triggers[len(live) - 1]
    assert model.serving_rows_ == (0, last + 1)
    # the model never saw the time column
    assert model._model.coef_.shape == (1, 2)


def test_stream_time_runs_are_block_size_independent():
    cols, y, _ = timed_stream(1500)

    def make():
        return BatchLearner(
            LogisticRegression(),
            retrain=AnyOf(EveryT(3 * 3600.0), EveryN(400)),
            time_column="t",
            deploy_delay_seconds=900.0,
        )

    whole = make().step_many(cols, y)
    model = make()
    parts = [
        model.step_many({k: v[i : i + 37] for k, v in cols.items()}, y[i : i + 37])
        for i in range(0, 1500, 37)
    ]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert model.n_retrains_ > 3


def test_stream_time_needs_a_time_column():
    with pytest.raises(ParameterError, match="time_column"):
        BatchLearner(LogisticRegression(), retrain=EveryT(60.0)).learn_one({"a": 1.0}, 1)
    with pytest.raises(ParameterError, match="'when' is not one of the features"):
        BatchLearner(LogisticRegression(), time_column="when").learn_one({"a": 1.0}, 1)


def test_baseline_honours_weights_inside_a_block():
    """Issue 15: blocks of 1 gave the weighted running mean, one block of 6 the unweighted one."""
    from sklearn.linear_model import Ridge

    from tidal.batch import BatchRegressor
    from tidal.dummy import RunningMeanRegressor

    y, w, X = np.array([1, 5, 2, 8, 3, 4.0]), np.array([3, 1, 1, 1, 1, 1.0]), np.zeros((6, 1))
    one = BatchRegressor(Ridge(), retrain=EveryN(1000))
    ones = [one.step_many(X[i : i + 1], y[i : i + 1], w[i : i + 1])[0] for i in range(6)]
    six = BatchRegressor(Ridge(), retrain=EveryN(1000)).step_many(X, y, w)
    expected = RunningMeanRegressor().step_many(X, y, w)
    np.testing.assert_array_equal(ones, expected)
    np.testing.assert_array_equal(six, expected)


def test_classifier_baseline_is_the_weighted_majority_inside_a_block():
    from tidal.dummy import MajorityClassifier

    y, w = np.array(["a", "b", "b", "a", "b"]), np.array([5.0, 1.0, 1.0, 1.0, 1.0])
    X = np.zeros((5, 1))
    m = BatchClassifier(RecordingClassifier(), retrain=EveryN(1000))
    expected = MajorityClassifier().step_proba_many(X, y, w)
    np.testing.assert_array_equal(m.step_proba_many(X, y, w), expected)


def test_nan_is_imputed_for_an_estimator_that_refuses_it_and_passed_to_one_that_takes_it():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = (X[:, 0] > 0).astype(int)
    X[rng.random(X.shape) < 0.1] = np.nan
    empty = X.copy()
    empty[:, 2] = np.nan  # a column that never has a value (becomes 0)
    for est, data in ((LogisticRegression(), empty), (HistGradientBoostingClassifier(), X)):
        m = BatchClassifier(est, retrain=EveryN(200))
        out = m.step_many(data, y)
        assert m.n_retrains_ == 3 and (out[400:] == y[400:]).mean() > 0.7
        assert np.isfinite(m.predict_proba_many(X[:5])).all()


def test_flush_and_costs_of_a_learner_that_never_learned():
    """compare flushes every batch learner to measure its bytes on disk, also one whose first
    block was refused (an AttributeError before): nothing learned, nothing kept."""
    model = BatchClassifier(LogisticRegression())
    assert model.flush() is model
    assert (model.is_fitted, model.bytes_kept_) == (False, 0)
