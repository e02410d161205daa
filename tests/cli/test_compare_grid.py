"""`tidal compare FILE FILE --seeds N`: per-seed rows, mean ± sd, the verdict on one seed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

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
