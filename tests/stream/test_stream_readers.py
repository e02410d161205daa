"""CSV / Parquet / JSON-lines readers: inference, stable codes, re-iteration, clear errors."""

import gzip
import json
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from tidal.base import InputError, ParameterError
from tidal.stream import guess_task, read_csv, read_jsonl, read_parquet

ELEC2 = str(resources.files("tidal.datasets") / "elec2.csv.gz")  # bundled copy

CSV = (
    "t,id,x,colour,flag,y\n"
    "2024-01-01T00:00:00,a1,1.5,red,1,0\n"
    "2024-01-01T00:01:00,a2,,blue,0,1\n"
    "2024-01-01T00:02:00,a3,3.5,,1,1\n"
    "2024-01-01T00:03:00,a4,4.5,green,0,0\n"
    "2024-01-01T00:04:00,a5,5.5,blue,1,2\n"
)


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    return path


def test_csv_columns_roles_and_types(csv_path):
    src = read_csv(csv_path, target="y", id_column="id", time_column="t", block_size=2)
    assert src.feature_names == ("x", "colour", "flag")
    assert src.task == "multiclass"
    blocks = list(src)
    assert [len(b) for b in blocks] == [2, 2, 1] and [b.start for b in blocks] == [0, 2, 4]
    b = blocks[1]
    assert b.ids.tolist() == ["a3", "a4"]
    assert b.timestamps.dtype.kind == "M"
    assert np.isnan(b.X[0, 1]) and b.X[1, 1] == 2.0  # missing colour, then "green" = code 2
    assert blocks[2].categories == {"colour": ["red", "blue", "green"]}
    X, y = src.arrays()
    assert np.isnan(X[1, 0]) and X[:, 2].tolist() == [1, 0, 1, 0, 1]
    assert y.tolist() == [0, 1, 1, 0, 2]


def test_category_codes_are_stable_across_blocks_and_match_pandas(csv_path):
    src = read_csv(csv_path, target="y", id_column="id", time_column="t", block_size=1)
    codes = np.concatenate([b.X[:, 1] for b in src])
    assert codes.tolist()[:2] == [0.0, 1.0] and codes[4] == 1.0
    decoded = pd.concat([b.to_pandas() for b in src])["colour"].tolist()
    expected = pd.read_csv(csv_path)["colour"].tolist()
    assert decoded[:2] + decoded[3:] == expected[:2] + expected[3:] and decoded[2] is None


def test_forced_categorical_keeps_the_original_values(csv_path):
    src = read_csv(csv_path, target="y", categorical=["flag"], id_column="id", time_column="t")
    block = next(iter(src))
    assert block.categories["flag"] == [1, 0]
    assert block.features()["flag"].tolist() == [1, 0, 1, 0, 1]


def test_same_rows_for_any_block_size_and_every_iteration(csv_path, tmp_path):
    ref = read_csv(ELEC2, target="up").head(5000)
    X, y = ref.arrays()
    for size in (1, 333, 4096, 100_000):
        if size == 1:
            Xs, ys = read_csv(ELEC2, target="up", block_size=1).head(300).arrays()
            assert np.array_equal(Xs, X[:300]) and np.array_equal(ys, y[:300])
            continue
        Xs, ys = read_csv(ELEC2, target="up", block_size=size).head(5000).arrays()
        assert np.array_equal(Xs, X) and np.array_equal(ys, y)
    assert ref.fingerprint() == ref.fingerprint()
    assert ref.fingerprint() == read_csv(ELEC2, target="up", block_size=77).head(5000).fingerprint()


def test_gzipped_csv_reads_the_same(csv_path, tmp_path):
    gz = tmp_path / "data.csv.gz"
    gz.write_bytes(gzip.compress(csv_path.read_bytes()))
    a = read_csv(csv_path, target="y", id_column="id", time_column="t")
    b = read_csv(gz, target="y", id_column="id", time_column="t")
    assert a.fingerprint() == b.fingerprint()


def test_fingerprint_sees_a_single_changed_value(tmp_path, csv_path):
    other = tmp_path / "other.csv"
    other.write_text(CSV.replace("4.5", "4.6"))
    a = read_csv(csv_path, target="y", id_column="id", time_column="t")
    b = read_csv(other, target="y", id_column="id", time_column="t")
    assert a.fingerprint() != b.fingerprint()
    assert len(a.fingerprint()) == 64


def test_elec2_reads_the_same_numbers_as_numpy():
    # how fast: benchmarks/bench_io.py (a timed test fails on a loaded machine)
    X, y = read_csv(ELEC2, target="up").arrays()
    raw = np.loadtxt(ELEC2, delimiter=",", skiprows=1)
    assert X.shape == (45_312, 6) and np.array_equal(X, raw[:, :6])
    assert np.array_equal(y, raw[:, 6].astype(int))


def test_parquet_matches_csv(csv_path, tmp_path):
    path = tmp_path / "data.parquet"
    pd.read_csv(csv_path).to_parquet(path)
    a = read_csv(csv_path, target="y", id_column="id", time_column="t")
    b = read_parquet(path, target="y", id_column="id", time_column="t", block_size=2)
    Xa, ya = a.arrays()
    Xb, yb = b.arrays()
    assert np.array_equal(Xa, Xb, equal_nan=True) and np.array_equal(ya, yb)
    assert a.to_pandas()["colour"].tolist() == b.to_pandas()["colour"].tolist()


def test_jsonl_reads_rows_in_order(tmp_path):
    path = tmp_path / "data.jsonl"
    rows = [{"x": i * 0.5, "c": "ab"[i % 2], "y": i % 3} for i in range(10)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    src = read_jsonl(path, target="y", block_size=3)
    got = list(src.rows())
    assert got == [({"x": r["x"], "c": r["c"]}, r["y"]) for r in rows]
    assert [len(b) for b in src] == [3, 3, 3, 1]


def test_task_guess():
    assert guess_task([np.array([0, 1]), np.array([1, 1])]) == "binary"
    assert guess_task([np.array([True, False])]) == "binary"
    assert guess_task([np.array([1.0, 2.0, 3.0])]) == "multiclass"
    assert guess_task([np.arange(100)]) == "regression"
    assert guess_task([np.array([0.0, 0.5])]) == "regression"
    assert guess_task([np.array(["up", "down", None], dtype=object)]) == "binary"


@pytest.mark.parametrize(
    "kwargs, column",
    [
        ({"target": "nope"}, "nope"),
        ({"target": "y", "id_column": "who"}, "who"),
        ({"target": "y", "time_column": "when"}, "when"),
        ({"target": "y", "categorical": ["z"]}, "z"),
    ],
)
def test_unknown_columns_are_named(csv_path, kwargs, column):
    with pytest.raises(InputError, match=f"'{column}' .*not") as err:
        read_csv(csv_path, **kwargs)
    assert err.value.column == column and str(csv_path) in str(err.value)


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty.csv: empty file"):
        read_csv(empty, target="y")
    header = tmp_path / "header.csv"
    header.write_text("a,y\n")
    with pytest.raises(InputError, match="header.csv: no data rows"):
        read_csv(header, target="y")
    for reader, suffix in ((read_jsonl, "jsonl"), (read_parquet, "parquet")):
        path = tmp_path / f"empty.{suffix}"
        if suffix == "parquet":
            pd.DataFrame({"a": pd.Series([], dtype=float), "y": []}).to_parquet(path)
        else:
            path.write_text("\n")
        with pytest.raises(InputError, match="empty"):
            reader(path, target="y")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        read_csv(tmp_path / "missing.csv", target="y")


def test_ragged_csv_row_is_named(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n5,1\n")
    with pytest.raises(InputError, match=r"ragged.csv: row 2 \(line 4\) has 2 fields") as err:
        read_csv(path, target="y").arrays()
    assert err.value.row == 2


def test_late_non_number_in_numeric_column_is_named(tmp_path):
    # pyarrow infers types from the first megabyte: the bad value sits far beyond it
    path = tmp_path / "late.csv"
    n = 150_000
    body = "".join(f"{i % 7}.25,{i % 2}\n" for i in range(n))
    path.write_text("a,y\n" + body + "oops,1\n")
    with pytest.raises(InputError, match=rf"column 'a' row {n} \(line {n + 2}\)") as err:
        read_csv(path, target="y").arrays()
    assert err.value.column == "a" and err.value.row == n


def test_ragged_jsonl_is_named(tmp_path):
    path = tmp_path / "ragged.jsonl"
    path.write_text('{"a": 1, "y": 0}\n{"a": 2, "y": 1}\n{"y": 1}\n')
    with pytest.raises(InputError, match=r"ragged.jsonl: row 2 \(line 3\): missing column 'a'"):
        read_jsonl(path, target="y").arrays()
    path.write_text('{"a": 1, "y": 0}\n{"a": 2, "b": 3, "y": 1}\n')
    with pytest.raises(InputError, match="row 1 .*unexpected column 'b'") as err:
        read_jsonl(path, target="y").arrays()
    assert err.value.column == "b"


def test_bad_jsonl_values_are_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1, "y": 0}\n{"a": "x", "y": 1}\n')
    with pytest.raises(InputError, match="column 'a' row 1: expected a number, got 'x'"):
        read_jsonl(path, target="y", block_size=1).arrays()
    path.write_text('{"a": 1, "y": 0}\n{"a": 1,\n')
    with pytest.raises(InputError, match=r"row 1 \(line 2\): invalid JSON"):
        read_jsonl(path, target="y").arrays()


def test_not_a_parquet_file(tmp_path, csv_path):
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_parquet(csv_path, target="y")


def test_block_size_must_be_positive(csv_path):
    with pytest.raises(ParameterError, match="block_size == 0"):
        read_csv(csv_path, target="y", block_size=0)


@pytest.mark.parametrize("reader", [read_csv, read_parquet, read_jsonl])
def test_every_reader_refuses_a_missing_file_naming_it(reader, tmp_path):
    path = tmp_path / "gone" / "data.file"
    with pytest.raises(FileNotFoundError) as err:
        reader(path, target="y")
    assert str(err.value) == f"{path}: no such file"
