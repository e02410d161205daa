"""The prequential engine: exact per-row order (block sizes, label delay), checkpoints, stamping."""

from __future__ import annotations

import json
from collections import deque

import numpy as np
import pandas as pd
import pytest

from tidal import metrics as tm
from tidal.base import InputError, Tags
from tidal.dummy import MajorityClassifier, NoChangeClassifier, RunningMeanRegressor
from tidal.evaluate import model_bytes, prequential
from tidal.stream import from_arrays, from_frame

N = 300


def _data(seed=0, n=N):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = ((X[:, 0] + 0.5 * rng.normal(size=n)) > 0).astype(int)
    # a drift halfway, so the learners' predictions depend on what they have learned
    y[n // 2 :] = 1 - y[n // 2 :]
    return X, y


def _classifiers():
    out = {"majority": MajorityClassifier(), "nochange": NoChangeClassifier()}
    try:
        from tidal.linear_model import LogisticRegression
        from tidal.preprocessing import StandardScaler

        out["lr"] = StandardScaler() | LogisticRegression()
    except ImportError:
        pass
    return out


class Recorder:
    """Collects the engine's predictions per learner through the callback hook."""

    def __init__(self):
        self.preds = {}
        self.starts = {}

    def __call__(self, event):
        if event.y_pred is not None:
            self.preds.setdefault(event.name, []).extend(event.y_pred.tolist())
            self.starts.setdefault(event.name, []).append(event.block.start)


@pytest.mark.parametrize("block_size", [1, 7, 4096])
def test_no_delay_equals_step_many(block_size):
    X, y = _data()
    rec = Recorder()
    learners = _classifiers()
    reference = {k: m.clone().step_many(X, y).tolist() for k, m in learners.items()}
    res = prequential(from_arrays(X, y, block_size=block_size), learners, every=50, callbacks=[rec])
    for name, expected in reference.items():
        assert rec.preds[name] == expected, name
        acc = np.mean([p == t for p, t in zip(expected, y)])
        assert res[name]["Accuracy"] == pytest.approx(acc, abs=1e-12)


def _hand_loop(learner, X, y, k=None, t=None, seconds=None):
    """Row by row with a queue: predict each row as it arrives, learn labels once they arrive."""
    queue = deque()
    preds = []
    for j in range(len(y)):
        if k is not None:
            while queue and queue[0] + k < j:
                i = queue.popleft()
                learner.learn_many(X[i : i + 1], y[i : i + 1])
        else:
            while queue and t[queue[0]] + seconds < t[j]:
                i = queue.popleft()
                learner.learn_many(X[i : i + 1], y[i : i + 1])
        if learner.is_fitted:
            preds.append(learner.predict_many(X[j : j + 1])[0])
        else:  # what the engine (and predict_one) give before anything was learned
            preds.append(None if learner.tags.is_classifier else 0.0)
        queue.append(j)
    return preds


@pytest.mark.parametrize("delay", [1, 3, 40])
@pytest.mark.parametrize("block_size", [1, 5, 64])
def test_delay_in_rows_equals_hand_loop(delay, block_size):
    X, y = _data(1)
    learners = _classifiers()
    expected = {k: _hand_loop(m.clone(), X, y, k=delay) for k, m in learners.items()}
    rec = Recorder()
    res = prequential(
        from_arrays(X, y, block_size=block_size), learners, delay=delay, every=64, callbacks=[rec]
    )
    for name in learners:
        assert rec.preds[name] == expected[name], name
        assert res[name]["rows"] == N and res[name]["learned"] == N  # pending labels flushed


def test_delay_regressor_and_no_delay_differ():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(N, 2)), rng.normal(size=N).cumsum()
    expected = _hand_loop(RunningMeanRegressor(), X, y, k=5)
    rec = Recorder()
    res = prequential(
        from_arrays(X, y, block_size=16),
        {"mean": RunningMeanRegressor()},
        delay=5,
        callbacks=[rec],
        task="regression",
    )
    assert rec.preds["mean"] == pytest.approx(expected, abs=0)
    no_delay = prequential(from_arrays(X, y), [RunningMeanRegressor()], task="regression")
    assert no_delay.rows[0]["MAE"] != res.rows[0]["MAE"]


@pytest.mark.parametrize("block_size", [1, 9, 512])
def test_delay_in_seconds_equals_hand_loop(block_size):
    X, y = _data(3)
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.integers(0, 4, N)).astype(float)  # ties included
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y, t=t)
    src = from_frame(df, target="y", time_column="t", block_size=block_size)
    expected = _hand_loop(MajorityClassifier(), df[["a", "b", "c"]], y, t=t, seconds=5.0)
    rec = Recorder()
    prequential(src, {"m": MajorityClassifier()}, delay_seconds=5.0, callbacks=[rec])
    assert rec.preds["m"] == expected


def test_delay_in_seconds_needs_a_time_column():
    X, y = _data()
    with pytest.raises(InputError, match="time column"):
        prequential(from_arrays(X, y), [MajorityClassifier()], delay_seconds=1.0)


@pytest.mark.parametrize("block_size", [1, 33, 4096])
def test_checkpoints_are_exact_at_every_row(block_size):
    X, y = _data(4)
    res = prequential(
        from_arrays(X, y, block_size=block_size),
        {"nc": NoChangeClassifier()},
        every=40,
        window=25,
        fingerprint=False,
    )
    preds = NoChangeClassifier().step_many(X, y)
    rows = [c["row"] for c in res.checkpoints]
    assert rows == list(range(40, N + 1, 40)) + [N]
    for c in res.checkpoints:
        r = c["row"]
        assert c["Accuracy"] == tm.Accuracy().update_many(y[:r], preds[:r]).get()
        assert (
            c["Accuracy[25]"] == tm.Accuracy().update_many(y[r - 25 : r], preds[r - 25 : r]).get()
        )
        for key in ("cpu_s", "rows_per_s", "model_bytes", "wall_s", "F1", "ROCAUC[25]"):
            assert key in c
        assert c["rows"] == r


def test_results_are_stamped_and_export():
    from tidal import __version__

    X, y = _data(5)
    src = from_arrays(X, y, block_size=100)
    res = prequential(src, ["majority", "nochange"], every=100)
    assert res.meta["tidal_version"] == __version__
    assert res.meta["data"]["fingerprint"] == src.fingerprint()
    assert res.meta["data"]["rows"] == N
    assert res.meta["learners"]["majority"]["class"] == "tidal.dummy.MajorityClassifier"
    assert res.meta["settings"]["every"] == 100
    data = json.loads(res.to_json())
    assert [r["learner"] for r in data["results"]] == ["majority", "nochange"]
    assert len(data["checkpoints"]) == 2 * 3
    assert res.to_pandas().shape[0] == 2
    assert res.to_polars("checkpoints").height == 6
    row = res["nochange"]
    assert row["cpu_s"] > 0 and row["rows_per_s"] > 0 and row["peak_model_bytes"] >= 0


def test_seeds_are_recorded():
    class Seeded(MajorityClassifier):
        def __init__(self, seed: int = 7):
            self.seed = seed

    res = prequential(from_arrays(*_data()), {"s": Seeded(seed=42)}, fingerprint=False)
    assert res.meta["learners"]["s"]["seeds"] == {"seed": 42}
    assert res.meta["learners"]["s"]["params"] == {"seed": 42}


class Strict(MajorityClassifier):
    _tags = Tags(task="multiclass")  # rejects NaN, so the base raises an InputError


def test_input_error_names_the_stream_row():
    X, y = _data(6)
    X[123, 1] = np.nan
    with pytest.raises(InputError) as info:
        prequential(from_arrays(X, y, block_size=50), {"strict": Strict()})
    assert info.value.row == 123
    assert "stream row 123" in str(info.value) and "'strict'" in str(info.value)


def test_recorded_error_drops_only_that_learner():
    X, y = _data(6)
    X[123, 1] = np.nan
    res = prequential(
        from_arrays(X, y, block_size=50),
        {"strict": Strict(), "ok": MajorityClassifier()},
        on_error="record",
    )
    assert "stream row 123" in res["strict"]["error"]
    assert res["strict"]["rows"] == 100  # the two blocks before the bad one
    assert res["ok"]["error"] is None and res["ok"]["rows"] == N


def test_model_bytes_counts_state_arrays():
    m = MajorityClassifier()
    assert model_bytes(m) == 0
    m.learn_many([{"x": 0.0}] * 4, ["a", "b", "c", "d"])
    assert model_bytes(m) == m.state_dict()["state"]["counts"].nbytes == 32


def test_frame_input_and_bad_target():
    X, y = _data()
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=y)
    res = prequential(df, ["majority"], target="label", fingerprint=False)
    assert res["majority"]["rows"] == N
    with pytest.raises(InputError, match="'nope'"):
        prequential(df, ["majority"], target="nope")


def test_regression_metrics_for_regressors():
    rng = np.random.default_rng(8)
    res = prequential(
        from_arrays(rng.normal(size=(50, 2)), rng.normal(size=50)), ["mean"], window=10
    )
    assert {"MAE", "RMSE", "R2", "MAE[10]"} <= set(res["mean"])
    assert "Accuracy" not in res["mean"]


def test_per_learner_callbacks_see_every_row_once_in_order():
    X, y = _data(9)
    rec = Recorder()
    prequential(
        from_arrays(X, y, block_size=32),
        _classifiers(),
        delay=2,
        every=50,
        callbacks={"nochange": [rec]},
    )
    assert list(rec.preds) == ["nochange"]
    assert len(rec.preds["nochange"]) == N
    assert rec.starts["nochange"] == sorted(rec.starts["nochange"])
