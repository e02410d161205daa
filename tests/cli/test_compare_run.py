"""`tidal compare` ends well: outputs checked first, one line for bad headers, a non-zero exit
when no model finished, and Ctrl-C keeps the partial results (marked partial)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import tidal.evaluate
from tidal import zoo
from tidal.cli import app
from tidal.dummy import MajorityClassifier

runner = CliRunner()


@pytest.fixture
def csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 3000
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    df["label"] = (df["a"] > 0).astype(int)
    path = tmp_path / "stream.csv"
    df.to_csv(path, index=False)
    return path


class Raises(MajorityClassifier):
    """Raises ``error`` once it has learned more than ``at`` rows."""

    def __init__(self, at: int = 1000, error: str = "ZeroDivisionError"):
        self.at = at
        self.error = error

    def _step_arrays(self, X_pred, X_learn, y, w, out):  # noqa: ANN001
        self._rows = getattr(self, "_rows", 0) + (out.shape[0] if X_learn is not None else 0)
        if self._rows > self.at:
            raise {"ZeroDivisionError": ZeroDivisionError, "KeyboardInterrupt": KeyboardInterrupt}[
                self.error
            ]("stop")
        super()._step_arrays(X_pred, X_learn, y, w, out)


def _ran(*args, **kwargs):
    raise AssertionError("the run started")


@pytest.mark.parametrize("option", ["--report", "--json"])
def test_output_paths_are_checked_before_the_run(csv, tmp_path, monkeypatch, option):
    monkeypatch.setattr(tidal.evaluate, "prequential", _ran)
    bad = tmp_path / "no" / "such" / "folder" / "out.html"
    result = runner.invoke(
        app, ["compare", str(csv), "-t", "label", "-m", "majority", option, str(bad)]
    )
    assert result.exit_code == 2, result.output
    assert f"{option} {bad}: folder" in result.output and "does not exist" in result.output


@pytest.mark.parametrize("grid", [[], ["--seeds", "2"]], ids=["single", "grid"])
def test_models_naming_nothing_is_refused_before_the_run(csv, monkeypatch, grid):
    # the grid too: a verdict on the baselines alone answers nothing that was asked
    monkeypatch.setattr(tidal.evaluate, "prequential", _ran)
    monkeypatch.setattr(tidal.evaluate, "run_grid", _ran)
    result = runner.invoke(app, ["compare", str(csv), "-t", "label", "-m", " , ", *grid])
    assert result.exit_code == 2, result.output
    assert "no models given" in result.output


def test_duplicate_column_names_give_one_clear_line(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a,y\n1,2,3,0\n4,5,6,1\n")
    result = runner.invoke(app, ["compare", str(path), "-t", "y"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {path}: columns 1 and 3 of the header are both named 'a': column names must be "
        "unique"
    ]


def test_exit_code_is_non_zero_when_no_model_finished(csv, monkeypatch):
    monkeypatch.setattr(zoo, "make", lambda spec, **kw: Raises(1000))
    result = runner.invoke(app, ["compare", str(csv), "-t", "label", "-m", "a,b"])
    assert result.exit_code == 1, result.output
    assert "no model finished the run" in result.output
    assert "ZeroDivisionError: stop" in result.output  # each learner's own error, in its row


def test_one_failing_model_does_not_stop_the_others(csv, monkeypatch):
    make = zoo.make
    monkeypatch.setattr(
        zoo, "make", lambda spec, **kw: Raises(1000) if spec == "bad" else make(spec, **kw)
    )
    result = runner.invoke(app, ["compare", str(csv), "-t", "label", "-m", "bad,nb"])
    assert result.exit_code == 0, result.output
    assert "bad (failed)" in result.output


def test_ctrl_c_writes_the_partial_results_and_report(csv, tmp_path, monkeypatch):
    make = zoo.make
    monkeypatch.setattr(
        zoo,
        "make",
        lambda spec, **kw: (
            Raises(2000, "KeyboardInterrupt") if spec == "stop" else make(spec, **kw)
        ),
    )
    out, report = tmp_path / "res.json", tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "compare",
            str(csv),
            "-t",
            "label",
            "-m",
            "majority,stop",
            "--json",
            str(out),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 130, result.output
    assert "PARTIAL: interrupted at row 2,000" in result.output
    data = json.loads(out.read_text())
    assert data["meta"]["partial"] is True and data["meta"]["rows_done"] == 2000
    assert "PARTIAL: interrupted at row 2,000" in report.read_text()


def test_default_lightgbm_retrains_a_bounded_number_of_times_on_a_long_stream():
    from tidal.cli._compare_setup import default_models as _default_models

    assert {"batch-lgbm", "batch-lr"} <= set(_default_models("multiclass", 45_312))
    long = _default_models("multiclass", 581_012)
    assert "batch-lgbm:every=59000" in long  # ~10 retrains, not 116
    assert "batch-lr:every=6000" in long  # ~100, not 581
    assert zoo.make("batch-lgbm:every=59000", task="multiclass").retrain.n == 59000
