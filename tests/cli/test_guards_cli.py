"""``tidal schema`` and ``tidal quarantine``: the sub-apps, invoked directly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tidal.cli._guards import quarantine_app, schema_app
from tidal.guards import Guard, Quarantine, Schema

runner = CliRunner()


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=60),
            "c": rng.choice(["a", "b"], 60),
            "id": np.arange(60),
            "y": rng.integers(0, 2, 60),
        }
    )
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    return path, df


def _lines(text):
    return [line for line in text.splitlines() if line.strip()]


def test_infer_prints_the_schema_the_library_infers(data):
    path, df = data
    res = runner.invoke(schema_app, ["infer", str(path), "--target", "y", "--id-column", "id"])
    assert res.exit_code == 0, res.output
    got = Schema.from_json(res.output)
    assert got == Schema.infer(pd.read_csv(path), "y", id_column="id")
    assert got.names == ["x", "c"] and got.id_column == "id"


def test_infer_n_rows_uses_only_the_first_rows(data, tmp_path):
    path, df = data
    out = tmp_path / "s.json"
    res = runner.invoke(
        schema_app, ["infer", str(path), "-t", "y", "--n-rows", "5", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert Schema.from_json(out) == Schema.infer(df.iloc[:5], "y")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["infer", "missing.csv"], "missing.csv: no such file"),
        (["infer", "{data}", "--target", "label"], "'label'"),
        (["infer", "{data}", "--n-rows", "0"], "--n-rows 0"),
    ],
)
def test_infer_bad_input_is_one_line_and_exit_2(data, args, needle):
    path, _ = data
    res = runner.invoke(schema_app, [a.format(data=path) for a in args])
    assert res.exit_code == 2
    assert len(_lines(res.output)) == 1 and needle in res.output


def test_check_counts_the_rules(data, tmp_path):
    path, df = data
    schema = tmp_path / "s.json"
    Schema.infer(df, "y").to_json(schema)
    bad = df.copy()
    bad.loc[3, "x"] = np.nan
    bad.loc[7, "y"] = 9
    bad.to_csv(path, index=False)
    res = runner.invoke(schema_app, ["check", str(path), "--schema", str(schema), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["rules"]["missing"] == 1 and out["rules"]["invalid_label"] == 1
    assert out["verdicts"]["quarantined"] == 2 and out["rows"] == 60


def test_a_schema_that_is_not_json_is_refused(data, tmp_path):
    path, _ = data
    schema = tmp_path / "s.json"
    schema.write_text('{"columns": ')
    res = runner.invoke(schema_app, ["check", str(path), "--schema", str(schema)])
    assert res.exit_code == 2
    assert len(_lines(res.output)) == 1 and "s.json: invalid JSON" in res.output


def test_a_schema_naming_unknown_columns_is_refused(data, tmp_path):
    path, df = data
    schema = tmp_path / "s.json"
    Schema.infer(df.rename(columns={"x": "price"}), "y").to_json(schema)
    res = runner.invoke(schema_app, ["check", str(path), "--schema", str(schema)])
    assert res.exit_code == 2
    assert len(_lines(res.output)) == 1
    assert "columns.price: no column 'price'" in res.output


@pytest.fixture
def filled(tmp_path):
    """A quarantine holding three rows: a missing value and two unseen labels (7)."""
    df = pd.DataFrame({"x": [0.1, 0.2, 0.3, 0.25], "y": [0, 1, 0, 1]})
    schema = Schema.infer(df, "y")
    qpath = tmp_path / "q.sqlite"
    q = Quarantine(qpath)
    Guard(schema, quarantine=q).check(
        pd.DataFrame({"x": [0.2, None, 0.21, 0.22], "y": [1, 0, 7, 7]}), source="api"
    )
    q.close()
    return qpath, schema, tmp_path


def test_list_and_show(filled):
    qpath, _, _ = filled
    res = runner.invoke(quarantine_app, ["list", "--path", str(qpath), "--json"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in _lines(res.output)]
    assert [(r["id"], r["rule"], r["row"], r["source"]) for r in rows] == [
        (1, "missing", 1, "api"),
        (2, "invalid_label", 2, "api"),
        (3, "invalid_label", 3, "api"),
    ]
    table = runner.invoke(quarantine_app, ["list", "--path", str(qpath), "--rule", "missing"])
    assert (
        table.exit_code == 0 and "missing" in table.output and "invalid_label" not in table.output
    )
    shown = runner.invoke(quarantine_app, ["show", "2", "--path", str(qpath)])
    assert json.loads(shown.output)["record"] == {"x": 0.21, "y": 7}


def test_show_unknown_id_and_missing_quarantine(filled, tmp_path):
    qpath, _, _ = filled
    res = runner.invoke(quarantine_app, ["show", "99", "--path", str(qpath)])
    assert res.exit_code == 2 and "no quarantined row with id 99" in res.output
    res = runner.invoke(quarantine_app, ["list", "--path", str(tmp_path / "none.sqlite")])
    assert res.exit_code == 2 and "no quarantine at" in res.output
    assert not (tmp_path / "none.sqlite").exists()  # listing does not create one


def test_replay_after_editing_the_schema(filled):
    qpath, schema, tmp = filled
    schema.target.classes.append(7)  # a person decides that 7 is a legitimate label
    edited = tmp / "edited.json"
    schema.to_json(edited)
    out = tmp / "back.csv"
    args = ["replay", "--schema", str(edited), "--path", str(qpath), "--out", str(out)]
    res = runner.invoke(quarantine_app, args)
    assert res.exit_code == 0, res.output
    assert "replayed 2 rows, 1 still quarantined" in res.output
    assert pd.read_csv(out)["y"].tolist() == [7, 7]
    q = Quarantine(qpath)
    assert [r["status"] for r in q.list()] == ["quarantined", "replayed", "replayed"]


def test_replay_with_a_schema_naming_unknown_columns(filled):
    qpath, _, tmp = filled
    other = tmp / "other.json"
    Schema.infer(pd.DataFrame({"z": [1.0, 2.0], "y": [0, 1]}), "y").to_json(other)
    res = runner.invoke(quarantine_app, ["replay", "--schema", str(other), "--path", str(qpath)])
    assert res.exit_code == 2 and "columns.z: no column 'z'" in res.output
    assert len(Quarantine(qpath).list(status="quarantined")) == 3  # nothing changed


def test_purge(filled):
    qpath, _, _ = filled
    res = runner.invoke(quarantine_app, ["purge", "--path", str(qpath)])
    assert res.exit_code == 2 and "--keep-last" in res.output
    res = runner.invoke(quarantine_app, ["purge", "--path", str(qpath), "--keep-last", "1"])
    assert res.exit_code == 0 and "purged 2 rows" in res.output
    assert [r["id"] for r in Quarantine(qpath).list()] == [3]
    res = runner.invoke(quarantine_app, ["purge", "--path", str(qpath), "--older-than", "0"])
    assert res.exit_code == 0 and "purged 1 rows" in res.output


def test_the_guard_compare_uses_checks_the_sources_columns(data, tmp_path):
    from tidal.cli._guards import guard_for_source
    from tidal.guards import SchemaError
    from tidal.stream import from_frame

    path, df = data
    source = from_frame(df.drop(columns=["id"]), target="y")
    schema = tmp_path / "s.json"
    Schema.infer(df.drop(columns=["id"]), "y").to_json(schema)
    assert guard_for_source(schema, source, str(path)).schema.names == ["x", "c"]
    Schema.infer(df.rename(columns={"c": "colour"}), "y").to_json(schema)
    with pytest.raises(SchemaError, match="columns.colour: no column 'colour' in .*d.csv"):
        guard_for_source(schema, source, str(path))
