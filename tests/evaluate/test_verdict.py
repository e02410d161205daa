"""The verdict's rules, one by one, on results built by hand (so each rule is isolated)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tidal.evaluate import Results, verdict
from tidal.evaluate._considerations import QUESTIONS
from tidal.evaluate._recovery import analyze
from tidal.evaluate._steady import BLOCKS

N = 10_000


def _row(name: str, family: str, accuracy: float, **extra) -> dict:
    row = {
        "learner": name,
        "family": family,
        "Accuracy": accuracy,
        "steady_accuracy": accuracy,
        "warmup_rows": 800,
        "rows": N,
        "cpu_s": 1.5,
        "peak_model_bytes": 3 * 2**20,
        "bytes_kept": 0 if family != "batch" else 5 * 2**20,
        "retrains": 0 if family != "batch" else 10,
        "train_s": 0.0 if family != "batch" else 4.0,
        "staleness_mean": 0.0,
        "latency_s_per_row": 5e-6,
        "recovery_rows_mean": None,
        "drop_mean": None,
        "error": None,
    }
    row.update(extra)
    return row


def _results(rows: list[dict], noise: float = 0.0, seed: int = 0, **meta) -> Results:
    """Results whose steady blocks scatter by ``noise`` around the rows' steady error."""
    rng = np.random.default_rng(seed)
    blocks = {}
    for r in rows:
        z = rng.normal(size=BLOCKS)
        blocks[r["learner"]] = list(1 - r["steady_accuracy"] + noise * (z - z.mean()))
    first = {r["learner"]: {"first_fit_row": 500} for r in rows if r["family"] == "batch"}
    m = {"data": {"class_counts": {"0": N // 2, "1": N // 2}}, "learners": first}
    m.update(meta)
    analysis = {"change_points": [], "steady": {"blocks": blocks}}
    return Results(rows, [], m, costs=[], analysis=analysis)


def test_a_gap_within_the_noise_is_a_tie_and_the_confidence_is_printed():
    # one point apart, but the blocks scatter by 8 points: no evidence either way
    rows = [_row("lr", "online", 0.86), _row("b", "batch", 0.85)]
    v = verdict(_results(rows, noise=0.08))
    assert v.recommendation == "either", v.text
    conf = v.details["tests"]["batch"]["confidence"]
    assert 0.5 < conf < 0.95
    assert f"{conf * 100:.0f} % confidence" in v.reasons[0]


def test_the_same_gap_with_little_noise_is_a_win():
    rows = [_row("lr", "online", 0.86), _row("b", "batch", 0.85)]
    v = verdict(_results(rows, noise=0.005))
    assert v.recommendation == "online", v.text
    assert "over 99 % confidence" in v.reasons[0]


def test_a_sure_gap_below_the_practical_floor_is_a_tie():
    rows = [_row("lr", "online", 0.853), _row("b", "batch", 0.85)]
    v = verdict(_results(rows, noise=0.0001))
    assert v.details["tests"]["batch"]["confidence"] > 0.99
    assert v.recommendation == "either", v.text


def test_the_steady_state_decides_not_the_whole_run():
    # batch served a baseline at first: far behind over the run, ahead once trained
    rows = [
        _row("lr", "online", 0.90, steady_accuracy=0.90),
        _row("b", "batch", 0.80, steady_accuracy=0.93),
    ]
    v = verdict(_results(rows, noise=0.005))
    assert v.recommendation == "batch", v.text
    assert "0.930 vs 0.900" in v.reasons[0]


def test_when_a_baseline_beats_every_model_the_headline_says_so_first():
    rows = [
        _row("lr", "online", 0.84),
        _row("b", "batch", 0.80),
        _row("nochange", "baseline", 0.853),
    ]
    v = verdict(_results(rows, noise=0.002))
    assert v.headline.startswith("The nochange baseline beats every model: 0.853 vs 0.840")
    assert "lagged labels" in v.headline
    assert v.recommendation == "online" and v.rules[0] == "baseline"


@pytest.mark.parametrize(
    ("rows", "counts", "first_fit", "needle"),
    [
        (600, {"0": 300, "1": 300}, 100, "The stream has 600 rows with a label"),
        (5000, {"0": 4990, "1": 10}, 100, "0: 4,990, 1: 10"),
        (5000, {"0": 2500, "1": 2500}, 4500, "only at row 4,500"),
        (5000, {"0": 2500, "1": 2500}, None, "served its first trained model never"),
    ],
)
def test_not_enough_data_to_decide_gives_the_counts(rows, counts, first_fit, needle):
    table = [_row("lr", "online", 0.9, rows=rows), _row("b", "batch", 0.8, rows=rows)]
    res = _results(table, data={"class_counts": counts})
    res.meta["learners"]["b"]["first_fit_row"] = first_fit
    v = verdict(res)
    assert v.recommendation == "undecided" and v.headline == "Not enough data to decide."
    assert needle in v.text, v.text


def test_a_diverged_learner_is_left_out_and_named():
    rows = [
        _row("lr", "online", 0.86),
        _row("sgd", "online", 0.99, status="diverged"),
        _row("b", "batch", 0.85),
    ]
    v = verdict(_results(rows, noise=0.08))
    assert v.details["steady"]["online"]["learner"] == "lr"
    assert "Left out: sgd (diverged)." in v.text


def test_plain_words_three_reasons_and_one_table_in_human_units():
    rows = [_row("lr", "online", 0.86), _row("b", "batch", 0.85)]
    v = verdict(_results(rows, noise=0.08))
    assert 1 <= len(v.reasons) <= 3
    assert all(r[0].isupper() and r.endswith(".") for r in v.reasons)
    assert "] " not in v.text and " = " not in v.text  # no "[learner] label = value" quotes
    assert list(v.answers) == list(QUESTIONS)
    assert all(set(cells) == {"online (lr)", "batch (b)"} for cells in v.answers.values())
    # bytes are in MiB, times in s or ms: no raw byte counts
    assert "3.00 MiB" in v.text and "5.00 MiB" in v.text and "3145728" not in v.text
    assert "1.5 s CPU" in v.text and "5.0 µs/row" in v.text
    assert not re.search(r"\d{5,}", v.text)


def test_a_detected_change_that_no_error_shows_is_not_reported():
    # a learner that gets better at row 3,000 (its first fit): ADWIN fires, errors fell
    rng = np.random.default_rng(0)
    err = (rng.uniform(size=8000) < np.r_[np.full(3000, 0.4), np.full(5000, 0.1)]) * 1.0
    out = analyze({"m": err.astype(np.float32)}, True, 500, None, "m")
    assert out["unconfirmed"] and 3000 <= out["unconfirmed"][0] < 3400
    assert out["change_points"] == []


def test_a_change_confirmed_by_other_learners_than_the_reference_is_kept():
    rng = np.random.default_rng(1)
    rise = (rng.uniform(size=8000) < np.r_[np.full(4000, 0.1), np.full(4000, 0.3)]) * 1.0
    flat = (rng.uniform(size=8000) < 0.1) * 1.0
    errors = {"ref": rise, "a": rise.copy(), "b": flat}
    out = analyze(errors, True, 500, None, "ref")
    assert len(out["change_points"]) == 1
    # the same alarm with only one learner (not the reference) rising is not enough
    from tidal.evaluate._recovery import confirm

    assert confirm(out["change_points"], {"ref": flat, "a": rise}, 500, True, "ref")[0] == []


def test_regression_is_judged_on_the_steady_mae():
    import warnings

    from sklearn.linear_model import Ridge

    from tidal.batch import BatchLearner, EveryN
    from tidal.dummy import RunningMeanRegressor
    from tidal.evaluate import prequential
    from tidal.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(6000, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.3 * rng.normal(size=6000)
    learners = {
        "linreg": LinearRegression(),
        "batch": BatchLearner(Ridge(), retrain=EveryN(500), window=3000),
        "mean": RunningMeanRegressor(),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = prequential((X, y), learners)
    v = verdict(res)
    assert v.recommendation in ("batch", "either", "online"), v.text
    cols = {c for _, c, _ in v.cited}
    assert "steady_mae" in cols and "steady_accuracy" not in cols
    assert "lower MAE" in v.reasons[0] or "tied" in v.reasons[0]
    assert res["mean"]["steady_mae"] > 3 * res["linreg"]["steady_mae"]
    assert "baseline" not in v.rules
