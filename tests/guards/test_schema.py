import json

import numpy as np
import pandas as pd
import pytest

from tidal.guards import Schema, SchemaError, infer_schema_from_path
from tidal.stream import from_frame


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.normal(10.0, 2.0, 500),
            "const": np.full(500, 0.25),
            "c": rng.choice(["a", "b", "c"], 500, p=[0.6, 0.3, 0.1]),
            "id": np.arange(500),
            "y": rng.integers(0, 3, 500),
        }
    )


def test_infer_types_classes_and_special_columns(frame):
    s = Schema.infer(frame, "y", id_column="id")
    assert s.names == ["x", "const", "c"]
    assert s.column("c").kind == "categorical"
    assert s.column("c").categories == ["a", "b", "c"]  # most frequent first
    assert s.target.kind == "classes" and s.target.classes == [0, 1, 2]
    assert s.id_column == "id"


def test_infer_robust_scale_not_min_max(frame):
    s = Schema.infer(frame, "y")
    x = s.column("x")
    assert x.min is None and x.max is None
    assert x.center == pytest.approx(np.median(frame["x"]))
    q1, q3 = np.quantile(frame["x"], [0.25, 0.75])
    assert x.scale == pytest.approx(
        max((q3 - q1) / 1.349, 1.4826 * np.median(np.abs(frame["x"] - x.center)))
    )
    # a constant column gets a floored scale (> 0), so its bounds can move
    assert s.column("const").scale == pytest.approx(0.025)


def test_infer_regression_target_and_n_rows(frame):
    frame = frame.assign(y=np.linspace(0, 1, 500))
    s = Schema.infer(frame, "y", n_rows=100)
    assert s.target.kind == "numeric"
    assert s.column("x").center == pytest.approx(np.median(frame["x"][:100]))


def test_infer_from_source_and_nullable(frame):
    frame.loc[3, "x"] = np.nan
    s = Schema.infer(from_frame(frame.drop(columns="id"), "y"), "y")
    assert s.column("x").nullable and not s.column("const").nullable


def test_json_roundtrip_file(frame, tmp_path):
    s = Schema.infer(frame, "y", id_column="id")
    path = tmp_path / "schema.json"
    s.to_json(path)
    assert Schema.from_json(path) == s
    assert Schema.from_json(str(path)) == s


def _edit(tmp_path, s, fn):
    data = s.to_dict()
    fn(data)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda d: d["columns"]["x"].update(colour=1), "columns.x.colour"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["columns"]["x"].update(type="text"), "columns.x.type"),
        (lambda d: d["columns"]["x"].update(scale=-1), "columns.x.scale"),
        (lambda d: d["columns"]["x"].update(min=5, max=1), "columns.x"),
        (lambda d: d["columns"]["c"].update(categories=[]), "columns.c.categories"),
        (lambda d: d["target"].update(type="labels"), "target.type"),
        (lambda d: d["target"].update(name="x"), "target.name"),
    ],
)
def test_invalid_fields_name_file_and_field(frame, tmp_path, edit, field):
    path = _edit(tmp_path, Schema.infer(frame, "y"), edit)
    with pytest.raises(SchemaError) as err:
        Schema.from_json(path)
    assert str(path) in str(err.value)
    assert field in str(err.value)


def test_invalid_json_names_file_and_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "columns": {,\n}')
    with pytest.raises(SchemaError, match=r"bad\.json: invalid JSON at line 2"):
        Schema.from_json(path)


def test_missing_file(tmp_path):
    with pytest.raises(SchemaError, match="nope.json"):
        Schema.from_json(tmp_path / "nope.json")


def test_infer_errors(frame):
    with pytest.raises(SchemaError, match="not in the sample"):
        Schema.infer(frame, "target")
    with pytest.raises(SchemaError, match="empty"):
        Schema.infer(frame.iloc[:0], "y")


def test_infer_schema_from_path_csv_and_jsonl(frame, tmp_path):
    csv = tmp_path / "d.csv"
    frame.to_csv(csv, index=False)
    s = infer_schema_from_path(csv, target="y", n_rows=50, id_column="id")
    assert s.names == ["x", "const", "c"] and s.id_column == "id"
    assert s.column("x").center == pytest.approx(np.median(frame["x"][:50]))
    jl = tmp_path / "d.jsonl"
    frame.to_json(jl, orient="records", lines=True)
    assert infer_schema_from_path(jl, target="y").names == ["x", "const", "c", "id"]
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        infer_schema_from_path(tmp_path / "missing.csv")
