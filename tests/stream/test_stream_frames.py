"""from_frame (pandas, polars) and from_arrays."""

import numpy as np
import pandas as pd
import polars as pl
import pytest

from tidal.base import InputError
from tidal.stream import from_arrays, from_frame

DATA = {
    "x": [0.5, 1.5, None, 3.5, 4.5],
    "c": ["b", "a", "b", None, "c"],
    "n": [1, 2, 3, 4, 5],
    "y": ["no", "yes", "yes", "no", "no"],
}


def test_pandas_and_polars_give_the_same_blocks():
    a = from_frame(pd.DataFrame(DATA), target="y", block_size=2)
    b = from_frame(pl.DataFrame(DATA), target="y", block_size=2)
    assert a.feature_names == b.feature_names == ("x", "c", "n")
    for ba, bb in zip(a, b, strict=True):
        assert np.array_equal(ba.X, bb.X, equal_nan=True)
        assert ba.y.tolist() == bb.y.tolist() and ba.categories == bb.categories
    assert a.fingerprint() == b.fingerprint()
    X, y = a.arrays()
    assert X[:, 1].tolist()[:3] == [0.0, 1.0, 0.0] and np.isnan(X[3, 1]) and X[4, 1] == 2
    assert np.isnan(X[2, 0]) and a.task == "binary"
    assert a.to_pandas()["c"].tolist() == ["b", "a", "b", None, "c"]


def test_pandas_categorical_codes_follow_appearance_not_category_order():
    df = pd.DataFrame({"c": pd.Categorical(["z", "a", "z"], categories=["a", "z", "q"])})
    df["y"] = [1.0, 2.5, 3.25]
    src = from_frame(df, target="y")
    block = next(iter(src))
    assert block.categories == {"c": ["z", "a"]} and block.X[:, 0].tolist() == [0.0, 1.0, 0.0]
    assert src.task == "regression"


def test_frame_errors():
    with pytest.raises(InputError, match="target column 'label' not found"):
        from_frame(pd.DataFrame(DATA), target="label")
    with pytest.raises(InputError, match="empty frame"):
        from_frame(pd.DataFrame({"x": [], "y": []}), target="y")
    with pytest.raises(InputError, match="expected a pandas or polars DataFrame"):
        from_frame([[1, 2]], target="y")


def test_from_arrays():
    X = np.arange(12.0).reshape(6, 2)
    src = from_arrays(X, np.array([0, 1, 2, 0, 1, 2]), block_size=4)
    assert [b.start for b in src] == [0, 4] and src.task == "multiclass"
    assert np.array_equal(src.arrays()[0], X)
    assert from_arrays(X).target is None and from_arrays(X).task is None
    with pytest.raises(InputError, match="2-D"):
        from_arrays(np.zeros(3))
    with pytest.raises(InputError, match=r"y has shape \(2,\), expected \(6,\)"):
        from_arrays(X, [1, 2])
    with pytest.raises(InputError, match="1 feature names for 2 columns"):
        from_arrays(X, feature_names=["a"])
    with pytest.raises(InputError, match="must be numeric"):
        from_arrays(np.array([["a", "b"]], dtype=object))


def test_polars_categorical_and_enum_columns_are_categorical():
    df = pl.DataFrame(
        {
            "c": pl.Series(["z", "a", "z", None], dtype=pl.Categorical),
            "e": pl.Series(["q", "r", "q", "q"], dtype=pl.Enum(["r", "q"])),
            "t": [1, 2, 3, 4],
            "y": [True, False, True, True],
        }
    )
    src = from_frame(df, target="y", time_column="t", block_size=3)
    last = list(src)[-1]
    assert last.categories == {"c": ["z", "a"], "e": ["q", "r"]}
    assert last.timestamps.tolist() == [4] and np.isnan(last.X[0, 0])
    assert list(src.rows())[1] == ({"c": "a", "e": "r"}, False)
    assert src.task == "binary"
