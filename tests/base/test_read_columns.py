"""read_columns: every supported input type gives the same named columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from tidal.base import InputError, SchemaMismatchError, read_columns
from tidal.dummy import RunningMeanRegressor

A = [1.0, 2.0, 3.0]
B = [4.0, 5.0, 6.0]
EXPECTED = np.array([A, B]).T

INPUTS = {
    "dict of columns": lambda: {"a": np.array(A), "b": np.array(B)},
    "dict of lists": lambda: {"a": A, "b": B},
    "list of dicts": lambda: [{"a": x, "b": z} for x, z in zip(A, B)],
    "pandas": lambda: pd.DataFrame({"a": A, "b": B}),
    "polars": lambda: pl.DataFrame({"a": A, "b": B}),
    "pyarrow": lambda: pa.table({"a": A, "b": B}),
}


def _matrix(cols):
    return np.column_stack(
        [np.asarray(cols.column(j), dtype=float) for j in range(len(cols.names))]
    )


@pytest.mark.parametrize("kind", list(INPUTS))
def test_named_inputs(kind):
    cols = read_columns(INPUTS[kind]())
    assert cols.names == ("a", "b")
    assert cols.n_rows == 3 and cols.named
    np.testing.assert_array_equal(_matrix(cols), EXPECTED)


def test_dict_row():
    cols = read_columns({"a": 1.0, "b": None})
    assert cols.names == ("a", "b") and cols.n_rows == 1
    assert cols.column(0)[0] == 1.0 and np.isnan(cols.column(1)[0])


def test_numpy_is_unnamed_and_zero_copy():
    X = np.arange(6.0).reshape(3, 2)
    cols = read_columns(X)
    assert cols.names == ("x0", "x1") and not cols.named
    assert cols.matrix is X
    assert read_columns(np.arange(3.0)).n_rows == 1  # a 1-D array is one row


@pytest.mark.parametrize("kind", list(INPUTS) + ["numpy"])
def test_every_input_type_learns_the_same(kind):
    make = INPUTS.get(kind, lambda: EXPECTED)
    m = RunningMeanRegressor()
    out = m.step_many(make(), [1.0, 2.0, 6.0])
    np.testing.assert_array_equal(out, [0.0, 1.0, 1.5])
    expected_names = ("x0", "x1") if kind == "numpy" else ("a", "b")
    assert m.feature_names_in_ == expected_names


def test_pandas_nullable_and_categorical_columns():
    df = pd.DataFrame(
        {
            "n": pd.array([1, None, 3], dtype="Int64"),
            "c": pd.Categorical(["x", "y", "x"]),
        }
    )
    cols = read_columns(df)
    n = np.asarray(cols.column(0), dtype=float)
    assert n[0] == 1.0 and np.isnan(n[1])
    assert cols.column(1).tolist() == ["x", "y", "x"]


def test_polars_and_arrow_nulls_become_nan():
    for table in (pl.DataFrame({"a": [1.0, None]}), pa.table({"a": [1.0, None]})):
        col = np.asarray(read_columns(table).column(0), dtype=float)
        assert col[0] == 1.0 and np.isnan(col[1])


def test_mixed_values_keep_their_types():
    # numpy alone would turn [1.0, "a"] into the strings "1.0", "a"
    cols = read_columns([{"a": 1.0}, {"a": "oops"}])
    assert cols.column(0).tolist() == [1.0, "oops"]


def test_errors():
    with pytest.raises(InputError, match="empty input"):
        read_columns([])
    with pytest.raises(InputError, match="different lengths"):
        read_columns({"a": [1.0, 2.0], "b": [1.0]})
    with pytest.raises(SchemaMismatchError, match="row 1 has features") as e:
        read_columns([{"a": 1.0}, {"b": 1.0}])
    assert e.value.row == 1
    with pytest.raises(InputError, match="2-D"):
        read_columns(np.zeros((2, 2, 2)))
    with pytest.raises(InputError, match="unsupported input type"):
        read_columns(object())


def test_block_like_objects_give_their_features():
    class FakeBlock:  # the duck type tidal.stream.Block satisfies; base imports nothing of stream
        feature_names = ("a", "b")

        def features(self):
            return {"a": np.array(A), "b": np.array(B)}

    cols = read_columns(FakeBlock())
    assert cols.names == ("a", "b")
    np.testing.assert_array_equal(_matrix(cols), EXPECTED)
