"""The MOA-style defaults of the Hoeffding trees, on hand-built streams whose answer is known.

The expected probabilities are computed here from the stream itself (class priors, sample means
and variances), with MOA's and River's naive Bayes rules written out, not copied from a run.
"""

import math

import numpy as np
import pandas as pd
import pytest

from tidal._kernels import tree_hoeffding as K
from tidal.base import ParameterError, learner_from_state
from tidal.tree import HoeffdingAdaptiveTreeClassifier, HoeffdingTreeClassifier

# one leaf, naive Bayes always: the leaf's prediction is naive Bayes and nothing else
ONE_LEAF = {"grace_period": 10_000, "leaf_prediction": "nb"}


def gauss_pdf(x: float, sample: np.ndarray) -> float:
    mean, var = sample.mean(), sample.var(ddof=1)
    return math.exp(-((x - mean) ** 2) / (2 * var)) / math.sqrt(2 * math.pi * var)


def proba(model: HoeffdingTreeClassifier, row: dict) -> dict:
    p = model.predict_proba_many(pd.DataFrame([row]))[0]
    return dict(zip(model.classes_, p, strict=True))


def constant_vs_spread() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Class a always has x = 0 (zero variance); class b spreads over [0.2, 1]."""
    b = np.linspace(0.2, 1.0, 20)
    x = np.concatenate([np.zeros(80), b])
    y = np.array(["a"] * 80 + ["b"] * 20)
    order = np.random.default_rng(0).permutation(100)
    order = np.concatenate([[0, 99], order[(order != 0) & (order != 99)]])  # a first, then b
    return pd.DataFrame({"x": x[order]}), y[order], b


@pytest.mark.parametrize("nb_likelihood", ["moa", "river"])
def test_zero_variance_class_with_another_value(nb_likelihood):
    frame, y, b = constant_vs_spread()
    m = HoeffdingTreeClassifier(nb_likelihood=nb_likelihood, **ONE_LEAF).learn_many(frame, y)
    got = proba(m, {"x": 0.5})
    if nb_likelihood == "moa":
        # MOA: a never varied and 0.5 is not its value, so P(x = 0.5 | a) = 0
        assert got == {"a": 0.0, "b": 1.0}
    else:
        # River skips a feature whose estimate has no variance: a keeps its prior
        score_a, score_b = 0.8, 0.2 * gauss_pdf(0.5, b)
        assert got["a"] == pytest.approx(score_a / (score_a + score_b), rel=1e-9)
        assert got["a"] > 0.5


@pytest.mark.parametrize("nb_likelihood", ["moa", "river"])
def test_zero_variance_class_at_its_value(nb_likelihood):
    # at a's own value MOA's likelihood is 1, which is River's reading too
    frame, y, b = constant_vs_spread()
    m = HoeffdingTreeClassifier(nb_likelihood=nb_likelihood, **ONE_LEAF).learn_many(frame, y)
    score_a, score_b = 0.8, 0.2 * gauss_pdf(0.0, b)
    assert proba(m, {"x": 0.0})["a"] == pytest.approx(score_a / (score_a + score_b), rel=1e-9)


@pytest.mark.parametrize("nb_likelihood", ["moa", "river"])
def test_class_without_an_estimate_of_the_feature(nb_likelihood):
    # class b's rows all miss x: the leaf counts b but has no Gaussian of x for it
    rng = np.random.default_rng(1)
    xa = rng.normal(0.3, 0.1, 60)
    frame = pd.DataFrame({"x": np.concatenate([xa, np.full(40, np.nan)])})
    y = np.array(["a"] * 60 + ["b"] * 40)
    m = HoeffdingTreeClassifier(nb_likelihood=nb_likelihood, **ONE_LEAF).learn_many(frame, y)
    got = proba(m, {"x": 0.3})
    if nb_likelihood == "moa":
        assert got == {"a": 1.0, "b": 0.0}
    else:
        score_a, score_b = 0.6 * gauss_pdf(0.3, xa), 0.4
        assert got["b"] == pytest.approx(score_b / (score_a + score_b), rel=1e-9)
    # a missing value is skipped by both rules: the priors
    assert proba(m, {"x": np.nan})["b"] == pytest.approx(0.4, rel=1e-12)


def test_every_class_impossible_falls_back_to_the_counts():
    # both classes constant, at other values than the query: MOA gives every class 0
    frame = pd.DataFrame({"x": [0.0] * 30 + [1.0] * 10})
    y = np.array(["a"] * 30 + ["b"] * 10)
    m = HoeffdingTreeClassifier(nb_likelihood="moa", **ONE_LEAF).learn_many(frame, y)
    assert proba(m, {"x": 0.5}) == pytest.approx({"a": 0.75, "b": 0.25}, rel=1e-12)


@pytest.mark.parametrize("nb_likelihood", ["moa", "river"])
def test_categories_laplace_smoothed_by_moa(nb_likelihood):
    # codes by order of appearance: red 0, blue 1; a: 6 red 2 blue, b: 4 blue
    colour = ["red"] * 6 + ["blue"] * 2 + ["blue"] * 4
    frame = pd.DataFrame({"colour": np.array(colour, dtype=object)})
    y = np.array(["a"] * 8 + ["b"] * 4)
    m = HoeffdingTreeClassifier(nb_likelihood=nb_likelihood, **ONE_LEAF).learn_many(frame, y)
    if nb_likelihood == "moa":
        # (count + 1) / (class total + values in the class's table: b's reaches blue, 2)
        score_a = 8 / 12 * (6 + 1) / (8 + 2)
        score_b = 4 / 12 * (0 + 1) / (4 + 2)
    else:
        # raw frequencies; b never saw red (frequency 0), so River skips the feature for b
        score_a, score_b = 8 / 12 * 6 / 8, 4 / 12
    got = proba(m, {"colour": "red"})
    assert got["a"] == pytest.approx(score_a / (score_a + score_b), rel=1e-9)


def first_split_row(model: HoeffdingTreeClassifier, X: np.ndarray, y: np.ndarray) -> int:
    step = model.grace_period
    for end in range(step, len(y) + 1, step):
        model.learn_many(X[end - step : end], y[end - step : end])
        if model.n_nodes > 1:
            return end
    return len(y) + 1


def test_default_delta_splits_sooner_on_the_same_feature():
    rng = np.random.default_rng(4)
    X = rng.random((6000, 3))
    y = (X[:, 1] > 0.5).astype(int)
    y = np.where(rng.random(6000) < 0.2, 1 - y, y)  # noisy: the bound decides when
    ours = HoeffdingTreeClassifier(grace_period=50)
    river = HoeffdingTreeClassifier(grace_period=50, **HoeffdingTreeClassifier.river_params)
    soon, late = first_split_row(ours, X, y), first_split_row(river, X, y)
    # Hoeffding bound sqrt(ln(1 / delta) / 2n): n grows with ln(1 / delta), 1e-3 vs 1e-7
    assert soon < late <= len(y)
    for m in (ours, river):
        root = int(m._tree["meta_i"][K.MI_ROOT])
        assert m._tree["node_i"][root, K.NI_FEAT] == 1
        assert abs(m._tree["node_f"][root, K.NF_VALUE] - 0.5) < 1 / 11


def test_river_params_are_the_river_defaults():
    river_tree = pytest.importorskip("river.tree")
    for name, value in HoeffdingTreeClassifier.river_params.items():
        if name == "nb_likelihood":
            continue  # River has one naive Bayes, it has no such parameter
        assert getattr(river_tree.HoeffdingTreeClassifier(), name) == value
        assert getattr(river_tree.HoeffdingAdaptiveTreeClassifier(), name) == value
        assert getattr(HoeffdingTreeClassifier(), name) != value


@pytest.mark.parametrize("cls", [HoeffdingTreeClassifier, HoeffdingAdaptiveTreeClassifier])
def test_bad_nb_likelihood_is_named(cls):
    with pytest.raises(ParameterError, match=r"nb_likelihood == 'weka', must be one of"):
        cls(nb_likelihood="weka").learn_one({"x": 1.0}, 1)


def test_elec2_default_accuracy_reaches_moa(elec2):
    # River 0.773, MOA (CapyMOA) 0.789 on this file: the better of the two minus 1 point
    X, y = elec2.drop(columns="up"), elec2["up"].to_numpy()
    assert (HoeffdingTreeClassifier().step_many(X, y) == y).mean() >= 0.779


@pytest.mark.parametrize("cls", [HoeffdingTreeClassifier, HoeffdingAdaptiveTreeClassifier])
def test_state_from_before_nb_likelihood_keeps_river_naive_bayes(cls):
    rng = np.random.default_rng(5)
    X = rng.random((1500, 2))
    X[:, 1] = np.round(X[:, 1])  # few distinct values: the two naive Bayes rules disagree
    y = ((X[:, 0] > 0.5) ^ (X[:, 1] > 0.5)).astype(int)
    kw = {"grace_period": 100, "leaf_prediction": "nb"}
    old = cls(**kw, nb_likelihood="river").learn_many(X[:1000], y[:1000])
    state = old.state_dict()
    del state["params"]["nb_likelihood"]  # what a snapshot written before the parameter holds
    restored = learner_from_state(state)
    assert restored.nb_likelihood == "river"
    expected = old.step_proba_many(X[1000:], y[1000:])
    np.testing.assert_array_equal(restored.step_proba_many(X[1000:], y[1000:]), expected)
    # the rule matters on this stream: restored with today's default, the trees continue apart
    state["params"]["nb_likelihood"] = "moa"
    other = learner_from_state(state).step_proba_many(X[1000:], y[1000:])
    assert np.abs(np.asarray(other) - np.asarray(expected)).max() > 1e-3
