"""Synthetic scenarios whose answer is known from how they are built, and the verdict on each.

Every stream: 4 standard normal features, the label is the sign of ``cos(a) x0 + sin(a) x1``
plus noise, and the concept angle ``a`` moves as the scenario says. Learners: online logistic
regression (SGD), batch scikit-learn logistic regression (or a decision tree) retrained on a
sliding window, a hybrid of the two where the scenario drifts, and the baselines.

Thirteen kinds, several seeds each. Drifting kinds get their known change points; the kinds
without drift run with change-point *detection*, so that each false alarm would show up as a
drift reason (and the false-alarm rate is measured over all of them).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SkLR
from sklearn.tree import DecisionTreeClassifier

from tidal.batch import BatchLearner, EveryN, Hybrid
from tidal.dummy import MajorityClassifier, NoChangeClassifier
from tidal.evaluate import prequential, verdict
from tidal.evaluate._words import human, numbers
from tidal.linear_model import LogisticRegression
from tidal.optim import SGD

N = 12_000
A, B = 0.0, 2.0  # two concepts about 115 degrees apart
DRIFTING = ("abrupt", "gradual", "recurring", "incremental")
#: kinds without a concept change: no drift reason may appear, detection runs on them
STEADY = ("stationary", "late_batch", "batch_ahead", "imbalance", "delayed")
SIZE = {"seasonal": 8000, "slow_noisy": 8000, "imbalance": 8000, "delayed": 6000, "short": 600}


def _stream(kind: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[int]]:
    n = SIZE.get(kind, N)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    t = np.arange(n)
    cps: list[int] = []
    angle = np.full(n, A)
    noise = 0.2
    if kind == "abrupt":
        angle, cps = np.where(t < 6000, A, B), [6000]
    elif kind == "gradual":  # concept B takes over row by row between 5,000 and 7,000
        p = np.clip((t - 5000) / 2000, 0, 1)
        angle, cps = np.where(rng.uniform(size=n) < p, B, A), [5000]
    elif kind == "recurring":
        angle, cps = np.where((t // 3000) % 2 == 0, A, B), [3000, 6000, 9000]
    elif kind == "incremental":  # the boundary turns half a circle from row 3,000 on
        angle, cps = np.clip((t - 3000) / 9000, 0, 1) * np.pi, [3000]
    elif kind == "seasonal":  # the boundary swings back and forth, a 6,000-row period
        angle = 1.2 * np.sin(2 * np.pi * t / 6000)
    elif kind == "slow_noisy":  # turns 86 degrees over the run, under heavy label noise
        angle, noise = t / n * 1.5, 1.0
    w = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    y = ((X[:, :2] * w).sum(axis=1) + noise * rng.normal(size=n) > 0).astype(int)
    if kind == "batch_ahead":  # an interaction a tree learns and a linear model cannot
        y = X[:, 0] + 2.0 * np.sign(X[:, 1]) * X[:, 2] + 0.2 * rng.normal(size=n) > 0
        y = y.astype(int)
    elif kind == "imbalance":  # 1 % positives, learnable
        y = (X[:, 0] + 0.2 * rng.normal(size=n) > 2.33).astype(int)
    elif kind == "noisy":  # 1,500 rows of coin-flip labels: bad data, not a new concept
        burst = (t >= 5000) & (t < 6500)
        y[burst] = rng.integers(0, 2, int(burst.sum()))
    return X, y, cps


def _learners(kind: str) -> dict:
    online = LogisticRegression(optimizer=SGD(0.05))
    baselines = {"majority": MajorityClassifier(), "nochange": NoChangeClassifier()}
    if kind in ("stationary", "imbalance", "delayed", "short"):
        # a stable concept: retrain often so that the cold start costs batch little
        batch = BatchLearner(SkLR(), retrain=EveryN(500), window=4000)
        if kind != "delayed":  # label delays are scheduled row by row: keep that run small
            online = LogisticRegression(optimizer=SGD(0.01))
            return {"online": online, "batch": batch, **baselines}
        return {"online": online, "batch": batch}
    if kind == "late_batch":  # the batch model serves a baseline for its first 3,000 rows
        batch = BatchLearner(SkLR(), retrain=EveryN(3000), window=6000)
        return {"online": online, "batch": batch, **baselines}
    if kind == "batch_ahead":
        tree = DecisionTreeClassifier(max_depth=8, random_state=0)
        return {"online": online, "batch": BatchLearner(tree, retrain=EveryN(3000), window=6000)}
    return {
        "online": online,
        "batch": BatchLearner(SkLR(), retrain=EveryN(250), window=4000),
        "hybrid": Hybrid(
            BatchLearner(SkLR(), retrain=EveryN(1000), window=4000),
            LogisticRegression(optimizer=SGD(0.05)),
        ),
        **baselines,
    }


def _run(kind: str, seed: int):
    X, y, cps = _stream(kind, seed)
    detect = kind in STEADY or kind in ("seasonal", "slow_noisy", "short")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = prequential(
            (X, y),
            _learners(kind),
            change_points=None if detect else cps,
            delay=2000 if kind == "delayed" else 0,
        )
    return res, verdict(res)


_UNIT = {"KiB": 2**10, "MiB": 2**20, "ms": 1e-3, "µs": 1e-6, "%": 1e-2, "points": 1e-2}


def _read(text: str) -> tuple[float, float]:
    """A cited number back in the table's units, and its last printed digit's step in them:
    '0.41 MiB' -> (0.41 * 2**20, 0.01 * 2**20), '342 ms' -> (0.342, 0.001)."""
    m = re.search(r"(\d[\d,]*)(?:\.(\d+))?\s*(KiB|MiB|ms|µs|s|%|points|rows)?", text)
    assert m, text
    unit = _UNIT.get(m[3] or "", 1.0)
    value = float(m[1].replace(",", "") + ("." + m[2] if m[2] else ""))
    return value * unit, 10.0 ** -len(m[2] or "") * unit


def _assert_numbers_match_the_table(res, v) -> None:
    """Every number of the text is a citation, and every cited cell is the table's value."""
    table = {r["learner"]: r for r in res.rows}
    table.update({c["learner"]: c for c in res.costs if c["learner"] not in table})
    for name, meta in res.meta["learners"].items():
        if "first_fit_row" in meta:
            table[name]["first_fit_row"] = meta["first_fit_row"]
    checked = 0
    for learner, column, text in v.cited:
        if learner not in table:  # derived: a difference, a confidence, a count
            continue
        value = table[learner][column]
        assert text == human(column, value), (learner, column, text, value)
        if text != "n/a":
            read, step = _read(text)
            assert abs(read - value) <= 0.51 * step + 1e-12, (learner, column, text, value)
            checked += 1
    assert checked >= 8, v.text
    # ...and nothing else: the text's numbers (learner names aside) are exactly the citations
    text = re.sub(r"(?m)^\d+\. ", "", v.text)  # the reasons' numbering
    for name in sorted(table, key=len, reverse=True):
        text = text.replace(name, "L")
    cited = sorted(x for _, _, t in v.cited for x in numbers(t))
    assert sorted(numbers(text)) == cited, v.text


def _no_drift_reason(v) -> None:
    assert "drift" not in v.rules, v.text
    assert not any("change" in r for r in v.reasons), v.text


@pytest.fixture(scope="module")
def runs():
    return {}


def _get(runs, kind, seed=0):
    if (kind, seed) not in runs:
        runs[kind, seed] = _run(kind, seed)
    return runs[kind, seed]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stationary_batch_ties_or_ends_ahead_and_the_verdict_cites_costs(runs, seed):
    res, v = _get(runs, "stationary", seed)
    assert v.recommendation in ("batch", "either"), v.text
    assert res.analysis["change_points"] == []
    if v.recommendation == "either":
        assert "CPU" in " ".join(v.reasons) and "data kept" in " ".join(v.reasons)
    _no_drift_reason(v)
    _assert_numbers_match_the_table(res, v)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_late_first_fit_does_not_count_against_batch(runs, seed):
    # batch serves a baseline for 3,000 rows, so it trails far behind over the whole run;
    # from its first fit on it is as good as online: the steady state says so
    res, v = _get(runs, "late_batch", seed)
    assert res["online"]["Accuracy"] > res["batch"]["Accuracy"] + 0.05
    assert v.recommendation in ("batch", "either"), v.text
    assert res["batch"]["warmup_rows"] > 3000 > res["online"]["warmup_rows"]
    assert "row 3,000" in v.text  # the cold start has its own line
    _no_drift_reason(v)
    _assert_numbers_match_the_table(res, v)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_model_the_stream_needs_wins_for_batch(runs, seed):
    res, v = _get(runs, "batch_ahead", seed)
    assert v.recommendation == "batch", v.text
    assert v.details["tests"]["online"]["confidence"] >= 0.95
    _no_drift_reason(v)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", ["abrupt", "gradual", "recurring"])
def test_after_a_concept_change_online_or_hybrid_wins(runs, kind, seed):
    res, v = _get(runs, kind, seed)
    assert v.recommendation in ("online", "hybrid"), v.text
    winner = res[v.recommendation]
    # the winner recovers faster than the batch learner retrained on a long window
    assert winner["recovery_rows_mean"] < res["batch"]["recovery_rows_mean"]
    assert winner["Accuracy"] > res["batch"]["Accuracy"]
    assert len(res.analysis["change_points"]) == {"abrupt": 1, "gradual": 1, "recurring": 3}[kind]
    _assert_numbers_match_the_table(res, v)


@pytest.mark.parametrize("seed", [0, 1])
def test_incremental_drift_online_or_hybrid_wins_after_the_change(runs, seed):
    res, v = _get(runs, "incremental", seed)
    assert v.recommendation in ("online", "hybrid"), v.text
    curves = res.analysis["curves"]

    # rolling accuracy over the drifting part: the adaptive learners stay ahead of batch
    def late(name):
        rows = np.array(curves[name]["row"])
        return float(np.mean(np.array(curves[name]["value"])[rows > 5000]))

    assert max(late("online"), late("hybrid")) > late("batch") + 0.02
    _assert_numbers_match_the_table(res, v)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_long_seasonal_swing_goes_to_the_adaptive_learners(runs, seed):
    res, v = _get(runs, "seasonal", seed)
    assert v.recommendation in ("online", "hybrid"), v.text
    assert v.details["tests"]["batch"]["wins"] is True  # the leader beats batch clearly


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_slow_drift_under_heavy_noise_is_not_a_batch_win(runs, seed):
    res, v = _get(runs, "slow_noisy", seed)
    # adapting helps a little, the noise hides most of it: online, or a tie
    assert v.recommendation in ("online", "hybrid", "either"), v.text
    _assert_numbers_match_the_table(res, v)


@pytest.mark.parametrize("seed", [0, 1])
def test_labels_two_thousand_rows_late(runs, seed):
    res, v = _get(runs, "delayed", seed)
    # the first 2,000 rows have no label to learn from: whole-run accuracy says little
    assert res["online"]["Accuracy"] < res["online"]["steady_accuracy"] - 0.1
    assert v.recommendation in ("batch", "either"), v.text
    _no_drift_reason(v)  # labels starting to arrive is not a change of concept


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_percent_positives(runs, seed):
    res, v = _get(runs, "imbalance", seed)
    assert 20 <= int(res.meta["data"]["class_counts"]["1"]) <= 160
    assert v.recommendation in ("batch", "either"), v.text
    assert "baseline" not in v.rules  # the models do beat the majority class
    _no_drift_reason(v)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_burst_of_noisy_labels_is_not_a_reason_to_go_online(runs, seed):
    res, v = _get(runs, "noisy", seed)
    # coin-flip labels hurt every learner alike: nobody gains by adapting to them
    assert v.recommendation in ("batch", "either"), v.text
    assert "drift" not in v.rules
    _assert_numbers_match_the_table(res, v)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_stream_too_short_gets_no_verdict(runs, seed):
    res, v = _get(runs, "short", seed)
    assert v.recommendation == "undecided", v.text
    assert v.headline == "Not enough data to decide."
    assert "600 rows" in v.text and "1,000 rows" in v.text
    _no_drift_reason(v)


def test_false_alarms_on_streams_without_drift_are_measured_and_bounded(runs):
    raw = confirmed = 0
    runs_done = 0
    for kind in STEADY:
        for seed in (0, 1, 2) if kind != "delayed" else (0, 1):
            res, _ = _get(runs, kind, seed)
            raw += len(res.analysis["change_points"]) + len(res.analysis["unconfirmed"])
            confirmed += len(res.analysis["change_points"])
            runs_done += 1
    print(f"\nADWIN alarms {raw}, confirmed {confirmed}, over {runs_done} runs without drift")
    assert confirmed == 0


def test_the_drifting_kinds_are_still_detected():
    # detection (no known change points) on the abrupt scenario: one confirmed change near it
    X, y, _ = _stream("abrupt", 0)
    res = prequential((X, y), {"online": LogisticRegression(optimizer=SGD(0.05))})
    points = res.analysis["change_points"]
    assert len(points) == 1 and 6000 <= points[0] < 6600, points


def test_a_citation_that_disagrees_with_the_table_is_caught(runs):
    res, v = _get(runs, "abrupt", 0)
    i = next(i for i, (n, c, _) in enumerate(v.cited) if n == "online" and c == "cpu_s")
    wrong = list(v.cited)
    wrong[i] = ("online", "cpu_s", "999 ms")
    bad = type(v)(v.recommendation, v.headline, v.reasons, v.answers, [], wrong)
    with pytest.raises(AssertionError):
        _assert_numbers_match_the_table(res, bad)


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
