"""Keyed: one model per key, exact per key whatever the block size, bounded memory."""

from __future__ import annotations

import numpy as np
import pytest
from river import linear_model as rl
from river import optim as ro

from tidal.base.exceptions import InputError, NotFittedError, ParameterError
from tidal.base.state import read_state, save_state
from tidal.compose import Keyed
from tidal.linear_model import LinearRegression
from tidal.tree import HoeffdingTreeClassifier

N, KEYS = 3000, 40


def stream(seed: int = 0):
    """Keys interleaved at random, each with its own slope: a global model cannot fit them."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, KEYS, N)
    slope = rng.normal(0, 3, KEYS)
    x1, x2 = rng.normal(size=N), rng.normal(size=N)
    y = slope[keys] * x1 + 0.5 * x2 + 0.1 * rng.normal(size=N)
    X = {"store": keys, "x1": x1, "x2": x2}
    return X, y


def blocks(X, y, size):
    for a in range(0, len(y), size):
        yield {k: v[a : a + size] for k, v in X.items()}, y[a : a + size]


def run(model, X, y, size):
    return np.concatenate([model.step_many(Xb, yb) for Xb, yb in blocks(X, y, size)])


def test_each_key_equals_river_on_its_own_rows():
    X, y = stream()
    got = Keyed(LinearRegression(), key="store").step_many(X, y)
    river = {}
    expected = np.empty(N)
    for i in range(N):
        m = river.setdefault(int(X["store"][i]), rl.LinearRegression(optimizer=ro.SGD(0.01)))
        row = {"x1": X["x1"][i], "x2": X["x2"][i]}
        expected[i] = m.predict_one(row)
        m.learn_one(row, y[i])
    assert np.abs(got - expected).max() < 1e-9
    # and per-key models are what this stream needs: one global model does much worse
    glob = LinearRegression().step_many({"x1": X["x1"], "x2": X["x2"]}, y)
    tail = slice(N // 2, None)
    assert np.abs(got - y)[tail].mean() < 0.5 * np.abs(glob - y)[tail].mean()


@pytest.mark.parametrize("warm_start", [False, True])
def test_same_answers_at_every_block_size(warm_start):
    X, y = stream(1)
    yc = y > 0
    results = []
    for size in (1, 7, 256, N):
        m = Keyed(HoeffdingTreeClassifier(grace_period=20), key="store", warm_start=warm_start)
        results.append(run(m, X, yc, size))
    for r in results[1:]:
        np.testing.assert_array_equal(results[0], r)


def test_a_new_key_starts_from_the_global_model_before_its_first_row():
    X, y = stream(2)
    m = Keyed(LinearRegression(), key="store", warm_start=True)
    got = m.step_many(X, y)
    first = {}
    for i, k in enumerate(X["store"].tolist()):
        first.setdefault(k, i)
    i = sorted(first.values())[10]  # a key first seen after others were learned
    glob = LinearRegression().learn_many({"x1": X["x1"][:i], "x2": X["x2"][:i]}, y[:i])
    assert got[i] == glob.predict_one({"x1": X["x1"][i], "x2": X["x2"][i]})
    assert got[i] != 0.0  # a cold model would say 0
    # an unseen key is answered by the global model
    assert m.predict_one({"store": -1, "x1": 1.0, "x2": 0.0}) == m._global.predict_one(
        {"x1": 1.0, "x2": 0.0}
    )


def test_spilling_to_disk_changes_no_answer(tmp_path):
    X, y = stream(3)
    free = run(Keyed(LinearRegression(), key="store"), X, y, 100)
    bounded = Keyed(LinearRegression(), key="store", max_in_memory=3, spill_dir=tmp_path)
    got = run(bounded, X, y, 100)
    np.testing.assert_array_equal(free, got)
    assert bounded.n_in_memory_ == 3 and len(bounded.keys_) == KEYS
    assert len(list(tmp_path.glob("*.npz"))) == KEYS - 3


def test_state_round_trip_through_a_file_continues_identically(tmp_path):
    X, y = stream(4)
    half = N // 2
    first = {k: v[:half] for k, v in X.items()}
    rest = {k: v[half:] for k, v in X.items()}
    a = Keyed(LinearRegression(), key="store", warm_start=True, max_in_memory=5)
    a.learn_many(first, y[:half])
    b = Keyed.from_state(read_state(save_state(a.state_dict(), tmp_path / "k.npz")))
    assert sorted(b.keys_) == sorted(a.keys_)
    np.testing.assert_array_equal(a.step_many(rest, y[half:]), b.step_many(rest, y[half:]))


def test_clear_errors():
    m = Keyed(LinearRegression(), key="store")
    with pytest.raises(InputError, match="no key column 'store'"):
        m.learn_many({"x": [1.0]}, [1.0])
    with pytest.raises(NotFittedError, match="no model for key 7"):
        m.predict_one({"store": 7, "x": 1.0})
    with pytest.raises(ParameterError, match="max_in_memory == 0"):
        Keyed(LinearRegression(), key="store", max_in_memory=0)
    with pytest.raises(InputError, match="3 rows but 2 labels"):
        m.learn_many({"store": [1, 2, 3], "x": [1.0, 2.0, 3.0]}, [1.0, 2.0])
