"""Compare grids: learners x seeds x files, cell by cell, here or as Ray tasks; the same numbers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tidal import zoo
from tidal.cli._data import open_source as _open  # importable: Ray tasks get it by name
from tidal.evaluate import prequential
from tidal.evaluate._grid import run_grid, without_timing

SPECS = ["arf:n_models=3", "nb"]


def _drifting(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A concept flip at n/2, so the merged run has a change point to analyse."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    flip = np.r_[np.ones(n // 2), -np.ones(n - n // 2)]
    df["y"] = (flip * df["a"] + 0.3 * df["b"] > 0).astype(int)
    return df


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grid")
    paths = []
    for i in range(2):
        path = folder / f"s{i}.csv"
        _drifting(2500, seed=i).to_csv(path, index=False)
        paths.append(str(path))
    return paths


def test_one_seed_merged_equals_the_learners_side_by_side():
    df = _drifting(6000)
    specs = ["lr", "nb"]  # lr's errors show the flip (ARF recovers before ADWIN sees it)
    grid = run_grid([df], specs, seeds=[42], target="y", every=500)
    merged = grid.results(0, 42)
    learners = {s: zoo.make(s, task="binary") for s in specs}
    joint = prequential(df, learners, target="y", every=500, task="binary")
    assert merged.analysis["change_points"] == joint.analysis["change_points"]
    assert joint.analysis["change_points"]  # the flip is found: the analysis is compared
    assert without_timing(merged.to_dict()["results"]) == without_timing(joint.to_dict()["results"])
    assert without_timing(merged.checkpoints) == without_timing(joint.checkpoints)
    assert without_timing(merged.analysis) == without_timing(joint.analysis)


def test_each_seed_reaches_the_seeded_learner_only(files):
    grid = run_grid(files[:1], SPECS, seeds=[1, 2], opener=_open, target="y", every=500)
    arf = {s: grid.results(0, s)["arf:n_models=3"] for s in (1, 2)}
    assert arf[1]["Accuracy"] != arf[2]["Accuracy"]
    seeds = {s: grid.results(0, s).meta["learners"]["arf:n_models=3"]["seeds"] for s in (1, 2)}
    assert [v for k, v in seeds[1].items() if k.endswith("seed")] == [1]
    assert [v for k, v in seeds[2].items() if k.endswith("seed")] == [2]
    # nb takes no seed: it ran once and stands in both seeds' results
    assert [c.spec for c in grid.cells].count("nb") == 1
    assert grid.results(0, 1)["nb"] == grid.results(0, 2)["nb"]
    summary = {r["learner"]: r for r in grid.summary(["Accuracy"])}
    acc = [arf[1]["Accuracy"], arf[2]["Accuracy"]]
    assert summary["arf:n_models=3"]["Accuracy"]["mean"] == pytest.approx(np.mean(acc))
    assert summary["arf:n_models=3"]["Accuracy"]["sd"] == pytest.approx(np.std(acc, ddof=1))
    assert summary["nb"]["n"] == 1 and summary["nb"]["Accuracy"]["sd"] is None


def test_a_failing_cell_keeps_its_error_in_its_row(files):
    grid = run_grid([files[0], "no/such.csv"], ["nb"], seeds=[42], opener=_open, target="y")
    ok, bad = grid.results(0), grid.results(1)
    assert ok["nb"]["rows"] == 2500 and not ok["nb"].get("error")
    assert bad["nb"]["status"] == "error" and "no/such.csv" in bad["nb"]["error"]


@pytest.mark.xdist_group("ray")
def test_ray_grid_equals_the_sequential_grid_but_for_the_clocks(files, ray_cluster):
    kw = dict(opener=_open, target="y", every=500)
    here = run_grid(files, SPECS, seeds=[42, 43], **kw)
    there = run_grid(files, SPECS, seeds=[42, 43], ray=True, **kw)
    assert there.mode == "ray" and here.mode == "sequential"
    a, b = here.to_dict(), there.to_dict()
    assert json.dumps(without_timing(a), sort_keys=True) == json.dumps(
        without_timing(b), sort_keys=True
    )
    # CPU was measured inside the tasks (the driver spent none on the learners)
    assert all(r["cpu_s"] > 0 for run in b["runs"] for r in run["results"] if r["rows"])


@pytest.mark.xdist_group("ray")
def test_ray_failing_cell_keeps_its_error_in_its_row(files, ray_cluster):
    grid = run_grid([files[0], "no/such.csv"], ["nb"], seeds=[42], opener=_open, target="y",
                    ray=True)  # fmt: skip
    assert grid.results(0)["nb"]["rows"] == 2500
    assert "no/such.csv" in grid.results(1)["nb"]["error"]
