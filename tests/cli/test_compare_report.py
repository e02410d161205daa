"""``tidal compare`` with batch and hybrid models, the verdict, --report and --change-points."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tidal.cli import app
from tidal.evaluate._verdict import parse_quotes
from tidal.evaluate._words import human

runner = CliRunner()


@pytest.fixture
def drifting_csv(tmp_path):
    rng = np.random.default_rng(5)
    n = 3000
    X = rng.normal(size=(n, 2))
    sign = np.where(np.arange(n) < 1500, 1.0, -1.0)
    df = pd.DataFrame(X, columns=["a", "b"])
    df["label"] = np.where(sign * X[:, 0] + 0.2 * rng.normal(size=n) > 0, "up", "down")
    path = tmp_path / "drift.csv"
    df.to_csv(path, index=False)
    return path


def test_compare_batch_and_hybrid_writes_report_and_json(drifting_csv, tmp_path):
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    models = "lr,batch-lr:every=500:window=1000:delay=50,hybrid:every=500,nochange"
    result = runner.invoke(
        app,
        [
            "compare", str(drifting_csv), "-t", "label", "-m", models,
            "--change-points", "1500", "--report", str(html), "--json", str(js),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Verdict" in result.output and "engine" in result.output
    data = json.loads(js.read_text())
    assert data["analysis"]["change_points"] == [1500]
    rows = {r["learner"]: r for r in data["results"]}
    batch = rows["batch-lr:every=500:window=1000:delay=50"]
    assert batch["family"] == "batch" and batch["retrains"] >= 5
    assert rows["hybrid:every=500"]["family"] == "hybrid"
    # the verdict printed on the console quotes the JSON table
    quotes = parse_quotes(data["verdict"])
    assert quotes and all(
        text == human(col, rows[name][col])
        for name, col, text in quotes
        if col in rows.get(name, {})
    )
    assert "<script src=" not in html.read_text(encoding="utf-8")


def test_change_points_none_and_bad_value(drifting_csv):
    ok = runner.invoke(
        app, ["compare", str(drifting_csv), "-t", "label", "-m", "nochange",
              "--change-points", "none"],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(
        app, ["compare", str(drifting_csv), "-t", "label", "-m", "nochange",
              "--change-points", "12,abc"],
    )  # fmt: skip
    assert bad.exit_code == 2 and "row numbers" in bad.output
