"""``tidal compare``: the baselines always run, and a stream too short gets no verdict."""

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
    rng = np.random.default_rng(2)
    n = 1500
    df = pd.DataFrame(rng.normal(size=(n, 2)), columns=["a", "b"])
    df["label"] = (df["a"] + 0.3 * rng.normal(size=n) > 0).astype(int)
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    return path


def test_baselines_run_also_when_models_are_named(csv, tmp_path):
    js = tmp_path / "r.json"
    result = runner.invoke(app, ["compare", str(csv), "-t", "label", "-m", "lr", "--json", str(js)])
    assert result.exit_code == 0, result.output
    rows = {r["learner"]: r for r in json.loads(js.read_text())["results"]}
    assert set(rows) == {"lr", "majority", "nochange"}
    assert rows["nochange"]["family"] == "baseline"


def test_a_baseline_named_by_the_user_is_not_doubled(csv, tmp_path):
    js = tmp_path / "r.json"
    models = "lr,nochange"
    result = runner.invoke(
        app, ["compare", str(csv), "-t", "label", "-m", models, "--json", str(js)]
    )
    assert result.exit_code == 0, result.output
    names = [r["learner"] for r in json.loads(js.read_text())["results"]]
    assert names == ["lr", "nochange", "majority"]


def test_a_one_row_csv_gets_no_verdict_but_the_counts(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("a,b,label\n0.5,1.0,1\n")
    result = runner.invoke(app, ["compare", str(path), "-t", "label", "-m", "lr"])
    assert result.exit_code == 0, result.output
    assert "Not enough data to decide." in result.output
    assert "Use online learning" not in result.output
    assert "The stream has 1 row with a label" in result.output and "1,000 rows" in result.output


def test_the_readme_example_says_the_no_change_baseline_wins(tmp_path):
    pytest.importorskip("tidal.datasets")
    js = tmp_path / "r.json"
    models = "lr,ht,batch-lgbm,hybrid"  # README.md, "In one minute"
    args = ["compare", "elec2", "--target", "up", "--models", models, "--json", str(js)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    headline = json.loads(js.read_text())["verdict"]["headline"]
    # the baseline comes first, before the family answer
    assert headline.startswith(("No model beats the nochange baseline", "The nochange baseline"))
    assert "Among the models" in headline
