"""The zoo's default regressors are safe on unscaled data (issue 17: Elec2's nswdemand gave the
default linreg R2 = -4.3e26, the weather stream's temperature an arf R2 = -1.7e6)."""

import numpy as np

from tidal import zoo
from tidal.evaluate import prequential


def _unscaled_stream(n=6000, seed=0):
    """Features of very different scales, one constant for 4,000 rows and then varying (as
    Elec2's vicprice): its scaled value jumps to ~60 standard deviations at row 4,000."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * np.array([1.0, 50.0, 1000.0]) + np.array([0.0, 100.0, 1e4])
    X[:4000, 0] = 0.0035
    X[4000:, 0] = rng.uniform(0, 1, size=n - 4000)
    y = 20 + 3 * X[:, 0] + 0.01 * X[:, 1] + 0.001 * X[:, 2] + rng.normal(size=n)
    return X, y


def test_default_regressors_do_not_diverge_on_unscaled_data():
    X, y = _unscaled_stream()
    names = ["linreg", "par", "htr", "arf", "hybrid", "mean"]
    learners = {m: zoo.make(m, task="regression") for m in names if m in zoo.names()}
    res = prequential((X, y), learners, on_error="record", warmup=False)
    assert {r["learner"]: r["status"] for r in res.rows} == dict.fromkeys(learners, "ok")
    assert all(np.isfinite(r["R2"]) and r["R2"] > -20 for r in res.rows)
