"""StandardScaler against River's preprocessing.StandardScaler (the oracle)."""

from __future__ import annotations

import pickle
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from river import preprocessing as river_pp

from tidal.base import InputError, ParameterError, learner_from_state
from tidal.preprocessing import StandardScaler

ELEC2 = str(resources.files("tidal.datasets") / "elec2.csv.gz")  # bundled copy


def _stream(n=1500, seed=5):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(3.0, 2.0, n),
            "b": rng.exponential(1.0, n) * 1e3,
            "const": np.full(n, -1.5),  # variance stays 0: River outputs 0.0
            "late": np.r_[np.zeros(100), rng.normal(size=n - 100)],
        }
    )


def _river_pair(rows, with_std):
    """Per row: transform before learning (prediction) and after (what the next step learns)."""
    scaler = river_pp.StandardScaler(with_std=with_std)
    before, after = [], []
    for x in rows:
        before.append(list(scaler.transform_one(x).values()))
        scaler.learn_one(x)
        after.append(list(scaler.transform_one(x).values()))
    return np.array(before), np.array(after)


@pytest.mark.parametrize("with_std", [True, False])
def test_pair_matches_river(with_std):
    X = _stream()
    scaler = StandardScaler(with_std=with_std)
    M = scaler._matrix(X, learn=True)
    P, L = scaler._transform_arrays(M, learn=True)
    R_before, R_after = _river_pair(X.to_dict(orient="records"), with_std)
    assert np.abs(P - R_before).max() <= 1e-9
    assert np.abs(L - R_after).max() <= 1e-9
    if with_std:
        assert (L[:, 2] == 0.0).all()


def test_transform_one_matches_river_on_elec2():
    df = pd.read_csv(ELEC2, nrows=3000).drop(columns="up")
    ours, theirs = StandardScaler(), river_pp.StandardScaler()
    worst = 0.0
    for x in df.to_dict(orient="records"):
        ours.learn_one(x)
        theirs.learn_one(x)
        a, b = ours.transform_one(x), theirs.transform_one(x)
        assert a.keys() == b.keys()
        worst = max(worst, max(abs(a[k] - b[k]) for k in a))
    assert worst <= 1e-9


def test_block_size_one_equals_one_block():
    X = _stream(500)
    whole = StandardScaler()
    P, L = whole._transform_arrays(whole._matrix(X, True), True)
    single = StandardScaler()
    rows = [
        single._transform_arrays(single._matrix(X.iloc[i : i + 1], True), True) for i in range(500)
    ]
    assert np.array_equal(P, np.vstack([r[0] for r in rows]))
    assert np.array_equal(L, np.vstack([r[1] for r in rows]))
    assert np.array_equal(whole.transform_many(X), single.transform_many(X))


def test_state_roundtrip_and_pickle_midstream():
    X = _stream(400)
    m = StandardScaler().learn_many(X.iloc[:200])
    copies = [learner_from_state(m.state_dict()), pickle.loads(pickle.dumps(m))]
    m.learn_many(X.iloc[200:])
    for c in copies:
        c.learn_many(X.iloc[200:])
        assert np.array_equal(c.transform_many(X), m.transform_many(X))
    assert m.mean_["a"] == pytest.approx(X["a"].mean())
    assert m.var_["a"] == pytest.approx(X["a"].var(ddof=0))


def test_nan_is_rejected_without_learning():
    m = StandardScaler().learn_many({"a": [1.0, 2.0], "b": [0.0, 1.0]})
    before = m.state_dict()
    with pytest.raises(InputError) as e:
        m.learn_many({"a": [1.0, 3.0, 4.0], "b": [0.0, np.nan, 1.0]})
    assert e.value.column == "b" and e.value.row == 1
    assert all(
        np.array_equal(before["state"][k], m.state_dict()["state"][k]) for k in before["state"]
    )


def test_bad_parameter():
    with pytest.raises(ParameterError, match="with_std"):
        StandardScaler(with_std="yes").learn_one({"a": 1.0})


def test_constant_feature_below_the_mean_is_exactly_positive_zero():
    scaler = StandardScaler().learn_many({"c": np.full(5, 3.0)})
    out = scaler.transform_many({"c": np.array([2.0])})
    assert out[0, 0] == 0.0 and not np.signbit(out[0, 0])


def test_large_offset_small_spread_stays_within_1e9_of_river():
    xs = 1e6 + 1e-3 * np.random.default_rng(0).normal(size=500)
    ours, river = StandardScaler(), river_pp.StandardScaler()
    for x in xs:
        river.learn_one({"x": x})
        expected = river.transform_one({"x": x})["x"]
        ours.learn_one({"x": x})
        assert abs(ours.transform_one({"x": x})["x"] - expected) <= 1e-9
