"""Label encoding: codes in order of first appearance, 0/1 and bool for binary learners."""

from __future__ import annotations

import numpy as np
import pytest

from tidal.base import InputError
from tidal.dummy import MajorityClassifier, NoChangeClassifier

from .conftest import BinaryMajority

X3 = {"a": [0.0, 0.0, 0.0]}


def test_classes_sorted_codes_in_order_of_first_appearance():
    m = MajorityClassifier().learn_many(X3, ["b", "a", "b"])
    assert m.classes_.tolist() == ["a", "b"]  # scikit-learn's order
    np.testing.assert_array_equal(m.predict_proba_many({"a": [0.0]}), [[1 / 3, 2 / 3]])
    np.testing.assert_array_equal(m.predict_proba({"a": [0.0]}), [[1 / 3, 2 / 3]])
    # the River face and the internal codes keep first-seen order
    assert list(m.predict_proba_one({"a": 0.0})) == ["b", "a"]
    assert m._labels == ["b", "a"]


def test_a_new_class_mid_stream_is_sorted_in_and_state_round_trips():
    from tidal.base import learner_from_state

    m = MajorityClassifier()
    p1 = m.step_proba_many({"a": [0.0] * 3}, [5, 9, 9])
    assert m.classes_.tolist() == [5, 9] and p1.shape == (3, 2)
    p2 = m.step_proba_many({"a": [0.0] * 2}, [1, 1])  # a class smaller than both
    assert m.classes_.tolist() == [1, 5, 9]
    np.testing.assert_allclose(p2, [[0, 1 / 3, 2 / 3], [1 / 4, 1 / 4, 2 / 4]])
    back = learner_from_state(m.state_dict())
    assert back.classes_.tolist() == [1, 5, 9]
    np.testing.assert_array_equal(back.predict_proba_many(X3), m.predict_proba_many(X3))
    assert back.predict_proba_one({"a": 0.0}) == m.predict_proba_one({"a": 0.0})


def test_a_state_saved_by_the_first_seen_release_still_loads():
    """States hold the labels in first-seen order (the order of the codes), as before."""
    from tidal.base import learner_from_state

    state = MajorityClassifier().learn_many(X3, ["b", "a", "b"]).state_dict()
    assert state["fitted"]["labels"] == ["b", "a"] and state["format_version"] == 1
    back = learner_from_state(state)
    assert back.classes_.tolist() == ["a", "b"]
    np.testing.assert_allclose(back.predict_proba_many({"a": [0.0]}), [[1 / 3, 2 / 3]])


def test_unorderable_labels_are_grouped_by_type():
    m = MajorityClassifier().learn_many(X3, np.array(["b", 2, "a"], dtype=object))
    assert m.classes_.tolist() == [2, "a", "b"]
    assert m.predict_proba_many({"a": [0.0]}).tolist() == [[1 / 3] * 3]


def test_binary_codes_are_0_then_1_whatever_comes_first():
    for y in ([1, 1, 0], [1, 1, 1], np.array([1, 0, 1], dtype=np.int32), [1.0, 0.0, 1.0]):
        m = BinaryMajority().learn_many(X3, y)
        assert m.classes_.tolist() == [0, 1]
        assert m.predict_proba_many({"a": [0.0]}).shape == (1, 2)


def test_binary_bool_labels():
    m = BinaryMajority().learn_many(X3, [True, True, False])
    assert m.classes_.tolist() == [False, True]
    p = m.predict_one({"a": 0.0})
    assert p is True
    assert m.predict_many({"a": [0.0]}).dtype == np.bool_


def test_binary_learner_refuses_a_third_class():
    m = BinaryMajority().learn_many(X3, [0, 1, 1])
    with pytest.raises(InputError, match=r"binary classifier: label row 1 is a third class 2"):
        m.learn_many({"a": [0.0, 0.0]}, [1, 2])
    assert m.classes_.tolist() == [0, 1]
    np.testing.assert_array_equal(m._counts, [1.0, 2.0])


def test_new_class_mid_stream_grows_the_probabilities():
    m = MajorityClassifier()
    out = m.step_proba_many({"a": [0.0] * 4}, ["x", "x", "y", "z"])
    np.testing.assert_array_equal(out, [[0, 0, 0], [1, 0, 0], [1, 0, 0], [2 / 3, 1 / 3, 0]])
    assert m.classes_.tolist() == ["x", "y", "z"]
    out = m.step_proba_many({"a": [0.0]}, ["a"])
    np.testing.assert_array_equal(out, [[0, 1 / 2, 1 / 4, 1 / 4]])
    assert m.classes_.tolist() == ["a", "x", "y", "z"]


@pytest.mark.parametrize(
    ("labels", "kind"), [([3, 5, 3], int), (["u", "v", "u"], str), ([0.5, 1.5, 1.5], float)]
)
def test_predictions_are_plain_python_and_arrays_keep_the_label_dtype(labels, kind):
    m = NoChangeClassifier().learn_many(X3, labels)
    p = m.predict_one({"a": 0.0})
    assert type(p) is kind and p == labels[-1]
    assert all(type(k) is kind for k in m.predict_proba_one({"a": 0.0}))
    many = m.predict_many({"a": [0.0, 1.0]})
    assert many.dtype.kind == np.asarray(labels).dtype.kind and many.tolist() == [labels[-1]] * 2


def test_no_prediction_is_the_types_zero_in_the_array_face_and_none_in_the_river_face():
    # never the first label of the stream: that would hand row 0 its own answer
    m = NoChangeClassifier()
    out = m.step_many({"a": [0.0, 0.0]}, [4, 5])
    assert out.tolist() == [0, 4] and out.dtype.kind == "i"
    out = NoChangeClassifier().step_many({"a": [0.0, 0.0]}, ["up", "down"])
    assert out.tolist() == ["", "up"] and out.dtype.kind == "U"
    out = NoChangeClassifier().step_many({"a": [0.0, 0.0]}, [True, False])
    assert out.tolist() == [False, True] and out.dtype.kind == "b"
    m = MajorityClassifier().learn_many(X3, ["u", "v", "v"], [0.0, 0.0, 0.0])  # weights 0
    assert m.predict_many({"a": [0.0]}).tolist() == [""] and m.predict_one({"a": 0.0}) is None


def test_label_errors_name_the_row():
    with pytest.raises(InputError, match="label row 1"):
        MajorityClassifier().learn_many({"a": [0.0, 0.0]}, [1.0, np.nan])
    with pytest.raises(InputError, match="label row 2"):
        MajorityClassifier().learn_many(X3, ["a", "b", None])
    with pytest.raises(InputError, match="2 labels for 3 rows"):
        MajorityClassifier().learn_many(X3, ["a", "b"])


def test_binary_bool_labels_from_an_object_array():
    m = BinaryMajority().learn_many(X3, np.array([True, False, True], dtype=object))
    assert m.classes_.tolist() == [False, True] and m.predict_one({"a": 0.0}) is True


def test_labels_from_frames_and_arrow():
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    for y in (
        pd.Series(["u", "v", "u"]),
        pl.Series(["u", "v", "u"]),
        pa.array(["u", "v", "u"]),
        pa.chunked_array([["u"], ["v", "u"]]),
    ):
        m = MajorityClassifier().learn_many(X3, y)
        assert m.classes_.tolist() == ["u", "v"]
    with pytest.raises(InputError, match="label row 1"):
        MajorityClassifier().learn_many({"a": [0.0, 0.0]}, pa.array(["u", None]))
