"""HoeffdingTreeRegressor: River 0.26.1 as the oracle, plus the protocol's own properties."""

import math

import numpy as np
import pandas as pd
import pytest
from ht_data import load_elec2

from tidal.base import ParameterError
from tidal.tree import HoeffdingTreeRegressor

river_tree = pytest.importorskip("river.tree")


def _rows(frame: pd.DataFrame) -> list[dict]:
    """River's rows: a missing value is an absent key."""
    out = []
    for rec in frame.to_dict("records"):
        out.append({k: v for k, v in rec.items() if not (isinstance(v, float) and v != v)})
    return out


def _river_step(model, rows: list[dict], y: np.ndarray) -> np.ndarray:
    pred = np.empty(len(y))
    for i, (x, yi) in enumerate(zip(rows, y, strict=True)):
        pred[i] = model.predict_one(x)
        model.learn_one(x, float(yi))
    return pred


def _assert_same(frame: pd.DataFrame, y: np.ndarray, river_kw: dict | None = None, **kw) -> None:
    river = river_tree.HoeffdingTreeRegressor(**kw, **(river_kw or {}))
    expected = _river_step(river, _rows(frame), y)
    ours = HoeffdingTreeRegressor(**kw)
    got = ours.step_many(frame, y)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert ours.n_nodes == river.n_nodes
    assert ours.n_active_leaves == river.n_active_leaves


def synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, 4))
    y = np.where(X[:, 0] > 0.5, 3.0, -1.0) + 2 * X[:, 1] + rng.normal(0, 0.3, n)
    return pd.DataFrame(X, columns=[f"x{j}" for j in range(4)]), y


def nominal(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A categorical column and a numeric one drive the target; 5 % NaN in the numeric one."""
    rng = np.random.default_rng(seed)
    colours = np.array(["red", "green", "blue", "grey", "cyan"], dtype=object)
    c = colours[rng.integers(0, 5, n)]
    a = rng.normal(size=n)
    shift = {"red": 4.0, "green": -2.0, "blue": 0.0, "grey": 1.0, "cyan": 2.5}
    y = np.array([shift[v] for v in c]) + np.where(a > 0.3, 2.0, 0.0) + rng.normal(0, 0.2, n)
    a[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({"colour": c, "a": a, "b": rng.random(n)}), y


@pytest.mark.parametrize("leaf", ["mean", "model", "adaptive"])
def test_equals_river_synthetic(leaf):
    frame, y = synthetic(4000, 1)
    _assert_same(frame, y, grace_period=100, leaf_prediction=leaf)


@pytest.mark.parametrize(
    "kw",
    [
        {"grace_period": 50, "max_depth": 2},
        {"grace_period": 50, "merit_preprune": False, "tau": 0.2},
        {"grace_period": 50, "remove_poor_attrs": True},
        {"grace_period": 30, "delta": 0.01, "min_samples_split": 20},
    ],
)
def test_equals_river_options(kw):
    frame, y = synthetic(3000, 2)
    _assert_same(frame, y, leaf_prediction="adaptive", **kw)


def test_equals_river_exact_ebst():
    from river.tree.splitter import EBSTSplitter

    frame, y = synthetic(1500, 3)
    river = river_tree.HoeffdingTreeRegressor(grace_period=50, splitter=EBSTSplitter())
    expected = _river_step(river, _rows(frame), y)
    got = HoeffdingTreeRegressor(grace_period=50, splitter="ebst").step_many(frame, y)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("binary", [False, True])
def test_equals_river_nominal_and_missing(binary):
    frame, y = nominal(3000, 4)
    _assert_same(frame, y, grace_period=50, leaf_prediction="mean", binary_split=binary)


def test_equals_river_numeric_declared_nominal():
    rng = np.random.default_rng(5)
    n = 2000
    k = rng.integers(0, 4, n).astype(float)
    b = rng.random(n)
    y = np.where(k == 2.0, 5.0, 0.0) + b + rng.normal(0, 0.1, n)
    frame = pd.DataFrame({"k": k, "b": b})
    _assert_same(frame, y, grace_period=50, nominal_attributes=["k"])


def test_equals_river_elec2_regression():
    df = load_elec2()
    y = df["nswprice"].to_numpy()
    frame = df.drop(columns=["nswprice", "up"])
    _assert_same(frame, y)


def test_round_is_pythons():
    from tidal._kernels.tree_regressor_ebst import py_round1

    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            rng.normal(0, 3, 20000),
            rng.integers(-1000, 1000, 5000) / 20,
            [0.05, 0.15, 0.25, 0.35, -0.25, -0.04, 1e10 + 0.05, -0.0],
        ]
    )
    for v in values:
        a, b = round(float(v), 1), py_round1(float(v))
        assert a == b and math.copysign(1, a) == math.copysign(1, b), v


@pytest.mark.parametrize(("splitter", "tol"), [("ebst", 0.05), ("tebst", 0.1)])
def test_known_split(splitter, tol):
    # TE-BST thresholds are values rounded to one decimal, hence its wider tolerance
    rng = np.random.default_rng(7)
    X = rng.random((3000, 3))
    y = np.where(X[:, 0] > 0.5, 3.0, -1.0) + rng.normal(0, 0.1, 3000)
    model = HoeffdingTreeRegressor(grace_period=100, leaf_prediction="mean", splitter=splitter)
    model.learn_many(X, y)
    s = model._tree
    root = s["meta_i"][1]
    assert s["node_i"][root, 0] == 0  # split feature x0
    assert abs(s["node_f"][root, 0] - 0.5) <= tol + 1e-12
    pred = model.predict_many(np.array([[0.1, 0.5, 0.5], [0.9, 0.5, 0.5]]))
    np.testing.assert_allclose(pred, [-1.0, 3.0], atol=0.1)


def test_block_size_one_equals_one_block():
    frame, y = nominal(2500, 8)
    whole = HoeffdingTreeRegressor(grace_period=40).step_many(frame, y)
    one = HoeffdingTreeRegressor(grace_period=40)
    rows = [one.step_many(frame.iloc[i : i + 1], y[i : i + 1])[0] for i in range(len(y))]
    np.testing.assert_array_equal(whole, np.array(rows))


def test_state_roundtrip_mid_stream():
    frame, y = nominal(3000, 9)
    a = HoeffdingTreeRegressor(grace_period=40)
    a.step_many(frame.iloc[:1500], y[:1500])
    b = HoeffdingTreeRegressor(grace_period=40)
    b.load_state(a.state_dict())
    np.testing.assert_array_equal(
        a.step_many(frame.iloc[1500:], y[1500:]), b.step_many(frame.iloc[1500:], y[1500:])
    )


def test_unseen_category_and_missing_at_prediction():
    frame, y = nominal(2000, 10)
    model = HoeffdingTreeRegressor(grace_period=50, leaf_prediction="mean").learn_many(frame, y)
    river = river_tree.HoeffdingTreeRegressor(grace_period=50, leaf_prediction="mean")
    for x, yi in zip(_rows(frame), y, strict=True):
        river.learn_one(x, float(yi))
    probe = pd.DataFrame({"colour": ["purple", "red"], "a": [np.nan, 1.0], "b": [0.5, 0.5]})
    expected = [
        river.predict_one({"colour": "purple", "b": 0.5}),
        river.predict_one(_rows(probe)[1]),
    ]
    np.testing.assert_allclose(model.predict_many(probe), expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"grace_period": 0}, "grace_period == 0"),
        ({"leaf_prediction": "nb"}, "leaf_prediction == 'nb'"),
        ({"splitter": "gaussian"}, "splitter == 'gaussian'"),
        ({"model_selector_decay": 1.5}, "model_selector_decay == 1.5"),
    ],
)
def test_bad_params(kw, msg):
    with pytest.raises(ParameterError, match=msg):
        HoeffdingTreeRegressor(**kw).learn_one({"x": 1.0}, 1.0)


def test_memory_limit_deactivates_deepest_leaves():
    rng = np.random.default_rng(11)
    X = rng.random((8000, 5))
    y = X @ np.arange(5.0) + np.sin(8 * X[:, 0])
    free = HoeffdingTreeRegressor(grace_period=50)
    free.learn_many(X, y)
    small = HoeffdingTreeRegressor(grace_period=50, max_size=0.02, memory_estimate_period=1000)
    pred = small.step_many(X, y)
    assert free.n_inactive_leaves == 0
    assert small.n_inactive_leaves > 0
    assert small.n_nodes < free.n_nodes
    assert np.isfinite(pred).all()
