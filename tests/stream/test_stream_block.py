"""Block: columnar rows, decoded features, row dicts, slices; learners accept it directly."""

import numpy as np

from tidal.base import read_columns
from tidal.dummy import MajorityClassifier
from tidal.stream import Block


def block():
    X = np.array([[1.5, 0.0], [2.5, 1.0], [3.5, np.nan], [4.5, 0.0]])
    return Block(
        X,
        ["size", "colour"],
        categories={"colour": ["red", "blue"]},
        y=np.array(["a", "b", "b", "a"], dtype=object),
        ids=np.array([10, 11, 12, 13]),
        start=100,
        target="label",
    )


def test_features_decode_categorical_codes_to_original_values():
    f = block().features()
    assert f["size"].dtype == np.float64 and f["size"].tolist() == [1.5, 2.5, 3.5, 4.5]
    assert f["colour"].dtype == object and f["colour"].tolist() == ["red", "blue", None, "red"]


def test_rows_are_plain_python_scalars():
    rows = list(block().rows())
    assert rows[1] == ({"size": 2.5, "colour": "blue"}, "b")
    assert type(rows[0][0]["size"]) is float and rows[2][0]["colour"] is None
    ints = Block(np.zeros((2, 1)), ["x"], y=np.array([1, 0]))
    assert [type(y) for _, y in ints.rows()] == [int, int]


def test_slice_keeps_position_and_all_columns():
    part = block().slice(1, 3)
    assert len(part) == 2 and part.start == 101
    assert part.ids.tolist() == [11, 12] and part.y.tolist() == ["b", "b"]
    assert part.categories == {"colour": ["red", "blue"]}
    assert len(block().slice(3, 99)) == 1


def test_to_pandas_uses_stream_positions_and_target_name():
    df = block().to_pandas()
    assert list(df.columns) == ["size", "colour", "label"]
    assert df.index.tolist() == [100, 101, 102, 103]
    assert df["colour"].tolist()[:2] == ["red", "blue"]


def test_base_reads_a_block_like_a_frame():
    cols = read_columns(block())
    assert cols.names == ("size", "colour") and cols.n_rows == 4
    b = block()
    model = MajorityClassifier().learn_many(b, b.y)
    assert model.predict_many(b).tolist() == ["a"] * 4
