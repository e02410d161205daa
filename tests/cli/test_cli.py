"""The command line, through Typer's CliRunner."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tidal.cli import app

runner = CliRunner()


@pytest.fixture
def csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    df["label"] = np.where(df["a"] + 0.3 * rng.normal(size=n) > 0, "up", "down")
    path = tmp_path / "stream.csv"
    df.to_csv(path, index=False)
    return path


def test_compare_prints_a_table_and_writes_json(csv, tmp_path):
    out = tmp_path / "res.json"
    result = runner.invoke(
        app,
        [
            "compare",
            str(csv),
            "--target",
            "label",
            "--models",
            "majority,nochange,majority",
            "--every",
            "100",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "nochange" in result.output and "Accuracy" in result.output
    data = json.loads(out.read_text())
    assert [r["learner"] for r in data["results"]] == ["majority", "nochange"]  # a dict: deduped
    assert data["meta"]["data"]["rows"] == 400
    assert len(data["checkpoints"]) == 2 * 4


def test_compare_with_delay(csv):
    result = runner.invoke(
        app, ["compare", str(csv), "-t", "label", "-m", "nochange", "--delay", "3"]
    )
    assert result.exit_code == 0, result.output


def test_bad_target_exits_2_naming_the_column(csv):
    result = runner.invoke(app, ["compare", str(csv), "--target", "nope"])
    assert result.exit_code == 2
    assert "'nope'" in result.output
    assert "Traceback" not in result.output


def test_missing_file_exits_2(tmp_path):
    result = runner.invoke(app, ["compare", str(tmp_path / "none.csv"), "--target", "y"])
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_bad_model_name_exits_2_listing_names(csv):
    result = runner.invoke(app, ["compare", str(csv), "-t", "label", "-m", "majorty"])
    assert result.exit_code == 2
    assert "did you mean 'majority'" in result.output and "nochange" in result.output


def test_bad_model_parameter_exits_2(csv):
    result = runner.invoke(app, ["compare", str(csv), "-t", "label", "-m", "majority:depth=3"])
    assert result.exit_code == 2
    assert "unknown parameter 'depth'" in result.output


def test_models_lists_the_zoo():
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    for name in ("majority", "nochange", "mean"):
        assert name in result.output


def test_datasets_lists_bundled_streams():
    pytest.importorskip("tidal.datasets")
    result = runner.invoke(app, ["datasets"])
    assert result.exit_code == 0
    assert "elec2" in result.output and "weather" in result.output


def test_bundled_stream_by_name_with_wrong_target():
    pytest.importorskip("tidal.datasets")
    result = runner.invoke(app, ["compare", "elec2", "--target", "price"])
    assert result.exit_code == 2 and "'up'" in result.output


def test_demo_reports_the_no_change_baseline_on_elec2(tmp_path, monkeypatch):
    pytest.importorskip("tidal.datasets")
    monkeypatch.chdir(tmp_path)  # the demo writes report.html in the current folder
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    # the no-change baseline on Elec2 is a published number (0.853): an oracle for the engine
    assert "no-change baseline: 0.853" in result.output
    for name in ("lr", "nb", "majority", "nochange", "batch-lr", "batch-lgbm", "hybrid"):
        assert name in result.output
    assert "Verdict" in result.output and "recommendation" not in result.output
    assert (tmp_path / "report.html").stat().st_size > 1_000_000


def test_compare_with_a_text_column(tmp_path):
    pytest.importorskip("tidal.naive_bayes")
    rng = np.random.default_rng(1)
    n = 300
    colour = rng.choice(["red", "blue"], n)
    df = pd.DataFrame({"colour": colour, "x": rng.normal(size=n)})
    df["y"] = (colour == "red").astype(int)
    path = tmp_path / "cat.csv"
    df.to_csv(path, index=False)
    result = runner.invoke(app, ["compare", str(path), "-t", "y", "-m", "nb,majority"])
    assert result.exit_code == 0, result.output
    assert "failed" not in result.output


def test_error_messages_are_printed_as_text_not_markup(tmp_path):
    missing = tmp_path / "data[service].csv"
    result = CliRunner().invoke(app, ["compare", str(missing), "--target", "y"])
    assert result.exit_code == 2
    assert "data[service].csv" in result.output


@pytest.mark.parametrize(
    ("group", "commands"),
    [
        ([], ["compare", "serve", "token"]),
        (["token"], ["create", "rotate", "revoke"]),
        (["schema"], ["infer", "check"]),
        (["quarantine"], ["list", "replay", "purge"]),
    ],
)
def test_a_command_group_called_alone_prints_its_help(group, commands):
    result = runner.invoke(app, group)
    assert "Usage: " in result.output
    assert all(f" {name} " in result.output for name in commands), result.output


def test_compare_measures_costs_of_a_batch_learner_whose_first_block_was_refused(tmp_path):
    """A NaN in a one-hot encoded text column stops the batch learner at its first block; its
    cost columns are then 'nothing kept, nothing trained', not an AttributeError warning."""
    csv = tmp_path / "bad.csv"
    csv.write_text("a,b,y\n1,2,0\n3,,1\n4,x,0\n5,6,1\n")
    out = tmp_path / "out.json"
    result = runner.invoke(
        app, ["compare", str(csv), "--target", "y", "--models", "batch-lr", "--json", str(out)]
    )
    assert "costs not measured" not in result.output, result.output
    row = next(r for r in json.loads(out.read_text())["results"] if r["learner"] == "batch-lr")
    assert row["status"] == "error" and "column 'b'" in row["error"]
    assert (row["bytes_kept"], row["retrains"], row["staleness_mean"]) == (0, 0, None)
