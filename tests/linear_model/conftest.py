"""Streams and the River oracle shared by the linear-model tests."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest

ELEC2 = str(resources.files("tidal.datasets") / "elec2.csv.gz")  # bundled copy


class Stream:
    """A feature frame plus targets of every kind, and the same rows as River dicts."""

    def __init__(self, X: pd.DataFrame, binary, multiclass, target):
        self.X = X
        self.binary = np.asarray(binary)
        self.multiclass = np.asarray(multiclass)
        self.target = np.asarray(target, dtype=float)
        self.rows = X.to_dict(orient="records")


def _synthetic(n: int = 3000, d: int = 5, seed: int = 7) -> Stream:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.array([1.0, 2.0, 0.5, 3.0, 1.0])[:d]
    W = rng.normal(size=(d, 3))
    score = X @ W
    # the concept flips half-way, so the learners keep moving (a stricter oracle comparison)
    score[n // 2 :] *= -1
    noisy = score + rng.normal(size=score.shape)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(d)])
    return Stream(
        frame,
        binary=noisy[:, 0] > 0,
        multiclass=np.array(["a", "b", "c"])[np.argmax(noisy, axis=1)],
        target=score[:, 1] + 0.1 * rng.normal(size=n),
    )


def _elec2(n: int | None) -> Stream:
    df = pd.read_csv(ELEC2, nrows=n)
    return _elec2_stream(df, df.drop(columns=["up"]), df["up"].to_numpy().astype(bool))


def _elec2_stream(df: pd.DataFrame, X: pd.DataFrame, up: np.ndarray) -> Stream:
    demand = df["nswdemand"]
    cuts = np.quantile(demand, [1 / 3, 2 / 3])
    s = Stream(
        X,
        binary=up,
        multiclass=np.array(["low", "mid", "high"])[np.digitize(demand, cuts)],
        target=demand,
    )
    # regression and multiclass predict demand from the other columns
    s.X_no_demand = X.drop(columns=["nswdemand"])
    s.rows_no_demand = s.X_no_demand.to_dict(orient="records")
    return s


@pytest.fixture(scope="session")
def synthetic() -> Stream:
    return _synthetic()


@pytest.fixture(scope="session")
def elec2_head() -> Stream:
    return _elec2(3000)


@pytest.fixture(scope="session")
def elec2_full() -> Stream:
    return _elec2(None)


def river_proba(model, rows, y, classes, w=None) -> np.ndarray:
    """River's prequential probabilities, one column per class in ``classes`` order."""
    out = np.zeros((len(rows), len(classes)))
    for i, (x, yi) in enumerate(zip(rows, y)):
        p = model.predict_proba_one(x)
        out[i] = [p.get(c, 0.0) for c in classes]
        if w is None:
            model.learn_one(x, yi)
        else:
            model.learn_one(x, yi, w[i])
    return out


def river_values(model, rows, y) -> np.ndarray:
    """River's prequential predictions of a regressor."""
    out = np.zeros(len(rows))
    for i, (x, yi) in enumerate(zip(rows, y)):
        out[i] = model.predict_one(x)
        model.learn_one(x, yi)
    return out


@pytest.fixture(scope="session")
def oracle():
    """River's prequential runners: ``oracle.proba(model, rows, y, classes)``, ``oracle.values``."""
    from types import SimpleNamespace

    return SimpleNamespace(proba=river_proba, values=river_values)
