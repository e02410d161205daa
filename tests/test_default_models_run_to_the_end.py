"""Every default model of ``tidal compare`` runs to the end of a stream with NaN cells, and of a
stream with a multiclass target (issue 17: one NaN stopped the run with an AttributeError;
``hybrid`` and ``switch`` did the same on multiclass data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tidal.cli._app import run_compare
from tidal.cli._compare_setup import default_models as _default_models

N = 3000


def _frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 4))
    score = X @ np.array([1.5, -1.0, 0.5, 0.0]) + rng.normal(scale=0.5, size=N)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    df["y"] = score
    return df


def _run(tmp_path, df: pd.DataFrame, models: list[str]) -> list[dict]:
    path = tmp_path / "stream.csv"
    df.to_csv(path, index=False)
    results = run_compare(
        str(path), "y", ",".join(models), 1000, 500, 0, None, quiet=True, show_verdict=False
    )
    return results.rows


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_csv_with_nan_cells_runs_every_default_model_to_the_end(tmp_path, task):
    df = _frame()
    if task == "binary":
        df["y"] = (df["y"] > 0).astype(int)
    elif task == "multiclass":
        df["y"] = np.array(["low", "mid", "high"])[np.digitize(df["y"], [-1.0, 1.0])]
    rng = np.random.default_rng(1)
    for col in "abcd":
        df.loc[rng.random(N) < 0.03, col] = np.nan
    df.loc[0, "a"] = np.nan  # in the first block, before any model exists
    models = _default_models(task)
    rows = _run(tmp_path, df, models)
    assert [r["learner"] for r in rows] == models
    for r in rows:
        assert r["error"] is None, f"{r['learner']}: {r['error']}"


def test_a_multiclass_csv_runs_every_default_model_and_hybrid_and_switch(tmp_path):
    df = _frame(2)
    df["y"] = np.array(["low", "mid", "high"])[np.digitize(df["y"], [-1.0, 1.0])]
    models = [*_default_models("multiclass"), "hybrid", "switch"]
    rows = _run(tmp_path, df, models)
    for r in rows:
        assert r["error"] is None, f"{r['learner']}: {r['error']}"
        assert 0.0 <= r["Accuracy"] <= 1.0
        if r["learner"] in ("hybrid", "switch"):  # they really learned the three classes
            assert r["Accuracy"] > 0.6, (r["learner"], r["Accuracy"])
