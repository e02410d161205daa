"""Guards in the prequential engine: stream -> guard -> learners, exact per row."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tidal.base import ParameterError
from tidal.dummy import MajorityClassifier, NoChangeClassifier, RunningMeanRegressor
from tidal.evaluate import prequential
from tidal.guards import Guard, Missing, Quarantine, Rule, Schema
from tidal.linear_model import LogisticRegression
from tidal.preprocessing import StandardScaler
from tidal.stream import from_arrays

N = 400
METRICS = ("Accuracy", "F1", "ROCAUC", "LogLoss", "MAE", "RMSE", "R2", "rows", "learned")


def _data(seed=0, n=N):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = ((X[:, 0] + 0.5 * rng.normal(size=n)) > 0).astype(int)
    y[n // 2 :] = 1 - y[n // 2 :]  # a drift: predictions depend on what was learned
    return X, y


def _schema(X, y):
    frame = pd.DataFrame(X[:200], columns=[f"x{j}" for j in range(X.shape[1])])
    frame["y"] = y[:200]
    return Schema.infer(frame, "y")


def _learners():
    return {
        "lr": StandardScaler() | LogisticRegression(),
        "majority": MajorityClassifier(),
        "nochange": NoChangeClassifier(),
    }


def _scores(res):
    rows = [{k: r[k] for k in METRICS if k in r} | {"learner": r["learner"]} for r in res.rows]
    cps = [{k: c[k] for k in ("learner", "row", "Accuracy", "LogLoss")} for c in res.checkpoints]
    return rows, cps


def _run(data, guard=None, **kw):
    return prequential(data, _learners(), every=100, fingerprint=False, guard=guard, **kw)


def _corrupt(X, y):
    """NaN in one row in 10, a value 1e6 in one row in 37 (both quarantined by default)."""
    Xb = X.copy()
    nan_rows = np.arange(3, len(X), 10)
    far_rows = np.setdiff1d(np.arange(5, len(X), 37), nan_rows)
    Xb[nan_rows, 1] = np.nan
    Xb[far_rows, 2] = 1e6
    return Xb, nan_rows, far_rows


@pytest.mark.parametrize("rules", [[], None], ids=["no-rules", "default-rules"])
def test_a_guard_that_passes_everything_changes_nothing(rules):
    X, y = _data()
    guard = Guard(_schema(X, y), rules=rules)
    plain, guarded = _run((X, y)), _run((X, y), guard)
    assert _scores(guarded) == _scores(plain)
    assert guarded.guard["verdicts"]["passed"] == N
    assert guarded.guard["learned"] == guarded.guard["scored"] == N
    assert "guard" not in plain.meta


def test_quarantined_rows_are_neither_scored_nor_learned():
    X, y = _data()
    Xb, nan_rows, far_rows = _corrupt(X, y)
    guarded = _run((Xb, y), Guard(_schema(X, y)))
    keep = np.setdiff1d(np.arange(N), np.r_[nan_rows, far_rows])
    # the oracle: the same learners on the stream without the bad rows
    oracle = prequential((X[keep], y[keep]), _learners(), window=1000, fingerprint=False)
    for g, o in zip(guarded.rows, oracle.rows):
        assert g["rows"] == g["learned"] == len(keep)
        assert g["Accuracy"] == o["Accuracy"]
        # sums over blocks of other sizes: equal up to the last bits
        for k in ("LogLoss", "ROCAUC"):
            assert g[k] == pytest.approx(o[k], rel=1e-12, abs=1e-12), k
    info = guarded.guard
    assert info["rules"]["missing"] == len(nan_rows)
    assert info["rules"]["out_of_range"] == len(far_rows)
    assert info["verdicts"]["quarantined"] == info["not_scored"] == len(nan_rows) + len(far_rows)
    on_disk = json.loads(guarded.to_json())["meta"]["guard"]
    assert on_disk["rules"]["missing"] == len(nan_rows)


def test_guarded_results_do_not_depend_on_the_block_size():
    X, y = _data(n=300)
    Xb, _, _ = _corrupt(X, y)
    runs = [_run(from_arrays(Xb, y, block_size=b), Guard(_schema(X, y))) for b in (1, 7, 4096)]
    ref = runs[-1]
    for res in runs[:2]:
        assert res.guard == ref.guard
        for r, q in zip(res.rows, ref.rows):
            assert [r[k] for k in ("Accuracy", "rows", "learned")] == [
                q[k] for k in ("Accuracy", "rows", "learned")
            ]
            # the engine's metric sums (with or without a guard) may differ in the last bit
            assert r["LogLoss"] == pytest.approx(q["LogLoss"], rel=1e-12)


def test_the_quarantine_receives_the_rejected_rows(tmp_path):
    X, y = _data()
    Xb, nan_rows, far_rows = _corrupt(X, y)
    q = Quarantine(tmp_path / "q.sqlite")
    _run((Xb, y), Guard(_schema(X, y), quarantine=q), guard_source="sensor-1")
    rows = q.list()
    assert sorted(r["row"] for r in rows) == sorted(np.r_[nan_rows, far_rows].tolist())
    assert {r["source"] for r in rows} == {"sensor-1"}


class _PauseEvery3rd(Rule):
    """Pauses learning on rows whose x0 is in the lowest third (a stand-in for a burst)."""

    name = "pause_low"
    stage = 2
    policies = ("flag",)

    def __init__(self):
        super().__init__(policy="flag")

    def apply(self, ctx):
        mask = ctx.V[:, 0] < -0.43
        ctx.paused |= mask
        ctx.hit_rows(self, mask, lambda i: "paused")


def test_paused_rows_are_scored_but_not_learned():
    X, y = _data()
    guarded = prequential(
        (X, y),
        {"lr": LogisticRegression()},
        window=None,
        fingerprint=False,
        guard=Guard(_schema(X, y), rules=[_PauseEvery3rd()]),
    )
    # the oracle, one row at a time: predict-and-learn the rows not paused, predict the others
    model, hits = LogisticRegression(), []
    for i in range(N):
        x = X[i : i + 1]
        if not X[i, 0] < -0.43:
            hits.append(model.step_many(x, y[i : i + 1])[0] == y[i])
        else:
            hits.append(model.is_fitted and model.predict_many(x)[0] == y[i])
    paused = int((X[:, 0] < -0.43).sum())
    row = guarded["lr"]
    assert row["rows"] == N and row["learned"] == N - paused
    assert row["Accuracy"] == pytest.approx(np.mean(hits), abs=1e-12)
    assert guarded.guard["paused"] == guarded.guard["rules"]["pause_low"] == paused


def test_repaired_rows_are_learned_with_the_repaired_values():
    X, y = _data()
    Xb, nan_rows, _ = _corrupt(X, y)
    Xb[Xb > 1e5] = 0.0  # keep only the NaN corruption
    schema = _schema(X, y)
    guarded = _run((Xb, y), Guard(schema, rules=[Missing(policy="repair")]))
    imputed = Xb.copy()
    imputed[nan_rows, 1] = schema.column("x1").center
    assert _scores(guarded) == _scores(_run((imputed, y)))
    assert guarded.guard["verdicts"]["repaired"] == len(nan_rows)


def _flipped_burst(n=3_000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)  # an easy concept: flips stand out
    y[2_000:2_400] = 1 - y[2_000:2_400]  # then a burst of flipped labels
    return X, y


def test_the_burst_alarm_does_not_depend_on_the_learners_compared():
    X, y = _flipped_burst()
    schema = _schema(X, y)

    def bursts(learners):
        res = prequential((X, y), learners, fingerprint=False, guard=Guard(schema))
        return [(b["start"], b["alarm"], b["end"]) for b in res.guard["bursts"]]

    alone = bursts({"majority": MajorityClassifier()})
    assert len(alone) == 1 and 1_970 <= alone[0][0] <= 2_030
    assert alone == bursts(_learners())  # lr, majority, no-change: the same alarm


def test_a_label_burst_is_handled_the_same_whatever_the_block_size(tmp_path):
    X, y = _flipped_burst()
    schema = _schema(X, y)
    X = X.copy()
    nan_rows = [40, 2_055, 2_290, 2_533]
    X[nan_rows, 2] = np.nan

    def run(block_size):
        q = Quarantine(tmp_path / f"q{block_size}.sqlite")
        res = prequential(
            from_arrays(X, y, block_size=block_size),
            {"lr": LogisticRegression(), "nochange": NoChangeClassifier()},
            fingerprint=False,
            window=None,
            guard=Guard(schema, quarantine=q),
        )
        assert [r["row"] for r in q.list()] == nan_rows  # each rejected row stored once
        return res

    runs = [run(b) for b in (7, 100, 4096)]
    (burst,) = runs[-1].guard["bursts"]
    for res in runs[:2]:
        assert res.guard["bursts"][0]["start"] == burst["start"]
        assert res.guard["bursts"][0]["end"] == burst["end"]
        # rows inside the burst may be scored by a model that already learned some of them
        # (when the alarm comes a block later): the rows learned normally score the same
        for a, b in zip(res.rows, runs[-1].rows):
            assert a["Accuracy_normal"] == pytest.approx(b["Accuracy_normal"], abs=1e-9)
    lr = runs[-1]["lr"]
    assert lr["rows"] == len(X) - len(nan_rows)
    # learn calls: rows between the snapshot and the burst are learned again after the
    # roll-back, burst rows never
    assert lr["learned"] >= lr["rows"] - lr["excluded_burst"]


def test_regression_with_a_guard():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(200, 2)), rng.normal(size=200)
    frame = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "y": y})
    schema = Schema.infer(frame, "y")
    assert schema.target.kind == "numeric"
    Xb = X.copy()
    Xb[::20, 0] = np.nan
    guarded = prequential((Xb, y), [RunningMeanRegressor()], fingerprint=False, guard=Guard(schema))
    keep = np.isfinite(Xb).all(axis=1)
    oracle = prequential((X[keep], y[keep]), [RunningMeanRegressor()], fingerprint=False)
    assert guarded.rows[0]["MAE"] == oracle.rows[0]["MAE"]
    assert guarded.guard["verdicts"]["quarantined"] == 10


def test_bad_guard_arguments():
    X, y = _data()
    with pytest.raises(ParameterError, match="label delays"):
        prequential((X, y), [MajorityClassifier()], delay=5, guard=Guard(_schema(X, y)))
    with pytest.raises(ParameterError, match="tidal.guards.Guard"):
        prequential((X, y), [MajorityClassifier()], guard="schema.json")
