"""Protocol behaviour of the linear learners: state, blocks, errors, pipelines' two matrices."""

from __future__ import annotations

import numpy as np
import pytest

from tidal import linear_model as tl
from tidal import optim as to
from tidal.base import InputError, ParameterError, StateError
from tidal.base.state import learner_from_state, read_state, save_state

CLASSIFIERS = [
    lambda: tl.LogisticRegression(),
    lambda: tl.LogisticRegression(optimizer=to.Adam(), l2=0.01, l1=0.001),
    lambda: tl.LogisticRegression(optimizer=to.FTRLProximal(l1=0.1)),
    lambda: tl.LogisticRegression(
        optimizer=to.AdaGrad(), intercept_lr=to.schedulers.InverseScaling()
    ),
    lambda: tl.Perceptron(l2=0.01),
    lambda: tl.PAClassifier(mode=2, C=0.1),
    lambda: tl.SoftmaxRegression(optimizer=to.Adam(lr=to.schedulers.InverseScaling(0.1))),
]
REGRESSORS = [
    lambda: tl.LinearRegression(),
    lambda: tl.LinearRegression(optimizer=to.FTRLProximal(), l2=0.1),
    lambda: tl.PARegressor(mode=1, C=0.05),
]
ALL = CLASSIFIERS + REGRESSORS


def _data(model, n=600, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    score = X @ rng.normal(size=d)
    if model.tags.is_regressor:
        return X, score
    if model.tags.task == "multiclass":
        return X, np.digitize(score, [-0.5, 0.5])
    return X, (score > 0).astype(int)


def _step(model, X, y, w=None):
    if model.tags.is_regressor:
        return model.step_many(X, y, w)
    return model.step_proba_many(X, y, w)


@pytest.mark.parametrize("make", ALL)
def test_block_of_one_equals_block_of_4096(make):
    X, y = _data(make(), n=4096)
    w = np.random.default_rng(1).uniform(0, 2, size=len(y))
    whole = make()
    expected = _step(whole, X, y, w)
    one = make()
    rows = [_step(one, X[i : i + 1], y[i : i + 1], w[i : i + 1]) for i in range(300)]
    if expected.ndim == 2:  # classes unseen when a row was stepped have no column yet
        rows = [np.pad(r, [(0, 0), (0, expected.shape[1] - r.shape[1])]) for r in rows]
    got = np.concatenate(rows)
    np.testing.assert_array_equal(got, expected[:300])
    # carry on in uneven blocks: the state after the rows must be the same too
    for a, b in [(300, 301), (301, 1000), (1000, 4096)]:
        _step(one, X[a:b], y[a:b], w[a:b])
    for key, value in whole.state_dict()["state"].items():
        np.testing.assert_array_equal(one.state_dict()["state"][key], value, err_msg=key)


@pytest.mark.parametrize("make", ALL)
def test_state_round_trip_mid_stream_continues_identically(make, tmp_path):
    X, y = _data(make())
    model = make()
    model.learn_many(X[:300], y[:300])
    restored = learner_from_state(read_state(save_state(model.state_dict(), tmp_path / "m.npz")))
    assert type(restored) is type(model)
    assert repr(restored) == repr(model)  # nested optimiser and scheduler configs included
    np.testing.assert_array_equal(_step(restored, X[300:], y[300:]), _step(model, X[300:], y[300:]))


@pytest.mark.parametrize("make", ALL)
def test_clone_gives_an_unfitted_learner_with_equal_params(make):
    X, y = _data(make())
    model = make().learn_many(X, y)
    twin = model.clone()
    assert not twin.is_fitted
    assert repr(twin) == repr(model)
    np.testing.assert_array_equal(_step(twin, X, y), _step(make(), X, y))


@pytest.mark.parametrize("make", ALL)
def test_separate_prediction_and_learning_matrices(make):
    """Inside a pipeline the row predicted and the row learned differ; check the kernel's two
    inputs against predicting X_pred[i] and then learning X_learn[i], one row at a time."""
    X, y = _data(make(), n=200)
    X_learn = X * 1.5 + 0.25
    model = make()
    model.learn_many(X[:5], y[:5])
    reference = make()
    reference.learn_many(X[:5], y[:5])
    n = 195
    yy = y[5:] if model.tags.is_regressor else model._encode_y(y[5:], n)
    out = model._out(n)
    model._step_arrays(X[5:], X_learn[5:], yy, np.ones(n), out)
    for i in range(n):
        expected = reference._predict_out(X[5 + i : 6 + i])[0]
        got = out[i][: expected.shape[-1]] if out.ndim == 2 else out[i]
        np.testing.assert_array_equal(got, expected)
        reference.learn_many(X_learn[5 + i : 6 + i], y[5 + i : 6 + i])


def test_a_third_class_is_refused_naming_its_row():
    model = tl.LogisticRegression().learn_many([{"x": 1.0}, {"x": 2.0}], ["no", "yes"])
    before = model.state_dict()
    with pytest.raises(InputError, match="row 2") as info:
        model.learn_many([{"x": 1.0}, {"x": 0.0}, {"x": 3.0}], ["yes", "no", "maybe"])
    assert info.value.row == 2
    _assert_same_state(model.state_dict(), before)


@pytest.mark.parametrize("make", ALL)
def test_nan_is_refused_naming_column_and_row_without_change(make):
    X, y = _data(make(), n=50)
    model = make().learn_many(X[:20], y[:20])
    before = model.state_dict()
    bad = X[20:].copy()
    bad[7, 2] = np.nan
    with pytest.raises(InputError, match="column 'x2' row 7") as info:
        model.learn_many(bad, y[20:])
    assert (info.value.column, info.value.row) == ("x2", 7)
    _assert_same_state(model.state_dict(), before)


def _assert_same_state(a, b):
    assert a["fitted"] == b["fitted"]
    for key, value in b["state"].items():
        np.testing.assert_array_equal(a["state"][key], value, err_msg=key)


def test_zero_weight_rows_do_not_move_the_weights_but_count_as_steps():
    X, y = _data(tl.LogisticRegression(), n=100)
    model = tl.LogisticRegression().learn_many(X[:50], y[:50])
    coef = model.state_dict()["state"]["coef"]
    model.learn_many(X[50:], y[50:], w=np.zeros(50))
    state = model.state_dict()["state"]
    np.testing.assert_array_equal(state["coef"], coef)
    assert state["n_iterations"] == 100.0


def test_weight_two_is_not_two_rows_but_a_doubled_gradient():
    x, y = [{"a": 1.0, "b": -2.0}], [1]
    doubled = tl.LogisticRegression(optimizer=to.SGD(0.1)).learn_many(x, y, w=[2.0])
    once = tl.LogisticRegression(optimizer=to.SGD(0.1)).learn_many(x, y)
    # the log-loss gradient at w=0 is -0.5; River multiplies it by the weight before the step
    assert doubled.weights == {"a": pytest.approx(0.1), "b": pytest.approx(-0.2)}
    assert once.weights == {"a": pytest.approx(0.05), "b": pytest.approx(-0.1)}


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (tl.LogisticRegression(l2=-1.0), "l2 == -1.0"),
        (tl.LinearRegression(clip_gradient=0.0), "clip_gradient == 0.0"),
        (tl.LogisticRegression(optimizer=to.Adam(beta_1=1.0)), "beta_1 == 1.0"),
        (tl.LogisticRegression(optimizer=to.FTRLProximal(alpha=0.0)), "alpha == 0"),
        (tl.LogisticRegression(optimizer=to.FTRLProximal(), l1=0.1), "FTRLProximal"),
        (tl.LogisticRegression(optimizer=to.SGD(-0.1)), "learning_rate == -0.1"),
        (tl.LogisticRegression(optimizer="sgd"), "optimizer == 'sgd'"),
        (tl.SoftmaxRegression(l2=float("nan")), "l2 == nan"),
        (tl.PAClassifier(mode=3), "mode == 3"),
        (tl.PARegressor(C=0.0), "C == 0.0"),
    ],
)
def test_bad_parameters_are_refused_before_learning(model, message):
    with pytest.raises(ParameterError, match=message):
        model.learn_one({"x": 1.0}, 1)
    assert not model.is_fitted


def test_softmax_new_class_gets_probability_only_after_it_was_learned():
    model = tl.SoftmaxRegression()
    proba = model.step_proba_many([{"x": 1.0}] * 4, ["a", "a", "b", "c"])
    assert proba[0].tolist() == [0.0, 0.0, 0.0]  # nothing learned yet: no prediction
    assert proba[1].tolist() == [1.0, 0.0, 0.0]  # only "a" known
    assert proba[2, 2] == 0.0 and proba[2, 1] == 0.0
    assert proba[3, 2] == 0.0 and proba[3, 1] > 0.0
    assert set(model.weights) == {"a", "b", "c"}


@pytest.mark.parametrize("make", ALL)
def test_a_snapshot_whose_arrays_do_not_fit_is_refused(make):
    X, y = _data(make(), n=50)
    state = make().learn_many(X, y).state_dict()
    key = next(k for k, v in state["state"].items() if isinstance(v, np.ndarray))
    state["state"][key] = np.concatenate([state["state"][key].ravel(), [0.0]])
    with pytest.raises(StateError, match=key):
        make().load_state(state)
