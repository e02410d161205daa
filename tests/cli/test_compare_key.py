"""`tidal compare data.csv --target y --key store`: global vs per-key vs global+per-key models."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tidal.cli import app
from tidal.evaluate._keyed_compare import KeyedLearner
from tidal.evaluate._words import numbers
from tidal.linear_model import LogisticRegression

runner = CliRunner()
KEYS = 20


def _stream(own_concept: bool, n: int = 6000, seed: int = 0) -> pd.DataFrame:
    """Each store's label follows x1 with its own sign (own concept), or all the same sign."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, KEYS, n)
    sign = np.where(rng.uniform(size=KEYS) < 0.5, -1, 1) if own_concept else np.ones(KEYS)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = (sign[k] * x1 + 0.2 * x2 > 0).astype(int)
    return pd.DataFrame({"store": [f"s{i}" for i in k], "x1": x1, "x2": x2, "y": y})


def _compare(tmp_path, df):
    path, out = tmp_path / "keyed.csv", tmp_path / "keyed.json"
    df.to_csv(path, index=False)
    result = runner.invoke(
        app, ["compare", str(path), "-t", "y", "--key", "store", "--json", str(out)],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output, json.loads(out.read_text())


def test_per_key_models_win_when_each_key_has_its_own_concept(tmp_path):
    output, data = _compare(tmp_path, _stream(own_concept=True))
    rows = {r["learner"]: r for r in data["results"]}
    assert set(rows) >= {"lr", "lr@store", "lr@store+global"}
    keyed = data["verdict"]["details"]["keyed"]
    assert keyed["wins"] and keyed["global"] == "lr" and keyed["per_key"].startswith("lr@store")
    assert keyed["gap"] > 0.2  # the global model cannot fit opposite signs
    assert "Per-key models win" in data["verdict"]["reasons"][0]
    assert f"{100 * keyed['gap']:.1f} points" in data["verdict"]["reasons"][0]
    # the per-key cost: every key has its own model, memory per key in the table and the JSON
    per = rows["lr@store"]
    assert per["keys"] == KEYS and per["models"] == KEYS and rows["lr@store+global"]["models"] == 21
    assert per["bytes_per_key"] == per["peak_model_bytes"] / KEYS
    assert "memory/key" in output and "Per-key cost" in output
    # every number of the verdict's text is a citation (learner names and numbering aside)
    text = re.sub(r"(?m)^\d+\. ", "", data["verdict"]["text"])
    for name in sorted(rows, key=len, reverse=True):
        text = text.replace(name, "L")
    cited = sorted(x for q in data["verdict"]["quotes"] for x in numbers(q[2]))
    assert sorted(numbers(text)) == cited


def test_per_key_models_do_not_win_when_keys_share_one_concept(tmp_path):
    _, data = _compare(tmp_path, _stream(own_concept=False))
    keyed = data["verdict"]["details"]["keyed"]
    assert not keyed["wins"]
    assert "do not beat the global model" in data["verdict"]["reasons"][0]


def test_a_missing_key_column_is_named_with_the_columns(tmp_path):
    path = tmp_path / "k.csv"
    _stream(True, n=50).to_csv(path, index=False)
    result = runner.invoke(app, ["compare", str(path), "-t", "y", "--key", "shop"])
    assert result.exit_code == 2
    assert "--key 'shop': no such feature column" in result.output
    assert "store, x1, x2" in result.output


@pytest.mark.parametrize("mode", ["per-key", "global+per-key"])
def test_keyed_probabilities_are_each_key_models_own(mode):
    df = _stream(True, n=1500, seed=1)
    X, y = df[["store", "x1", "x2"]], df["y"].to_numpy()
    keyed = KeyedLearner(LogisticRegression(), key="store", mode=mode)
    P = np.vstack(
        [keyed.step_proba_many(X[a : a + 100], y[a : a + 100]) for a in range(0, 1500, 100)]
    )
    rows = np.flatnonzero(df["store"].to_numpy() == "s3")
    if mode == "per-key":  # key s3 alone, from scratch
        alone = LogisticRegression().step_proba_many(X.iloc[rows][["x1", "x2"]], y[rows])
        assert keyed.classes_ == [0, 1]
        assert np.abs(P[rows][5:] - alone[5:]).max() < 1e-12  # once it has seen both classes
    else:  # warm-started keys predict their first row with the global model's knowledge
        assert P[rows[0]].max() > 0.5


def test_keys_without_a_label_yet_get_no_answer_not_an_error():
    keyed = KeyedLearner(LogisticRegression(), key="store", mode="per-key")
    keyed.learn_many({"store": ["a", "a"], "x": [1.0, -1.0]}, [1, 0])
    P = keyed.predict_proba_many({"store": ["a", "new"], "x": [1.0, 1.0]})
    assert P[0].sum() == 1.0 and P[1].tolist() == [0.0, 0.0]  # scored as a mistake


def test_late_labels_every_keyed_model_runs_to_the_end(tmp_path):
    path = tmp_path / "late.csv"
    _stream(True, n=2000).to_csv(path, index=False)
    args = ["compare", str(path), "-t", "y", "--key", "store", "--delay", "50"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "failed" not in result.output and "stopped" not in result.output
