"""Categorical values: codes in order of appearance, unseen ones at prediction, atomic calls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tidal.base import CategoryEncoder, InputError, learner_from_state
from tidal.dummy import MajorityClassifier


def test_encoder_codes_and_unseen():
    enc = CategoryEncoder()
    codes = enc.encode("c", np.array(["b", "a", "b", None], dtype=object), learn=True)
    np.testing.assert_array_equal(codes[:3], [0.0, 1.0, 0.0])
    assert np.isnan(codes[3])
    np.testing.assert_array_equal(
        enc.encode("c", np.array(["z", "a"], dtype=object), False), [-1.0, 1.0]
    )
    assert enc.to_json() == {"c": ["b", "a"]}
    assert CategoryEncoder.from_json(enc.to_json()).codes == enc.codes


def test_first_call_with_a_text_column():
    m = MajorityClassifier().learn_one({"colour": "red", "size": 1.0}, "x")
    assert m.categorical_features_ == frozenset({"colour"})
    assert m._categories.to_json() == {"colour": ["red"]}


def test_categories_from_frames_and_numbers_stay_numeric():
    df = pd.DataFrame({"c": pd.Categorical(["u", "v"]), "n": [1.0, None]})
    m = MajorityClassifier().learn_many(df, [0, 1])
    assert m.categorical_features_ == frozenset({"c"})
    m2 = MajorityClassifier().learn_many([{"n": 1.0}, {"n": None}], [0, 1])
    assert m2.categorical_features_ == frozenset()


def test_a_refused_call_registers_no_category():
    m = MajorityClassifier().learn_many({"c": ["red", "blue"]}, ["x", "y"])
    with pytest.raises(InputError, match="sample weight row 1"):
        m.learn_many({"c": ["green", "pink"]}, ["x", "z"], [1.0, -1.0])
    assert m._categories.to_json() == {"c": ["red", "blue"]}
    assert m.classes_.tolist() == ["x", "y"]
    m.learn_one({"c": "pink"}, "x")
    assert m._categories.to_json() == {"c": ["red", "blue", "pink"]}


def test_categories_survive_a_state_round_trip():
    m = MajorityClassifier().learn_many({"c": ["red", "blue"]}, ["x", "y"])
    back = learner_from_state(m.state_dict())
    assert back._categories.codes == m._categories.codes
    assert back.categorical_features_ == m.categorical_features_


def test_fit_forgets_categories_and_classes():
    m = MajorityClassifier().fit({"c": ["red", "blue"]}, ["x", "y"])
    m.fit({"c": ["green"]}, ["z"])
    assert m._categories.to_json() == {"c": ["green"]}
    assert m.classes_.tolist() == ["z"]


def test_missing_category_refused_unless_handled():
    from tidal.base import Tags

    class CategoricalOnly(MajorityClassifier):
        _tags = Tags(task="multiclass", handles_categorical=True)

    m = CategoricalOnly().learn_many({"c": ["red", "blue"]}, ["x", "y"])
    with pytest.raises(
        InputError, match="column 'c' row 1: expected a finite number, got NaN"
    ) as e:
        m.learn_many({"c": ["red", None]}, ["x", "y"])
    assert (e.value.column, e.value.row) == ("c", 1)
    assert m._categories.to_json() == {"c": ["red", "blue"]}
    # a learner that handles missing values gets NaN for a missing category
    h = MajorityClassifier().learn_many({"c": ["red", None]}, ["x", "y"])
    assert h._categories.to_json() == {"c": ["red"]}
