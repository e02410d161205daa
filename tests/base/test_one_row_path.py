"""learn_one / predict_one take a fast path for plain rows; it must agree with the general one."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from tidal.base import InputError, SchemaMismatchError, learner_from_state
from tidal.checks._utils import assert_same_state
from tidal.dummy import MajorityClassifier, RunningMeanRegressor

from .conftest import StrictMajority, StrictMean

ROWS = [
    {"a": 1.0, "b": 2},
    {"b": 3.5, "a": -1.0},  # another key order
    {"a": np.float64(0.5), "b": np.int64(4)},  # numpy scalars take the general path
    {"a": True, "b": 0.0},  # a bool is a number for the general path
]
LABELS = ["x", "y", "x", "z"]
WEIGHTS = [1.0, 2, np.float64(0.5), 0.0]


def test_learn_one_equals_learn_many_for_every_kind_of_row():
    one, many = StrictMajority(), StrictMajority()
    for x, y, w in zip(ROWS, LABELS, WEIGHTS):
        one.learn_one(x, y, w)
    many.learn_many([{"a": float(r["a"]), "b": float(r["b"])} for r in ROWS], LABELS, WEIGHTS)
    assert_same_state(one.state_dict(), many.state_dict(), "one vs many")
    for x in ROWS:
        assert one.predict_one(x) == many.predict_many([x])[0]


def test_regressor_targets_and_predictions():
    one = StrictMean()
    for x, y in zip(ROWS, [1.0, 2, np.float64(3.0), True]):
        one.learn_one(x, y)
    assert one.predict_one({"a": 0.0, "b": 0.0}) == pytest.approx(7.0 / 4, abs=0)
    assert type(one.predict_one({"a": 0.0, "b": 0.0})) is float


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"a": float("nan"), "b": 1.0}, "column 'a' row 0: expected a finite number, got NaN"),
        ({"a": 1.0, "b": float("inf")}, "column 'b' row 0: expected a finite number, got inf"),
        ({"a": "3", "b": 1.0}, "column 'a' row 0: expected a number, got '3'"),
        ({"a": None, "b": 1.0}, "column 'a' row 0: expected a finite number, got NaN"),
    ],
)
def test_bad_rows_still_refused_with_names(row, message):
    m = StrictMajority().learn_one({"a": 0.0, "b": 0.0}, "x")
    before = copy.deepcopy(m.state_dict())
    with pytest.raises(InputError, match=message):
        m.learn_one(row, "x")
    with pytest.raises(InputError, match=message):
        m.predict_one(row)
    assert_same_state(before, m.state_dict(), "state after a refused learn_one")


def test_bad_weight_or_target_refused():
    m = StrictMajority().learn_one({"a": 0.0}, "x")
    for w in (-1.0, float("nan"), float("inf")):
        with pytest.raises(InputError, match="sample weight row 0"):
            m.learn_one({"a": 0.0}, "x", w)
    r = StrictMean().learn_one({"a": 0.0}, 1.0)
    with pytest.raises(InputError, match="target row 0"):
        r.learn_one({"a": 0.0}, float("nan"))
    assert r.predict_one({"a": 0.0}) == 1.0


def test_extra_or_missing_key_refused():
    m = StrictMajority().learn_one({"a": 0.0, "b": 0.0}, "x")
    with pytest.raises(SchemaMismatchError, match="unexpected"):
        m.learn_one({"a": 0.0, "c": 0.0}, "x")
    with pytest.raises(SchemaMismatchError, match="missing"):
        m.learn_one({"a": 0.0}, "x")


def test_label_codes_survive_new_classes_restores_and_pickles():
    m = MajorityClassifier()
    for y in ["u", "v", "u", "w", "v", "v"]:
        m.learn_one({"a": 0.0}, y)
    np.testing.assert_array_equal(m._counts, [2.0, 3.0, 1.0])
    for copy_ in (learner_from_state(m.state_dict()), pickle.loads(pickle.dumps(m))):
        copy_.learn_one({"a": 0.0}, "w")
        copy_.learn_one({"a": 0.0}, "t")
        np.testing.assert_array_equal(copy_._counts, [2.0, 3.0, 2.0, 1.0])
    m.fit([{"a": 0.0}], ["w"])  # fit forgets the classes and their codes
    m.learn_one({"a": 0.0}, "u")
    assert m._labels == ["w", "u"] and m.classes_.tolist() == ["u", "w"]


def test_categorical_rows_take_the_general_path():
    m = MajorityClassifier().learn_one({"c": "red", "a": 1.0}, "x")
    m.learn_one({"c": "blue", "a": 2.0}, "y")
    assert m._categories.to_json() == {"c": ["red", "blue"]}
    r = RunningMeanRegressor().learn_one({"a": 1.0}, 2.0)
    assert r.predict_one({"a": float("nan")}) == 2.0  # handles missing values
