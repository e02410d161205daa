"""Pipeline: River's Pipeline semantics row by row, computed block-wise."""

from __future__ import annotations

import pickle
from importlib import resources

import numpy as np
import pandas as pd
import pytest
import sklearn.base
import sklearn.pipeline
from river import linear_model as river_lm
from river import naive_bayes as river_nb
from river import preprocessing as river_pp

from tidal.base import (
    Classifier,
    InputError,
    ParameterError,
    Tags,
    Transformer,
    learner_from_state,
    read_state,
    save_state,
)
from tidal.compose import ClassifierPipeline, Pipeline, RegressorPipeline, TransformerPipeline
from tidal.linear_model import LinearRegression, LogisticRegression
from tidal.naive_bayes import GaussianNB
from tidal.preprocessing import OneHotEncoder, StandardScaler

ELEC2 = str(resources.files("tidal.datasets") / "elec2.csv.gz")  # bundled copy


@pytest.fixture(scope="module")
def elec2():
    df = pd.read_csv(ELEC2)
    return df.drop(columns="up"), df["up"].to_numpy()


def _river_run(model, rows, y, positive=1):
    proba, hits = np.empty(len(rows)), 0
    for i, (x, label) in enumerate(zip(rows, y)):
        p = model.predict_proba_one(x)
        proba[i] = p.get(positive, 0.0)
        hits += model.predict_one(x) == label
        model.learn_one(x, label)
    return proba, hits / len(rows)


def test_scaler_lr_matches_river_on_elec2(elec2):
    X, y = elec2
    model = StandardScaler() | LogisticRegression()
    P = model.step_proba_many(X, y)
    river = river_pp.StandardScaler() | river_lm.LogisticRegression()
    R, river_accuracy = _river_run(river, X.to_dict(orient="records"), y)
    assert np.abs(P[:, 1] - R).max() <= 1e-9
    ours = (StandardScaler() | LogisticRegression()).step_many(X, y)
    assert np.mean(ours == y) == river_accuracy
    assert round(river_accuracy, 4) == 0.8165


def test_scaler_gaussian_nb_matches_river(elec2):
    X, y = elec2[0].iloc[:4000], elec2[1][:4000]
    model = StandardScaler() | GaussianNB()
    P = model.step_proba_many(X, y)
    # GaussianNB is multiclass: codes in order of appearance (1 first), classes_ sorted
    assert list(model.classes_) == [0, 1] and model._labels == [1, 0]
    R, _ = _river_run(river_pp.StandardScaler() | river_nb.GaussianNB(), X.to_dict("records"), y)
    assert np.abs(P[:, 1] - R).max() <= 1e-9


def test_two_transformers_use_the_pair_order(elec2):
    """The second scaler learns what the first outputs after learning, predicts from before."""
    X, y = elec2[0].iloc[:3000], elec2[1][:3000]
    model = StandardScaler() | StandardScaler(with_std=False) | LogisticRegression()
    P = model.step_proba_many(X, y)
    river = (
        river_pp.StandardScaler()
        | river_pp.StandardScaler(with_std=False)
        | river_lm.LogisticRegression()
    )
    R, _ = _river_run(river, X.to_dict("records"), y)
    assert np.abs(P[:, 1] - R).max() <= 1e-9


class _RowCentre(Transformer):
    """A transformer with only ``_transform_arrays`` (no pair hook), written in plain Python."""

    _tags = Tags(task="transformer", unsupervised=True)

    def _init_state(self):
        self._n, self._mean = 0.0, np.zeros(self.n_features_in_)

    def _state_dict(self):
        return {"n": self._n, "mean": self._mean.copy()}

    def _load_state(self, state):
        self._n, self._mean = float(state["n"]), np.array(state["mean"])

    def _transform_arrays(self, X, learn):
        P, L = np.empty_like(X), np.empty_like(X)
        for i in range(X.shape[0]):
            P[i] = X[i] - self._mean
            if learn:
                self._n += 1.0
                self._mean = self._mean + (X[i] - self._mean) / self._n
            L[i] = X[i] - self._mean
        return P, L


def test_transformer_without_pair_hook_falls_back_row_by_row(elec2):
    X, y = elec2[0].iloc[:1500], elec2[1][:1500]
    ours = (StandardScaler() | _RowCentre() | GaussianNB()).step_proba_many(X, y)
    ref = (StandardScaler() | StandardScaler(with_std=False) | GaussianNB()).step_proba_many(X, y)
    assert np.abs(ours - ref).max() <= 1e-12


def test_nested_pipeline_equals_flat(elec2):
    X, y = elec2[0].iloc[:1500], elec2[1][:1500]
    flat = StandardScaler() | StandardScaler(with_std=False) | GaussianNB()
    inner = Pipeline(StandardScaler(with_std=False), GaussianNB())
    nested = Pipeline(StandardScaler(), inner)
    assert len(nested.steps) == 2
    P = nested.step_proba_many(X, y)
    assert np.array_equal(P, flat.step_proba_many(X, y))
    assert inner.steps[1].n_samples_seen_ == 1500
    restored = learner_from_state(nested.state_dict())
    assert np.array_equal(restored.predict_proba_many(X), flat.predict_proba_many(X))


def test_block_size_one_equals_block_size_4096(elec2):
    X, y = elec2[0].iloc[:5000], elec2[1][:5000]
    makers = (
        lambda: StandardScaler() | LogisticRegression(),
        lambda: StandardScaler() | GaussianNB(),
    )
    for make in makers:
        m = make()
        blocks = [m.step_proba_many(X.iloc[i : i + 4096], y[i : i + 4096]) for i in (0, 4096)]
        m = make()
        single = np.zeros((len(y), 2))
        for i in range(len(y)):
            r = m.step_proba_many(X.iloc[i : i + 1], y[i : i + 1])
            single[i, m.classes_.tolist()] = r[0]  # classes seen so far, in classes_ order
        assert np.array_equal(np.vstack(blocks), single)


def test_state_roundtrip_midstream(elec2, tmp_path):
    X, y = elec2[0].iloc[:3000], elec2[1][:3000]
    ref = StandardScaler() | LogisticRegression()
    full = ref.step_proba_many(X, y)
    m = StandardScaler() | LogisticRegression()
    m.learn_many(X.iloc[:1700], y[:1700])
    state = m.state_dict()
    from_dict = learner_from_state(state)
    from_file = learner_from_state(read_state(save_state(state, tmp_path / "p.npz")))
    loaded = (StandardScaler() | LogisticRegression()).load_state(state)
    unpickled = pickle.loads(pickle.dumps(m))
    assert from_dict.steps[0].n_samples_seen_ == 1700 == from_dict.n_samples_seen_
    for other in (from_dict, from_file, loaded, unpickled, m):
        assert type(other) is ClassifierPipeline
        assert np.array_equal(other.step_proba_many(X.iloc[1700:], y[1700:]), full[1700:])


def _states(model):
    return pickle.dumps([s.state_dict() for s in model.steps])


def test_nan_names_column_and_row_and_changes_nothing(elec2):
    X, y = elec2[0].iloc[:200].copy(), elec2[1][:200]
    model = StandardScaler() | LogisticRegression()
    model.learn_many(X.iloc[:100], y[:100])
    before = _states(model)
    bad = X.iloc[100:].copy()
    bad.iloc[37, 3] = np.nan
    with pytest.raises(InputError) as e:
        model.learn_many(bad, y[100:])
    assert (e.value.column, e.value.row) == (X.columns[3], 37)
    assert _states(model) == before and model.n_samples_seen_ == 100
    # first call: nothing gets fixed
    fresh = StandardScaler() | LogisticRegression()
    with pytest.raises(InputError):
        fresh.learn_many(bad, y[100:])
    assert not fresh.is_fitted and not any(s.is_fitted for s in fresh.steps)


def test_bad_label_rolls_back_new_categories():
    model = OneHotEncoder() | LogisticRegression()
    model.learn_many({"c": ["a", "b"], "x": [0.0, 1.0]}, [0, 1])
    before = _states(model)
    with pytest.raises(InputError, match="third class"):
        model.learn_many({"c": ["new", "a"], "x": [0.0, 1.0]}, [0, 7])
    assert _states(model) == before
    assert model.steps[0].categories_ == {"c": ["a", "b"]}
    with pytest.raises(InputError, match="weight"):
        model.learn_many({"c": ["newer"], "x": [0.0]}, [0], w=[-1.0])
    assert _states(model) == before
    fresh = OneHotEncoder() | LogisticRegression()
    with pytest.raises(InputError, match="third class"):
        fresh.learn_many({"c": ["a", "b", "c"], "x": [0.0, 1.0, 2.0]}, [0, 1, 2])
    assert not fresh.is_fitted and not any(s.is_fitted for s in fresh.steps)
    fresh.learn_many({"c": ["z"], "x": [0.0]}, [1])
    assert fresh.steps[0].categories_ == {"c": ["z"]}


def test_faces_tags_and_params():
    clf = StandardScaler() | GaussianNB()
    reg = StandardScaler() | LinearRegression()
    tr = StandardScaler() | OneHotEncoder()
    assert (type(clf), type(reg), type(tr)) == (
        ClassifierPipeline,
        RegressorPipeline,
        TransformerPipeline,
    )
    assert isinstance(clf, Pipeline) and isinstance(clf, Classifier)
    assert sklearn.base.is_classifier(clf) and sklearn.base.is_regressor(reg)
    assert (StandardScaler() | LogisticRegression())._get_tags().task == "binary"
    assert (OneHotEncoder() | GaussianNB()).tags.handles_categorical
    # a | b | c is flat; names, nested params, set_params
    p = StandardScaler() | StandardScaler(with_std=False) | GaussianNB()
    assert len(p.steps) == 3 and list(p.named_steps) == [
        "StandardScaler",
        "StandardScaler2",
        "GaussianNB",
    ]
    assert p.get_params()["StandardScaler2__with_std"] is False
    p.set_params(StandardScaler__with_std=False)
    assert p.steps[0].with_std is False
    with pytest.raises(ValueError, match="invalid parameter"):
        p.set_params(nope=1)
    with pytest.raises(ParameterError, match="not a transformer"):
        Pipeline(GaussianNB(), GaussianNB()).learn_one({"x": 1.0}, 1)
    # swapping the final step switches the face; fitted steps that still fit are kept
    p.learn_many({"x": [0.0, 1.0, 3.0]}, [0, 1, 1])
    p.set_params(GaussianNB=LinearRegression())
    assert type(p) is RegressorPipeline and not p.is_fitted and p.steps[0].is_fitted
    p.learn_many({"x": [5.0]}, [2.5])
    assert p.steps[0].n_samples_seen_ == 4 and p.steps[2].n_samples_seen_ == 1


def test_clone_gives_unfitted_copy_with_same_params():
    p = Pipeline(("scale", StandardScaler(with_std=False)), ("lr", LogisticRegression(l2=0.1)))
    p.learn_many({"x": [0.0, 1.0, 2.0]}, [0, 1, 1])
    for c in (sklearn.base.clone(p), p.clone()):
        assert type(c) is ClassifierPipeline and not c.is_fitted
        assert c.get_params()["scale__with_std"] is False and c.get_params()["lr__l2"] == 0.1
        assert c.steps[0][1] is not p.steps[0][1] and not c.steps[0][1].is_fitted


def test_transformer_and_regressor_pipelines(elec2):
    X = elec2[0].iloc[:2000]
    # transformers only: the second scaler learns the first one's post-learning outputs
    tr = StandardScaler() | StandardScaler(with_std=False)
    out = tr.learn_many(X).transform_many(X.iloc[:5])
    first = StandardScaler()
    first_out = first._transform_arrays(first._matrix(X, True), True)[1]
    centre = first_out.mean(axis=0)
    expected = first.transform_many(X.iloc[:5]) - centre
    assert np.abs(out - expected).max() <= 1e-9
    assert tr.transform_one(X.iloc[0].to_dict()).keys() == set(X.columns)
    # regressor: River's StandardScaler | LinearRegression on the same stream
    target = X["nswdemand"].to_numpy()
    feats = X.drop(columns="nswdemand")
    ours = (StandardScaler() | LinearRegression()).step_many(feats, target)
    river = river_pp.StandardScaler() | river_lm.LinearRegression()
    theirs = []
    for x, t in zip(feats.to_dict("records"), target):
        theirs.append(river.predict_one(x))
        river.learn_one(x, t)
    assert np.abs(ours - np.array(theirs)).max() <= 1e-9


class _Throwaway(Classifier):
    """Remembers the sign of the last first feature it learned (no numba: any learner works)."""

    def _init_state(self):
        self._last = 0.0

    def _state_dict(self):
        return {"last": self._last}

    def _load_state(self, state):
        self._last = float(state["last"])

    def _step_arrays(self, X_pred, X_learn, y, w, out):
        for i in range(out.shape[0]):
            if X_pred is not None and out.shape[1] == 2:
                out[i, int(self._last > 0)] = 1.0
            if X_learn is not None:
                self._last = X_learn[i, 0]


def test_any_classifier_can_be_the_final_step():
    X = {"x": [1.0, 5.0, 3.0, -1.0]}
    p = StandardScaler() | _Throwaway()
    got = p.step_many(X, ["a", "b", "a", "b"])
    # it learns x as scaled after learning each row: 0 (no variance yet), +1, 0, then -1.4
    assert got.tolist() == ["a", "a", "b", "a"]
    assert p.steps[1]._last == pytest.approx((-1.0 - 2.0) / np.sqrt(5.0))


def test_inside_a_scikit_learn_pipeline(elec2):
    X, y = elec2[0].iloc[:1000], elec2[1][:1000]
    sk = sklearn.pipeline.Pipeline([("scale", StandardScaler()), ("nb", GaussianNB())])
    sk.fit(X, y)
    ours = (StandardScaler() | GaussianNB()).fit(X, y)
    # scikit-learn fits the scaler on everything, then the model on the transformed rows
    scaler = StandardScaler().fit(X)
    direct = GaussianNB().fit(scaler.transform(X), y)
    assert np.array_equal(sk.predict_proba(X), direct.predict_proba(scaler.transform(X)))
    assert sk.score(X, y) > 0.6 and ours.score(X, y) > 0.6
    cloned = sklearn.base.clone(sk)
    assert not cloned.named_steps["nb"].is_fitted
    sk_lr = sklearn.pipeline.Pipeline([("m", StandardScaler() | LogisticRegression())])
    assert sklearn.base.is_classifier(sk_lr)
    assert sk_lr.fit(X, y).predict(X.iloc[:3]).shape == (3,)
