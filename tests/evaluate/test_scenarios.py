"""Synthetic scenarios whose answer is known from how they are built, and the verdict on each.

Every stream: 4 standard normal features, the label is the sign of ``cos(a) x0 + sin(a) x1``
plus a little noise, and the concept angle ``a`` moves as the scenario says. Learners: online
logistic regression (SGD), batch scikit-learn logistic regression retrained on a sliding
window, and (for the drifting ones) a hybrid of the two.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SkLR

from tidal.batch import BatchLearner, EveryN, Hybrid
from tidal.evaluate import prequential, verdict
from tidal.evaluate._verdict import LABELS, fmt, parse_quotes
from tidal.linear_model import LogisticRegression
from tidal.optim import SGD

N = 12_000
A, B = 0.0, 2.0  # two concepts about 115 degrees apart


def _stream(kind: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 4))
    t = np.arange(N)
    cps: list[int] = []
    angle = np.full(N, A)
    if kind == "abrupt":
        angle, cps = np.where(t < 6000, A, B), [6000]
    elif kind == "gradual":  # concept B takes over row by row between 5,000 and 7,000
        p = np.clip((t - 5000) / 2000, 0, 1)
        angle, cps = np.where(rng.uniform(size=N) < p, B, A), [5000]
    elif kind == "recurring":
        angle, cps = np.where((t // 3000) % 2 == 0, A, B), [3000, 6000, 9000]
    elif kind == "incremental":  # the boundary turns half a circle from row 3,000 on
        angle, cps = np.clip((t - 3000) / 9000, 0, 1) * np.pi, [3000]
    elif kind == "noisy":
        cps = [5000]
    w = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    y = ((X[:, :2] * w).sum(axis=1) + 0.2 * rng.normal(size=N) > 0).astype(int)
    if kind == "noisy":  # 1,500 rows of coin-flip labels: bad data, not a new concept
        burst = (t >= 5000) & (t < 6500)
        y[burst] = rng.integers(0, 2, int(burst.sum()))
    return X, y, cps


def _learners(stationary: bool) -> dict:
    if stationary:
        # a stable concept: retrain often so that the cold start costs batch little
        return {
            "online": LogisticRegression(optimizer=SGD(0.01)),
            "batch": BatchLearner(SkLR(), retrain=EveryN(100), window=4000),
        }
    return {
        "online": LogisticRegression(optimizer=SGD(0.05)),
        "batch": BatchLearner(SkLR(), retrain=EveryN(250), window=4000),
        "hybrid": Hybrid(
            BatchLearner(SkLR(), retrain=EveryN(1000), window=4000),
            LogisticRegression(optimizer=SGD(0.05)),
        ),
    }


def _run(kind: str):
    X, y, cps = _stream(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = prequential((X, y), _learners(kind == "stationary"), change_points=cps)
    return res, verdict(res)


def _assert_quotes_match_the_table(res, v) -> None:
    table = {r["learner"]: r for r in res.rows}
    table.update({c["learner"]: c for c in res.costs if c["learner"] not in table})
    quotes = parse_quotes(v.text)
    assert len(quotes) >= 10, v.text
    for learner, column, text in quotes:
        value = table[learner][column]
        assert text == fmt(column, value), (learner, column, text, value)
        if text != "-":  # the printed value is the table's, rounded as printed
            decimals = len(text.split(".")[1]) if "." in text else 0
            scale = 1e6 if column == "latency_s_per_row" else 1.0
            assert math.isclose(float(text), value * scale, abs_tol=0.51 * 10**-decimals)
    # and every "[x] label =" in the text was understood as a quote
    assert v.text.count("] ") >= len(quotes)
    assert all(label in LABELS.values() for label in [LABELS[c] for _, c, _ in quotes])


@pytest.fixture(scope="module")
def runs():
    return {}


def _get(runs, kind):
    if kind not in runs:
        runs[kind] = _run(kind)
    return runs[kind]


def test_stationary_batch_matches_online_and_the_verdict_cites_compute(runs):
    res, v = _get(runs, "stationary")
    acc = {r["learner"]: r["Accuracy"] for r in res.rows}
    assert abs(acc["online"] - acc["batch"]) <= 0.005, acc
    assert v.recommendation in ("batch", "either"), v.text
    assert "CPU s" in " ".join(v.reasons) and "bytes kept" in " ".join(v.reasons)
    assert res.analysis["change_points"] == []
    _assert_quotes_match_the_table(res, v)


@pytest.mark.parametrize("kind", ["abrupt", "gradual", "recurring"])
def test_after_a_concept_change_online_or_hybrid_wins(runs, kind):
    res, v = _get(runs, kind)
    assert v.recommendation in ("online", "hybrid"), v.text
    winner = res[v.recommendation]
    # the winner recovers faster than the batch learner retrained on a long window
    assert winner["recovery_rows_mean"] < res["batch"]["recovery_rows_mean"]
    assert winner["Accuracy"] > res["batch"]["Accuracy"]
    assert len(res.analysis["change_points"]) == {"abrupt": 1, "gradual": 1, "recurring": 3}[kind]
    _assert_quotes_match_the_table(res, v)


def test_incremental_drift_online_or_hybrid_wins_after_the_change(runs):
    res, v = _get(runs, "incremental")
    assert v.recommendation in ("online", "hybrid"), v.text
    curves = res.analysis["curves"]

    # rolling accuracy over the drifting part: the adaptive learners stay ahead of batch
    def late(name):
        rows = np.array(curves[name]["row"])
        return float(np.mean(np.array(curves[name]["value"])[rows > 5000]))

    assert max(late("online"), late("hybrid")) > late("batch") + 0.02
    _assert_quotes_match_the_table(res, v)


def test_a_burst_of_noisy_labels_is_not_a_reason_to_go_online(runs):
    res, v = _get(runs, "noisy")
    # coin-flip labels hurt every learner alike: nobody gains by adapting to them
    acc = {r["learner"]: r["Accuracy"] for r in res.rows}
    assert max(acc.values()) - min(acc.values()) < 0.01, acc
    assert v.recommendation in ("batch", "either"), v.text
    assert "drift" not in v.rules
    _assert_quotes_match_the_table(res, v)


def test_a_quote_that_disagrees_with_the_table_is_caught(runs):
    res, v = _get(runs, "abrupt")
    wrong = v.text.replace(
        f"[online] Accuracy = {fmt('Accuracy', res['online']['Accuracy'])}",
        "[online] Accuracy = 0.0001",
    )
    assert wrong != v.text
    bad = type(v)(v.recommendation, wrong, [], {}, [])
    with pytest.raises(AssertionError):
        _assert_quotes_match_the_table(res, bad)


def test_recovery_is_measured_against_a_lower_new_plateau():
    from tidal.evaluate._recovery import analyze

    # perfect for 3,000 rows, then exactly one mistake in five: a new, lower plateau
    err = np.r_[np.zeros(3000), np.tile([1.0, 0, 0, 0, 0], 600)].astype(np.float32)
    out = analyze({"m": err}, True, 500, [3000], "m")
    ch = out["changes"][0]
    assert ch["before"] == 1.0 and ch["plateau"] == pytest.approx(0.8)
    assert ch["drop"] == pytest.approx(0.2)
    assert ch["recovery_rows"] == 0  # it settled on the new plateau without falling below it


def test_recovery_counts_rows_until_back_within_one_point():
    from tidal.evaluate._recovery import analyze

    # 400 wrong rows after the change, then right again: with a 200-row rolling window the
    # metric is back within one point (at most 2 mistakes in the window) 598 rows after it
    err = np.r_[np.zeros(2000), np.ones(400), np.zeros(2600)].astype(np.float32)
    ch = analyze({"m": err}, True, 200, [2000], "m")["changes"][0]
    assert ch["worst"] == 0.0 and ch["drop"] == 1.0
    assert ch["recovery_rows"] == 400 + 200 - 2


def test_change_points_are_detected_when_none_are_given():
    from tidal.evaluate._recovery import analyze

    rng = np.random.default_rng(0)
    err = rng.uniform(size=8000) < np.r_[np.full(4000, 0.05), np.full(4000, 0.4)]
    out = analyze({"m": err.astype(np.float32)}, True, 500, None, "m")
    assert out["change_source"] == "detected"
    assert len(out["change_points"]) >= 1 and 4000 <= out["change_points"][0] < 4400
