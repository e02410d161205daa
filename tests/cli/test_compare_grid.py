"""`tidal compare FILE FILE --seeds N`: per-seed rows, mean ± sd, the verdict on one seed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tidal import zoo
from tidal.cli import app
from tidal.cli._grid import optional_values

runner = CliRunner()


def test_grid_prints_seeds_and_summary_and_writes_the_json(tmp_path):
    rng = np.random.default_rng(3)
    paths = []
    for i in range(2):
        df = pd.DataFrame({"a": rng.normal(size=1500), "b": rng.normal(size=1500)})
        df["y"] = (df["a"] - df["b"] > 0).astype(int)
        paths.append(tmp_path / f"f{i}.csv")
        df.to_csv(paths[-1], index=False)
    out = tmp_path / "grid.json"
    args = ["compare", *map(str, paths), "-t", "y", "-m", "arf:n_models=2,nb", "--seeds", "2"]
    result = runner.invoke(app, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "mean ± sd over the seeds" in result.output
    assert f"Verdict on {paths[0]} with seed 42" in result.output
    data = json.loads(out.read_text())
    assert [(r["file"], r["seed"]) for r in data["runs"]] == [
        (str(p), s) for p in paths for s in (42, 43)
    ]
    arf = [r for r in data["summary"] if r["learner"] == "arf:n_models=2"]
    assert [r["n"] for r in arf] == [2, 2]
    accs = [
        next(x for x in run["results"] if x["learner"] == "arf:n_models=2")["Accuracy"]
        for run in data["runs"][:2]
    ]
    assert arf[0]["Accuracy"]["mean"] == np.mean(accs)
    assert data["verdict"]["seed"] == 42 and data["verdict"]["recommendation"]


def test_ray_alone_means_a_local_ray():
    assert optional_values(["compare", "a.csv", "--ray"])[-2:] == ["--ray", "local"]
    assert optional_values(["--ray", "auto", "--seeds", "2"]) == ["--ray", "auto", "--seeds", "2"]


def _csv(tmp_path, n=2000):
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    df["y"] = (df["a"] > 0).astype(int)
    path = tmp_path / "one.csv"
    df.to_csv(path, index=False)
    return path


def test_ctrl_c_in_a_grid_keeps_the_cells_done_marked_partial(tmp_path, monkeypatch):
    from tests.cli.test_compare_run import Raises  # raises after N rows

    real = zoo.make

    def make(spec, **kw):
        return Raises(4500, "KeyboardInterrupt") if spec.startswith("stop") else real(spec, **kw)

    monkeypatch.setattr("tidal.zoo.make", make)
    out = tmp_path / "partial.json"
    path = _csv(tmp_path, 6000)
    args = ["compare", str(path), "-t", "y", "-m", "nb,stop,lr", "--seeds", "2"]
    result = runner.invoke(app, [*args, "--json", str(out)])
    assert result.exit_code == 130, result.output
    assert "PARTIAL: interrupted" in result.output
    data = json.loads(out.read_text())
    assert data["grid"]["partial"] is True
    done = [c["learner"] for c in data["grid"]["cells"]]
    assert done == ["nb", "stop"]  # lr never started
    stop = next(r for r in data["runs"][0]["results"] if r["learner"] == "stop")
    assert 4000 <= stop["rows"] < 6000  # the interrupted cell's rows so far


@pytest.mark.xdist_group("ray")
def test_compare_with_ray_runs_the_cells_as_tasks(tmp_path, ray_cluster):
    path = _csv(tmp_path)
    args = ["compare", str(path), "-t", "y", "-m", "nb", "--ray", "local"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "ray (2 workers)" in result.output
