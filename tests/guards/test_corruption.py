"""The corruption test: Elec2 with 5 % bad rows and a burst of flipped labels, guards on and off.

The schema is inferred from the first 5,000 rows, which are left clean: a schema inferred from
dirty rows would legitimise the dirt (a NaN makes a column nullable, a bad label becomes a class).
Elec2's Victorian columns are constant for the first 17,424 rows and then move: the schema sees
them constant, and the growing bounds must let the legitimate values through.

Learning is test-then-train in blocks of 50 rows: the block is predicted with the model as it is,
the guard sees those predictions (for the label-burst rule), then the learnable rows are learned.
The three runs (clean data; corrupted data with guards; corrupted data without guards, learning
every row a learner can physically take) use the same learner and the same blocks, and accuracy
is measured on the rows whose features were not corrupted, against their true labels.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest

from tidal.guards import Guard, Schema
from tidal.linear_model import LogisticRegression
from tidal.preprocessing import StandardScaler

DATA = str(resources.files("tidal.datasets") / "elec2.csv.gz")  # bundled copy
BLOCK = 50
BURST = np.arange(25_000, 26_000)
KINDS = ("nan", "far_out", "string", "bad_label")


def _corrupt(d: pd.DataFrame, rng: np.random.Generator):
    feats = [c for c in d.columns if c != "up"]
    n = len(d)
    candidates = np.setdiff1d(np.arange(5_000, n), BURST)
    bad = np.sort(rng.choice(candidates, int(0.05 * n), replace=False))
    kind = rng.integers(0, len(KINDS), len(bad))
    col = rng.integers(0, len(feats), len(bad))
    mean, std = d[feats].mean().to_numpy(), d[feats].std().to_numpy()
    cor = d.astype(object)
    for r, k, c in zip(bad.tolist(), kind.tolist(), col.tolist()):
        if KINDS[k] == "nan":
            cor.iat[r, c] = np.nan
        elif KINDS[k] == "far_out":
            cor.iat[r, c] = float(mean[c] + rng.choice([-1, 1]) * 100 * std[c])
        elif KINDS[k] == "string":
            cor.iat[r, c] = str(rng.choice(["n/a", "abc", "#REF!"]))
        else:
            cor.iat[r, len(feats)] = rng.choice([2, -1, "yes"]).item()
    truth = d["up"].to_numpy()
    cor.loc[BURST, "up"] = (1 - truth[BURST]).tolist()
    return cor, bad, kind, feats


def _run(frame: pd.DataFrame, feats: list[str], guard: Guard | None):
    model = StandardScaler() | LogisticRegression()
    n = len(frame)
    preds = np.zeros(n, dtype=np.int64)
    quarantined = np.zeros(n, dtype=bool)
    paused = np.zeros(n, dtype=bool)
    learned = np.zeros(n, dtype=bool)
    fitted = False
    for a in range(0, n, BLOCK):
        blk = frame.iloc[a : a + BLOCK]
        X = blk[feats].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        if fitted:
            preds[a : a + len(blk)] = model.predict_many(np.nan_to_num(X, nan=0.0))
        p = preds[a : a + len(blk)] if fitted else None
        if guard is not None:
            res = guard.check(blk, predictions=p)
            quarantined[a : a + len(blk)] = res.quarantined
            paused[a : a + len(blk)] = res.paused
            keep = res.learn
            Xl, yl = res.X[keep], np.array(res.y[keep].tolist(), dtype=np.int64)
        else:
            y = pd.to_numeric(blk["up"], errors="coerce").to_numpy(float)
            keep = np.isfinite(X).all(axis=1) & np.isin(y, [0, 1])
            Xl, yl = X[keep], y[keep].astype(np.int64)
        learned[a : a + len(blk)] = keep
        if len(yl):
            model.learn_many(Xl, yl)
            fitted = True
    return preds, quarantined, paused, learned


@pytest.fixture(scope="module")
def runs():
    d = pd.read_csv(DATA)
    cor, bad, kind, feats = _corrupt(d, np.random.default_rng(7))
    schema = Schema.infer(d.iloc[:5_000], "up")
    truth = d["up"].to_numpy()
    clean_rows = np.ones(len(d), dtype=bool)
    clean_rows[bad] = False
    out = {"bad": bad, "kind": kind, "truth": truth, "clean_rows": clean_rows}
    out["clean"] = _run(d, feats, None)
    out["guarded"] = _run(cor, feats, Guard(schema))
    out["unguarded"] = _run(cor, feats, None)
    acc = {
        k: float((out[k][0] == truth)[clean_rows].mean()) for k in ("clean", "guarded", "unguarded")
    }
    out["acc"] = acc
    q = out["guarded"][1]
    paused, learned = out["guarded"][2], out["guarded"][3]
    print(
        f"\ncorruption test: {len(bad)} injected rows, caught {q[bad].mean():.4f}; clean rows "
        f"quarantined {q[clean_rows].sum()} ({q[clean_rows].mean():.4%}); flipped rows learned "
        f"{int(learned[BURST].sum())} of {len(BURST)}, paused in burst {int(paused[BURST].sum())}, "
        f"paused outside burst {int(paused.sum() - paused[BURST].sum())}; accuracy clean "
        f"{acc['clean']:.4f} guarded {acc['guarded']:.4f} unguarded {acc['unguarded']:.4f}"
    )
    return out


def test_injected_rows_are_quarantined(runs):
    q, bad = runs["guarded"][1], runs["bad"]
    # every injected kind here is detectable one row at a time
    assert q[bad].mean() >= 0.99
    for k, name in enumerate(KINDS):
        rows = bad[runs["kind"] == k]
        assert q[rows].mean() >= 0.99, name


def test_clean_rows_are_not_quarantined(runs):
    q, clean = runs["guarded"][1], runs["clean_rows"]
    assert q[clean].mean() < 0.01
    # the Victorian columns start moving at row 17,424: those clean rows must pass too
    assert q[17_424:][clean[17_424:]].mean() < 0.01


def test_label_flip_burst_pauses_learning(runs):
    paused, learned = runs["guarded"][2], runs["guarded"][3]
    assert paused[BURST].mean() > 0.9
    assert learned[BURST].sum() < 100
    # the alarm is a burst alarm, not a permanent stop: learning goes on after the burst
    after = np.arange(BURST[-1] + 2_000, BURST[-1] + 4_000)
    assert learned[after].mean() > 0.8


def test_accuracy_with_guards_close_to_clean_run(runs):
    acc = runs["acc"]
    assert abs(acc["guarded"] - acc["clean"]) <= 0.01
    assert acc["unguarded"] < acc["clean"] - 0.03
