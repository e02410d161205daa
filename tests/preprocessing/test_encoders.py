"""OneHotEncoder and FeatureHasher on a stream whose categories appear over time.

Oracles: River (its OneHotEncoder and LogisticRegression, row by row) and scikit-learn's
FeatureHasher.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from river import compose as river_compose
from river import linear_model as river_lm
from river import preprocessing as river_pp
from sklearn.feature_extraction import FeatureHasher as SkHasher

from tidal.base import InputError, ParameterError, learner_from_state
from tidal.linear_model import LogisticRegression
from tidal.preprocessing import FeatureHasher, OneHotEncoder

N = 1500


def _stream(n=N, seed=11):
    """A new city every ~100 rows (first seen mid-block); the label depends on city and x."""
    rng = np.random.default_rng(seed)
    n_seen = 1 + np.arange(n) // 100
    city_id = np.array([rng.integers(0, k) for k in n_seen])
    city_id[np.arange(100, n, 100)] = n_seen[np.arange(100, n, 100)] - 1  # first appearance
    effect = rng.normal(size=n_seen.max() + 1) * 2
    x = rng.normal(size=n)
    y = (effect[city_id] + x + rng.normal(size=n) * 0.5 > 0).astype(int)
    X = pd.DataFrame({"x": x, "city": [f"city{c}" for c in city_id], "z": rng.normal(size=n)})
    return X, y


def _river_lr_probas(model, rows, y):
    out = np.empty(len(rows))
    for i, (row, label) in enumerate(zip(rows, y)):
        out[i] = model.predict_proba_one(row).get(1, 0.0)
        model.learn_one(row, label)
    return out


def _river_one_hot_lr():
    one_hot = river_compose.Select("city") | river_pp.OneHotEncoder()
    return (river_compose.Discard("city") + one_hot) | river_lm.LogisticRegression()


def test_one_hot_lr_matches_river():
    X, y = _stream()
    model = OneHotEncoder(max_categories=64) | LogisticRegression()
    P = model.step_proba_many(X, y)[:, 1]
    R = _river_lr_probas(_river_one_hot_lr(), X.to_dict(orient="records"), y)
    assert np.abs(P - R).max() <= 1e-9


def test_other_bucket_is_river_with_later_categories_renamed():
    X, y = _stream()
    k = 3
    first = list(dict.fromkeys(X["city"]))[:k]
    renamed = X.assign(city=[c if c in first else "other" for c in X["city"]])
    model = OneHotEncoder(max_categories=k) | LogisticRegression()
    P = model.step_proba_many(X, y)[:, 1]
    R = _river_lr_probas(_river_one_hot_lr(), renamed.to_dict(orient="records"), y)
    assert np.abs(P - R).max() <= 1e-9
    assert model.steps[0].categories_ == {"city": first}
    # a city never seen goes to "other" once the named columns are taken
    out = model.steps[0].transform_one({"x": 0.0, "city": "atlantis", "z": 0.0})
    assert out["city[other]"] == 1.0 and sum(out[f"city[{j}]"] for j in range(k)) == 0.0


def test_one_hot_block_size_one_equals_one_block():
    X, y = _stream(700)
    whole = (OneHotEncoder(max_categories=4) | LogisticRegression()).step_proba_many(X, y)
    m = OneHotEncoder(max_categories=4) | LogisticRegression()
    single = np.vstack([m.step_proba_many(X.iloc[i : i + 1], y[i : i + 1]) for i in range(700)])
    assert np.array_equal(whole, single)


def test_one_hot_state_roundtrip_keeps_categories():
    X, y = _stream(600)
    ref = OneHotEncoder(max_categories=5) | LogisticRegression()
    full = ref.step_proba_many(X, y)
    m = OneHotEncoder(max_categories=5) | LogisticRegression()
    m.learn_many(X.iloc[:350], y[:350])
    restored = learner_from_state(m.state_dict())
    assert np.array_equal(restored.step_proba_many(X.iloc[350:], y[350:]), full[350:])


def test_one_hot_rejects_bad_input_without_registering_categories():
    enc = OneHotEncoder().learn_many({"c": ["a", "b"], "x": [1.0, 2.0]})
    with pytest.raises(InputError) as e:
        enc.learn_many({"c": ["new", "b"], "x": [1.0, np.inf]})
    assert (e.value.column, e.value.row) == ("x", 1)
    assert enc.categories_ == {"c": ["a", "b"]}
    with pytest.raises(ParameterError, match="max_categories"):
        OneHotEncoder(max_categories=0).learn_one({"c": "a"})


@pytest.mark.parametrize("make", [OneHotEncoder, FeatureHasher])
def test_missing_category_is_refused_with_column_and_row(make):
    enc = make().learn_many({"c": ["a", "b"], "x": [0.0, 1.0]})
    before = pickle.dumps(enc.state_dict())
    with pytest.raises(InputError) as e:
        enc.learn_many({"c": np.array(["new", None], dtype=object), "x": [0.0, 1.0]})
    assert (e.value.column, e.value.row) == ("c", 1)
    assert pickle.dumps(enc.state_dict()) == before


def _rows(X):
    return X.to_dict(orient="records")


@pytest.mark.parametrize("alternate_sign", [True, False])
def test_hasher_matches_sklearn(alternate_sign):
    X, _ = _stream(500)
    ours = FeatureHasher(n_features=16, alternate_sign=alternate_sign).learn_many(X.iloc[:10])
    sk = SkHasher(n_features=16, input_type="dict", alternate_sign=alternate_sign)
    expected = sk.transform(_rows(X)).toarray()
    assert np.abs(ours.transform_many(X) - expected).max() <= 1e-12  # unseen cities hash too


def test_hasher_is_the_same_in_another_process():
    code = (
        "from tidal.preprocessing import FeatureHasher\n"
        "h = FeatureHasher(n_features=64).learn_one({'city': 'Oslo', 'x': 1.5})\n"
        "print(h.transform_many({'city': ['Oslo', 'Lima'], 'x': [1.5, -2.0]}).tolist())\n"
    )
    outs = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        outs.add(run.stdout)
    assert len(outs) == 1
    here = FeatureHasher(n_features=64).learn_one({"city": "Oslo", "x": 1.5})
    assert (
        str(here.transform_many({"city": ["Oslo", "Lima"], "x": [1.5, -2.0]}).tolist()) + "\n"
        in outs
    )


def test_hasher_lr_matches_river_on_hashed_rows():
    X, y = _stream()
    model = FeatureHasher(n_features=32) | LogisticRegression()
    P = model.step_proba_many(X, y)[:, 1]
    H = SkHasher(n_features=32, input_type="dict").transform(_rows(X)).toarray()
    rows = [{f"h{k}": v for k, v in enumerate(r)} for r in H.tolist()]
    R = _river_lr_probas(river_lm.LogisticRegression(), rows, y)
    assert np.abs(P - R).max() <= 1e-9
    acc = np.mean((P > 0.5) == y)
    assert acc > 0.6  # the categorical signal gets through
