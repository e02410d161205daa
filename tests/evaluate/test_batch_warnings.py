"""Bad set-ups of batch learners are shown in the results, the report and the CLI, never silent."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from tidal.batch import BatchLearner, EveryN
from tidal.cli import app
from tidal.evaluate import prequential
from tidal.evaluate._report import write_report


def stream(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] > 0).astype(int)


def test_a_policy_that_never_fires_and_a_window_larger_than_the_stream_are_reported(tmp_path):
    X, y = stream()
    never = BatchLearner(LogisticRegression(), retrain=EveryN(100_000), window=50_000)
    fine = BatchLearner(LogisticRegression(), retrain=EveryN(200), window=300)
    res = prequential((X, y), {"never": never, "fine": fine}, fingerprint=False)
    warnings = {r["learner"]: r["warnings"] for r in res.rows}
    assert any("never put a model live in 600 rows" in w for w in warnings["never"])
    assert any(
        "window == 50000 is larger than the stream (600 rows)" in w for w in warnings["never"]
    )
    assert warnings["fine"] == []
    page = write_report(res, tmp_path / "r.html").read_text()
    assert "<h2>Warnings</h2>" in page and "never put a model live in 600 rows" in page


def test_single_class_first_window_is_reported():
    X, _ = stream()
    y = np.r_[np.zeros(300, dtype=int), (X[300:, 0] > 0).astype(int)]
    m = BatchLearner(LogisticRegression(), retrain=EveryN(100))
    with pytest.warns(UserWarning, match="single class"):
        res = prequential((X, y), {"batch": m}, fingerprint=False)
    (row,) = res.rows
    assert sum("holds a single class" in w for w in row["warnings"]) == 3  # rows 100, 200, 300


def test_compare_task_override_and_its_error(tmp_path):
    X, y = stream(400)
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,y\n" + "\n".join(f"{a},{b},{t}" for (a, b), t in zip(X, y)))
    runner = CliRunner()
    out = runner.invoke(
        app,
        ["compare", str(csv), "--target", "y", "--models", "linreg,mean", "--task", "regression"],
    )
    assert out.exit_code == 0, out.output
    assert "MAE" in out.output and "Accuracy" not in out.output
    bad = runner.invoke(app, ["compare", str(csv), "--target", "y", "--task", "ranking"])
    assert bad.exit_code == 2 and "--task 'ranking'" in bad.output
