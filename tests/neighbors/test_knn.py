from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tidal.base import ParameterError, learner_from_state
from tidal.neighbors import KNNClassifier, KNNRegressor

river_neighbors = pytest.importorskip("river.neighbors")
ELEC2 = Path(str(resources.files("tidal.datasets") / "elec2.csv.gz"))  # bundled copy


@pytest.fixture(scope="module")
def elec2_head() -> pd.DataFrame:
    import tidal

    for path in (ELEC2, Path(tidal.__file__).parent / "datasets" / "elec2.csv.gz"):
        if path.exists():
            return pd.read_csv(path).iloc[:2500]
    pytest.skip("Elec2 is not available")


@pytest.mark.parametrize("params", [{}, {"weighted": False}, {"softmax": True}, {"n_neighbors": 1}])
def test_classifier_matches_river_lazy_search(elec2_head, params):
    X = elec2_head.drop(columns="up")
    y = elec2_head["up"].to_numpy()
    m = KNNClassifier(window_size=300, **params)
    P = m.step_proba_many(X, y)
    engine = river_neighbors.LazySearch(window_size=300)
    rm = river_neighbors.KNNClassifier(engine=engine, **params)
    labels = list(m.classes_)
    R = np.zeros_like(P)
    for i, x in enumerate(X.to_dict(orient="records")):
        p = rm.predict_proba_one(x)
        R[i] = [p.get(lab, 0.0) for lab in labels]
        rm.learn_one(x, y[i])
    assert np.abs(P - R).max() <= 1e-9
    assert m.n_rows_in_window == 300


@pytest.mark.parametrize("method", ["mean", "median", "weighted_mean"])
def test_regressor_matches_river_lazy_search(elec2_head, method):
    X = elec2_head.drop(columns=["up", "nswprice"])
    y = elec2_head["nswprice"].to_numpy()
    m = KNNRegressor(window_size=300, aggregation_method=method)
    P = m.step_many(X, y)
    rm = river_neighbors.KNNRegressor(
        engine=river_neighbors.LazySearch(window_size=300), aggregation_method=method
    )
    R = np.zeros(len(y))
    for i, x in enumerate(X.to_dict(orient="records")):
        R[i] = rm.predict_one(x)
        rm.learn_one(x, y[i])
    assert np.abs(P - R).max() <= 1e-9


def test_only_the_most_recent_window_is_used():
    m = KNNClassifier(n_neighbors=3, window_size=5)
    m.learn_many(np.zeros((10, 1)), ["old"] * 10)
    m.learn_many(np.full((5, 1), 10.0), ["new"] * 5)
    assert m.n_rows_in_window == 5
    assert m.predict_one({"x0": 0.0}) == "new"
    assert m.predict_proba_one({"x0": 0.0})["old"] == 0.0


def test_exact_match_decides_alone_and_votes_weight_by_inverse_distance():
    m = KNNClassifier(n_neighbors=3).learn_many([[0.0], [1.0], [3.0]], ["a", "b", "b"])
    assert m.predict_proba_one({"x0": 1.0}) == {"a": 0.0, "b": 1.0}
    p = m.predict_proba_one({"x0": 0.5})  # distances 0.5, 0.5, 2.5: votes 2 (a), 2 + 0.4 (b)
    assert p["a"] == pytest.approx(2 / 4.4) and p["b"] == pytest.approx(2.4 / 4.4)
    r = KNNRegressor(n_neighbors=2, aggregation_method="weighted_mean")
    r.learn_many([[0.0], [3.0]], [1.0, 4.0])
    assert r.predict_one({"x0": 1.0}) == pytest.approx((1 / 1 + 4 / 2) / (1 + 1 / 2))


@pytest.mark.parametrize("cls", [KNNClassifier, KNNRegressor])
def test_block_of_one_equals_one_block_and_state_round_trip(elec2_head, cls):
    X = elec2_head.drop(columns="up").to_numpy()[:800]
    y = elec2_head["up"].to_numpy()[:800]
    a, b = cls(window_size=100), cls(window_size=100)
    big = a.step_many(X, y)
    ones = np.concatenate([b.step_many(X[i : i + 1], y[i : i + 1]) for i in range(len(y))])
    assert list(big) == list(ones)
    c = learner_from_state(a.state_dict())
    np.testing.assert_array_equal(a.predict_many(X[:50]), c.predict_many(X[:50]))
    np.testing.assert_array_equal(a.step_many(X[:50], y[:50]), c.step_many(X[:50], y[:50]))


@pytest.mark.parametrize(
    "learner, message",
    [
        (KNNClassifier(n_neighbors=0), "n_neighbors == 0, must be an integer >= 1"),
        (KNNClassifier(window_size=2.5), "window_size == 2.5"),
        (KNNRegressor(aggregation_method="max"), "aggregation_method == 'max'"),
    ],
)
def test_bad_parameters_are_refused(learner, message):
    with pytest.raises(ParameterError) as err:
        learner.learn_one({"x": 1.0}, 1)
    assert message in str(err.value)
