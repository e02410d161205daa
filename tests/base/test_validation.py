"""Bad input is refused before any state changes, with errors naming the column and the row."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from tidal.base import InputError, NotFittedError, SchemaMismatchError
from tidal.checks._utils import assert_same_state

from .conftest import StrictMajority, StrictMean


def _fitted():
    m = StrictMajority()
    m.learn_many({"a": [1.0, 2.0], "b": [3.0, 4.0]}, ["x", "y"])
    return m


def _assert_refused(m, call, error, column, row):
    before = copy.deepcopy(m.state_dict())
    with pytest.raises(error) as e:
        call()
    assert e.value.column == column and e.value.row == row
    if column is not None:
        assert repr(column) in str(e.value)
    if row is not None:
        assert f"row {row}" in str(e.value)
    assert_same_state(before, m.state_dict(), "state after a refused call")
    return e.value


@pytest.mark.parametrize(("value", "shown"), [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_non_finite_named(value, shown):
    m = _fitted()
    X = {"a": [1.0, 2.0, 3.0], "b": [1.0, 1.0, value]}
    err = _assert_refused(m, lambda: m.learn_many(X, ["x", "y", "z"]), InputError, "b", 2)
    assert shown in str(err)
    _assert_refused(m, lambda: m.predict_many(X), InputError, "b", 2)


def test_string_value_named():
    m = _fitted()
    X = [{"a": 1.0, "b": 2.0}, {"a": "7 kg", "b": 2.0}]
    err = _assert_refused(m, lambda: m.learn_many(X, ["x", "z"]), InputError, "a", 1)
    assert "'7 kg'" in str(err) and "expected a number" in str(err)


def test_missing_and_extra_features_named():
    m = _fitted()
    _assert_refused(m, lambda: m.learn_one({"a": 1.0}, "z"), SchemaMismatchError, "b", None)
    err = _assert_refused(
        m, lambda: m.learn_one({"a": 1.0, "b": 2.0, "c": 0.0}, "z"), SchemaMismatchError, "c", None
    )
    assert "unexpected ['c']" in str(err)
    with pytest.raises(SchemaMismatchError, match="expected 2 features"):
        m.predict_many(np.zeros((1, 3)))


def test_feature_order_does_not_matter():
    m = _fitted()
    assert m.predict_one({"b": 3.0, "a": 1.0}) == m.predict_one({"a": 1.0, "b": 3.0})


def test_nothing_fixed_by_a_refused_first_call():
    m = StrictMajority()
    with pytest.raises(InputError):
        m.learn_many({"a": [1.0, np.nan]}, ["x", "y"])
    with pytest.raises(InputError):
        m.learn_many({"a": [1.0, 2.0]}, ["x", None])
    assert not m.is_fitted and m.state_dict()["fitted"] is None
    m.learn_one({"other": 1.0}, "q")  # the feature set is still free
    assert m.feature_names_in_ == ("other",) and list(m.classes_) == ["q"]


def test_bad_label_leaves_classes_unchanged():
    m = _fitted()
    _assert_refused(
        m,
        lambda: m.learn_many({"a": [1.0, 2.0], "b": [1.0, 1.0]}, ["new", None]),
        InputError,
        None,
        1,
    )
    assert list(m.classes_) == ["x", "y"]


def test_weights():
    m = _fitted()
    err = _assert_refused(
        m,
        lambda: m.learn_many({"a": [1.0, 2.0], "b": [1.0, 1.0]}, ["new", "x"], [1.0, -0.5]),
        InputError,
        None,
        1,
    )
    assert "sample weight row 1" in str(err) and ">= 0" in str(err)
    assert list(m.classes_) == ["x", "y"]  # the new label in the refused call was not kept
    with pytest.raises(InputError, match="sample weight row 0"):
        m.learn_one({"a": 1.0, "b": 1.0}, "x", w=float("nan"))
    with pytest.raises(InputError, match="2 rows"):
        m.learn_many({"a": [1.0, 2.0], "b": [1.0, 1.0]}, ["x", "x"], [1.0, 1.0, 1.0])
    m.learn_many({"a": [1.0, 2.0], "b": [1.0, 1.0]}, ["y", "y"], [0.0, 3.0])
    np.testing.assert_array_equal(m._counts, [1.0, 4.0])


def test_regression_targets_checked():
    m = StrictMean()
    with pytest.raises(InputError, match="target row 1: expected a finite number"):
        m.learn_many({"a": [1.0, 2.0]}, [1.0, np.nan])
    with pytest.raises(InputError, match="target"):
        m.learn_many({"a": [1.0, 2.0]}, [1.0, "x"])
    assert not m.is_fitted


def test_not_fitted_messages():
    with pytest.raises(NotFittedError, match="This StrictMajority is not fitted yet"):
        StrictMajority().predict_many({"a": [1.0]})
    with pytest.raises(NotFittedError):
        _ = StrictMajority().classes_
    assert StrictMajority().predict_one({"a": 1.0}) is None
    assert StrictMean().predict_one({"a": 1.0}) == 0.0


def test_empty_blocks():
    m = _fitted()
    assert m.step_many(np.zeros((0, 2)), []).shape == (0,)
    assert m.predict_proba_many(np.zeros((0, 2))).shape == (0, 2)
    with pytest.raises(InputError, match="no features"):
        StrictMajority().learn_many(np.zeros((2, 0)), ["x", "y"])
