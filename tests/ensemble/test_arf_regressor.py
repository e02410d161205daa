"""ARFRegressor: River as the oracle where it is deterministic, prequential error where it is
not, drift handling, per-row semantics, state, seeds and threads."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from tidal._kernels import ensemble_forest_regressor as E
from tidal.base import ParameterError
from tidal.ensemble import ARFRegressor

NAMES = [f"x{j}" for j in range(10)]


def friedman(n: int, seed: int, drift_at: int | None = None, features: int = 10):
    """Friedman #1 (5 informative features of ``features``, noise 1); from ``drift_at`` on,
    the informative features swap roles and the target moves up by 10 (an abrupt change that
    shifts the errors' mean, which is what ARF's detectors watch)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, features))
    y = (
        10 * np.sin(np.pi * X[:, 0] * X[:, 1])
        + 20 * (X[:, 2] - 0.5) ** 2
        + 10 * X[:, 3]
        + 5 * X[:, 4]
        + rng.normal(0, 1, n)
    )
    if drift_at is not None:
        Z = X[drift_at:]
        y[drift_at:] = (
            10 * np.sin(np.pi * Z[:, 3] * Z[:, 4])
            + 20 * (Z[:, 1] - 0.5) ** 2
            + 10 * Z[:, 0]
            + 5 * Z[:, 2]
            + rng.normal(0, 1, n - drift_at)
            + 10
        )
    return X, y


def river_prequential(model, X: np.ndarray, y: np.ndarray) -> np.ndarray:  # noqa: ANN001
    names = NAMES[: X.shape[1]]
    out = np.empty(len(y))
    for i, (row, yi) in enumerate(zip(X.tolist(), y.tolist(), strict=True)):
        x = dict(zip(names, row, strict=True))
        out[i] = model.predict_one(x)
        model.learn_one(x, yi)
    return out


def running_mean_mae(y: np.ndarray) -> float:
    """MAE of the baseline that predicts the mean of the targets seen so far (0 at first)."""
    before = np.concatenate([[0.0], np.cumsum(y)[:-1] / np.arange(1, len(y))])
    return float(np.abs(y - before).mean())


# --------------------------------------------------------------------------- River, exactly
@pytest.mark.parametrize(
    ("aggregation", "leaf"),
    [("median", "adaptive"), ("mean", "mean"), ("median", "model")],
)
def test_equals_river_without_resampling_or_subspaces(monkeypatch, aggregation, leaf):
    """With every Poisson draw forced to 1 in River (``lambda_value=None`` here) and all the
    features in every leaf, nothing is random: the predictions, the warnings and the tree
    replacements must be River's, through an abrupt drift."""
    forest = pytest.importorskip("river.forest")
    import river.forest.adaptive_random_forest as river_arf

    monkeypatch.setattr(river_arf, "poisson", lambda rate, rng: 1)
    X, y = friedman(3000, 0, 1500, features=5)
    kw = {
        "n_models": 3,
        "max_features": None,
        "aggregation_method": aggregation,
        "leaf_prediction": leaf,
        "seed": 1,
    }
    theirs = forest.ARFRegressor(**kw)
    expected = river_prequential(theirs, X, y)
    ours = ARFRegressor(lambda_value=None, **kw)
    got = ours.step_many(X, y)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert ours.n_drifts_detected() == theirs.n_drifts_detected() > 0
    assert ours.n_warnings_detected() == theirs.n_warnings_detected() > 0
    for m in range(3):
        assert ours.n_drifts_detected(m) == theirs.n_drifts_detected(m)


def test_weighted_mean_uses_rivers_weights():
    """River's weights: ``sum(mse) - mse_m``, normalised; the prediction is the weighted sum
    (River divides it by the number of trees once more, which tidal does not)."""
    rng = np.random.default_rng(0)
    preds, mse = rng.normal(size=(4, 6)), rng.random((4, 6))
    mse[:, 0] = 0.0  # no error measured yet: plain mean
    out = np.empty(6)
    E.aggregate(preds, mse, False, True, out)
    w = mse.sum(axis=0) - mse
    w[:, 1:] /= w[:, 1:].sum(axis=0)
    expected = (w * preds).sum(axis=0)
    expected[0] = preds[:, 0].mean()
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    E.aggregate(preds, mse, True, True, out)  # the median ignores the weights
    np.testing.assert_allclose(out, np.median(preds, axis=0), rtol=1e-12)
    E.aggregate(preds[:3], mse[:3], True, False, out)
    np.testing.assert_allclose(out, np.median(preds[:3], axis=0), rtol=1e-12)


# --------------------------------------------------------------------------- River, on average
def test_prequential_error_matches_river_over_five_seeds():
    """River's defaults (Poisson 6, sqrt(m) features, median) on a drifting Friedman stream:
    tidal's mean MAE and RMSE over 5 seeds within 5 % of River's, and both far below the
    running-mean baseline."""
    forest = pytest.importorskip("river.forest")
    ours_mae, theirs_mae, ours_rmse, theirs_rmse, base = [], [], [], [], []
    for seed in range(5):
        X, y = friedman(4000, seed, 2000)
        pr = river_prequential(forest.ARFRegressor(n_models=5, seed=seed), X, y)
        pt = ARFRegressor(n_models=5, seed=seed).step_many(X, y)
        theirs_mae.append(np.abs(pr - y).mean())
        ours_mae.append(np.abs(pt - y).mean())
        theirs_rmse.append(np.sqrt(((pr - y) ** 2).mean()))
        ours_rmse.append(np.sqrt(((pt - y) ** 2).mean()))
        base.append(running_mean_mae(y))
    mae, river_mae = np.mean(ours_mae), np.mean(theirs_mae)
    assert abs(mae - river_mae) < 0.05 * river_mae, (mae, river_mae)
    assert abs(np.mean(ours_rmse) - np.mean(theirs_rmse)) < 0.05 * np.mean(theirs_rmse)
    assert mae < 0.5 * np.mean(base), (mae, np.mean(base))


# --------------------------------------------------------------------------- drift
def test_background_trees_take_over_after_an_abrupt_drift_and_help():
    n, d = 8000, 4000
    after = []
    for seed in (0, 1, 2):
        X, y = friedman(n, seed, d)
        adaptive = ARFRegressor(n_models=5, seed=seed)
        pa = np.concatenate(
            [adaptive.step_many(X[s : s + 1000], y[s : s + 1000]) for s in range(0, n, 1000)]
        )
        static = ARFRegressor(n_models=5, seed=seed, warning_delta=None, drift_delta=None)
        ps = static.step_many(X, y)
        # before the change both are the same forest
        np.testing.assert_array_equal(pa[:d], ps[:d])
        assert all(adaptive.n_drifts_detected(m) >= 1 for m in range(5))
        assert adaptive.n_warnings_detected() >= 1
        assert static.n_drifts_detected() == 0 and list(static._members["fg"]) == list(range(5))
        tail = slice(d + 500, n)
        after.append((np.abs(pa[tail] - y[tail]).mean(), np.abs(ps[tail] - y[tail]).mean()))
    got, without = np.mean(after, axis=0)
    assert got < 0.95 * without, after


# --------------------------------------------------------------------------- per-row semantics
@pytest.fixture(scope="module")
def stream():
    return friedman(1500, 3, 800, features=6)


def small(seed: int, **kw) -> ARFRegressor:  # noqa: ANN003
    return ARFRegressor(n_models=4, grace_period=30, seed=seed, **kw)


@pytest.mark.parametrize("params", [{}, {"aggregation_method": "mean", "max_features": 3}])
def test_block_size_one_equals_one_block(stream, params):
    X, y = stream
    runs = {}
    for size in (1, 97, 4096):
        m = small(1, **params)
        runs[size] = np.concatenate(
            [m.step_many(X[s : s + size], y[s : s + size]) for s in range(0, len(y), size)]
        )
    np.testing.assert_array_equal(runs[1], runs[4096])
    np.testing.assert_array_equal(runs[97], runs[4096])
    assert np.abs(np.diff(runs[1][100:])).max() > 0  # it does predict


def test_state_round_trip_mid_stream_continues_identically(stream):
    X, y = stream
    a = small(5)
    a.learn_many(X[:900], y[:900])
    b = small(5).load_state(a.state_dict())
    np.testing.assert_array_equal(a.step_many(X[900:], y[900:]), b.step_many(X[900:], y[900:]))
    assert a.n_nodes == b.n_nodes and sum(a.n_nodes) > 4
    assert a.n_drifts_detected() == b.n_drifts_detected()


def test_same_seed_same_predictions_other_seed_differs(stream):
    X, y = stream
    p1 = small(7).step_many(X, y)
    p2 = small(7).step_many(X, y)
    p3 = small(8).step_many(X, y)
    np.testing.assert_array_equal(p1, p2)
    assert not np.array_equal(p1, p3)


def test_result_does_not_depend_on_the_number_of_threads(stream):
    X, y = stream
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = small(2).step_many(X, y)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = small(2).step_many(X, y)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, two)


def test_subspaces_and_resampling_make_members_differ(stream):
    X, y = stream
    diverse = small(0).learn_many(X, y)
    assert len(set(diverse.n_nodes)) > 1 or len({diverse.member(m).to_text() for m in range(4)}) > 1
    same = small(0, lambda_value=None, max_features=None).learn_many(X, y)
    texts = {same.member(m).to_text() for m in range(4)}
    assert len(texts) == 1 and "<=" in texts.pop()


def test_members_are_inspectable(stream):
    X, y = stream
    model = small(1).learn_many(X, y)
    assert len(model.n_nodes) == 4 and all(n >= 3 for n in model.n_nodes)
    assert model.member(0).n_leaves == model.n_leaves[0]
    assert "predicts" in model.member(0).to_text()
    with pytest.raises(IndexError, match="out of range"):
        model.member(4)


def test_categorical_and_missing_values_are_learned():
    rng = np.random.default_rng(0)
    n = 3000
    color = rng.choice(["red", "green", "blue"], n)
    x = rng.random(n)
    y = np.select([color == "red", color == "green"], [10.0, -10.0], 0.0) + x
    x_missing = np.where(rng.random(n) < 0.1, np.nan, x)
    model = ARFRegressor(n_models=3, max_features=None, seed=0)
    pred = model.step_many({"color": color, "x": x_missing}, y)
    assert np.abs(pred[2000:] - y[2000:]).mean() < 1.0
    assert any("color" in model.member(m).to_text() for m in range(3))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"max_features": "cube"}, "max_features"),
        ({"n_models": 0}, "n_models"),
        ({"aggregation_method": "mode"}, "aggregation_method"),
        ({"lambda_value": 0}, "lambda_value"),
        ({"lambda_value": True}, "lambda_value"),
        ({"drift_delta": 2.0}, "drift_delta"),
        ({"leaf_prediction": "nba"}, "leaf_prediction"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_parameters_are_rejected_with_a_clear_message(params, match):
    with pytest.raises(ParameterError, match=match):
        ARFRegressor(**params).learn_one({"a": 1.0}, 0.0)


def test_zoo_short_name_builds_the_regressor_for_regression():
    from tidal import zoo
    from tidal.ensemble import ARFClassifier

    model = zoo.make("arf:aggregation_method='mean':n_models=3", task="regression")
    assert isinstance(model, ARFRegressor)
    assert (model.aggregation_method, model.n_models, model.seed) == ("mean", 3, zoo.DEFAULT_SEED)
    assert isinstance(zoo.make("arf"), ARFClassifier)
    assert "arf" in zoo.names("regression") and "arf" in zoo.names("binary")
    with pytest.raises(ParameterError, match="aggregation_method"):
        zoo.make("arf:aggregation_method='mean'")  # the classifier has no such parameter
