"""Duplicate or empty column names get one clear error naming the columns (it was a pyarrow
KeyError traceback from deep inside the first block)."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tidal.base import InputError
from tidal.stream import read_csv, read_jsonl, read_parquet


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("a,b,a,y", r"columns 1 and 3 of the header are both named 'a'"),
        ("a,,c,y", r"column 2 of the header has no name"),
    ],
)
def test_csv_header_with_duplicate_or_empty_names(tmp_path, header, expected):
    path = tmp_path / "s.csv"
    path.write_text(f"{header}\n1,2,3,0\n4,5,6,1\n")
    with pytest.raises(InputError, match=expected) as info:
        read_csv(path, target="y")
    assert str(path) in str(info.value)


def test_parquet_with_duplicate_names(tmp_path):
    path = tmp_path / "s.parquet"
    cols = [pa.array([1.0]), pa.array([2.0]), pa.array([0])]
    pq.write_table(pa.Table.from_arrays(cols, names=["a", "a", "y"]), path)
    with pytest.raises(InputError, match="both named 'a'"):
        read_parquet(path, target="y")


def test_jsonl_with_an_empty_key(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"": 1.0, "y": 0}) + "\n")
    with pytest.raises(InputError, match="column 1 of the header has no name"):
        read_jsonl(path, target="y")
