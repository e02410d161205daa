"""GaussianNB against River's naive_bayes.GaussianNB on the same streams (the oracle)."""

from __future__ import annotations

import pickle
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from river import naive_bayes as river_nb

from tidal.base import learner_from_state
from tidal.naive_bayes import GaussianNB

ELEC2 = str(resources.files("tidal.datasets") / "elec2.csv.gz")  # bundled copy


def _river_probas(rows, labels, classes):
    """River's predict_proba_one before learning each row, as a matrix in ``classes`` order."""
    model = river_nb.GaussianNB()
    out = np.zeros((len(rows), len(classes)))
    for i, (x, y) in enumerate(zip(rows, labels)):
        p = model.predict_proba_one(x)
        for k, c in enumerate(classes):
            out[i, k] = p.get(c, 0.0)
        model.learn_one(x, y)
    return out


def _multiclass_stream(n=2000, seed=3):
    """Three classes that appear over time, a constant feature (variance 0) and a rare class."""
    rng = np.random.default_rng(seed)
    y = np.where(np.arange(n) < 50, "a", rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.45, 0.05]))
    y[60] = "b"
    centre = {"a": 0.0, "b": 1.5, "c": -2.0}
    X = pd.DataFrame(
        {
            "u": [centre[v] + rng.normal() for v in y],
            "v": [2 * centre[v] + rng.normal() * 3 for v in y],
            "const": np.full(n, 4.0),
            "step": np.round(rng.normal(size=n)),  # few distinct values: variance 0 early on
        }
    )
    return X, y


def test_predict_proba_matches_river_multiclass():
    X, y = _multiclass_stream()
    model = GaussianNB()
    P = model.step_proba_many(X, y)
    classes = list(model.classes_)
    assert classes == ["a", "b", "c"]
    R = _river_probas(X.to_dict(orient="records"), y, classes)
    assert np.abs(P - R).max() <= 1e-9
    # the first row has no prediction; "c" has probability 0 until it is learned
    first_c = int(np.argmax(y == "c"))
    assert P[0].sum() == 0
    assert (P[1 : first_c + 1, 2] == 0).all() and P[first_c + 1, 2] > 0


def test_predict_proba_matches_river_on_elec2():
    df = pd.read_csv(ELEC2, nrows=5000)
    X, y = df.drop(columns="up"), df["up"].to_numpy()
    model = GaussianNB()
    P = model.step_proba_many(X, y)
    R = _river_probas(X.to_dict(orient="records"), y, list(model.classes_))
    assert np.abs(P - R).max() <= 1e-9
    # and one call of predict_proba_one on the learned model
    x = X.iloc[0].to_dict()
    r = river_nb.GaussianNB()
    for row, label in zip(X.to_dict(orient="records"), y):
        r.learn_one(row, label)
    ours, theirs = model.predict_proba_one(x), r.predict_proba_one(x)
    assert ours.keys() == theirs.keys()
    assert max(abs(ours[k] - theirs[k]) for k in ours) <= 1e-9


def test_block_size_one_equals_one_block():
    X, y = _multiclass_stream(600)
    whole = GaussianNB().step_proba_many(X, y)
    m = GaussianNB()
    rows = [m.step_proba_many(X.iloc[i : i + 1], y[i : i + 1]) for i in range(len(y))]
    k = whole.shape[1]
    single = np.vstack([np.pad(r, ((0, 0), (0, k - r.shape[1]))) for r in rows])
    assert np.array_equal(whole, single)


def test_weight_two_equals_row_twice():
    X, y = _multiclass_stream(300)
    w = np.where(np.arange(300) % 7 == 0, 2.0, 1.0)
    weighted = GaussianNB().learn_many(X, y, w)
    idx = np.repeat(np.arange(300), w.astype(int))
    repeated = GaussianNB().learn_many(X.iloc[idx], y[idx])
    probe = X.iloc[:50]
    assert (
        np.abs(weighted.predict_proba_many(probe) - repeated.predict_proba_many(probe)).max()
        < 1e-12
    )
    assert weighted.class_counts_ == repeated.class_counts_


def test_state_roundtrip_and_pickle_midstream():
    X, y = _multiclass_stream(800)
    ref = GaussianNB()
    P_ref = ref.step_proba_many(X, y)
    m = GaussianNB().learn_many(X.iloc[:400], y[:400])
    restored = learner_from_state(m.state_dict())
    unpickled = pickle.loads(pickle.dumps(m))
    for other in (m, restored, unpickled):
        P = other.step_proba_many(X.iloc[400:], y[400:])
        assert np.array_equal(P, P_ref[400:])


def test_zero_variance_uses_river_epsilon():
    m = GaussianNB().learn_many({"x": [1.0, 1.0, 5.0]}, ["a", "a", "b"])
    r = river_nb.GaussianNB()
    for x, c in [(1.0, "a"), (1.0, "a"), (5.0, "b")]:
        r.learn_one({"x": x}, c)
    ours, theirs = m.predict_proba_one({"x": 1.0}), r.predict_proba_one({"x": 1.0})
    assert ours == pytest.approx(theirs, abs=1e-12) and ours["a"] == pytest.approx(2 / 3)


def test_cross_val_roc_auc_matches_scikit_learn_on_elec2():
    """``predict_proba[:, 1]`` is P(classes_[1]): scikit-learn's scorers rely on it (with
    first-seen classes Elec2's ``classes_`` was [1, 0] and the AUC came out as 1 - AUC)."""
    from sklearn.model_selection import cross_val_score
    from sklearn.naive_bayes import GaussianNB as SkGaussianNB

    df = pd.read_csv(ELEC2)
    X, y = df.drop(columns="up").to_numpy(), df["up"].to_numpy()
    ours = cross_val_score(GaussianNB(), X, y, scoring="roc_auc", cv=3)
    theirs = cross_val_score(SkGaussianNB(), X, y, scoring="roc_auc", cv=3)
    assert np.abs(ours - theirs).max() < 0.02, (ours, theirs)
    assert GaussianNB().fit(X[:10], y[:10]).classes_.tolist() == [0, 1]
