"""DriftWatch: power, a false-alarm bound on stationary streams, and real seasonal data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tidal import datasets
from tidal.cli._app import app
from tidal.monitor import DriftWatch

NAMES = [f"x{j}" for j in range(8)]


def _flag_share(X: np.ndarray) -> float:
    w = DriftWatch(NAMES)
    w.update(X)
    s = w.summary()
    return s["flagged_checks"] / s["checks"]


def test_fewer_than_one_percent_of_checks_flag_a_stationary_stream():
    rng = np.random.default_rng(0)
    assert _flag_share(rng.normal(size=(200_000, 8))) < 0.01


def test_autocorrelation_does_not_make_a_stationary_stream_drift():
    rng = np.random.default_rng(1)
    e = rng.normal(size=(100_000, 8))
    Z = np.zeros_like(e)
    for i in range(1, len(Z)):
        Z[i] = 0.9 * Z[i - 1] + e[i]
    assert _flag_share(Z) < 0.01


@pytest.mark.parametrize("change", ["shift 2 SD", "scale x1.5"])
def test_a_change_is_flagged_on_its_feature_within_a_window(change):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(10_000, 8))
    if change == "shift 2 SD":
        X[6_000:, 3] += 2.0
    else:
        X[6_000:, 3] *= 1.5
    w = DriftWatch(NAMES)
    w.update(X)
    assert {e["feature"] for e in w.events} == {"x3"}
    first = min(e["row"] for e in w.events)
    assert 6_000 < first <= 7_000
    assert w.summary()["features"]["x3"]["max_size"] >= 0.3


def test_block_sizes_do_not_change_the_checks():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5_000, 2))
    X[3_000:, 0] += 1
    one, many = DriftWatch(["a", "b"]), DriftWatch(["a", "b"])
    one.update(X)
    for a in range(0, len(X), 333):
        many.update(X[a : a + 333])
    assert one.events == many.events


def test_real_seasonal_weather_flags_only_the_features_that_really_move():
    src = datasets.weather()
    X, _ = src.arrays()
    w = DriftWatch(list(src.feature_names))
    w.update(X)
    flagged = set(w.summary()["features"])
    # visibility's recording changes (its 90th percentile goes 11 -> 20 -> 15 -> 7) are real;
    # the yearly cycle of temperatures is not a drift against the window before it
    assert "visibility" in flagged
    assert not flagged & {"temperature", "dew_point", "max_temperature", "min_temperature"}


def test_compare_json_and_tidal_drift_show_drift(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(6_000, 2))
    X[4_000:, 1] += 2.0
    path = tmp_path / "d.csv"
    y = (X[:, 0] > 0).astype(int)
    path.write_text(
        "a,b,y\n" + "".join(f"{a:.5f},{b:.5f},{t}\n" for (a, b), t in zip(X, y.tolist()))
    )
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["compare", str(path), "-t", "y", "-m", "nb", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "feature drift" in res.output
    drift = json.loads(out.read_text())["meta"]["drift"]
    assert set(drift["features"]) == {"b"} and drift["features"]["b"]["first_row"] == 4_500
    res = CliRunner().invoke(app, ["drift", str(path), "-t", "y", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["features"]["b"]["first_row"] == 4_500


@pytest.mark.parametrize("delay", [0, 700])
def test_compare_feeds_drift_as_rows_stream_by_equal_to_a_pass_over_the_file(delay):
    """compare's drift comes from the rows the engine streams (no second read of the file): the
    same summary as a pass over the whole file, with or without a label delay."""
    from tidal.cli._drift import DriftTap, drift_of
    from tidal.datasets import elec2
    from tidal.dummy import MajorityClassifier, NoChangeClassifier
    from tidal.evaluate import prequential

    tap = DriftTap()
    learners = {"a": MajorityClassifier(), "b": NoChangeClassifier()}
    prequential(elec2(), learners, callbacks=[tap], delay=delay, every=333)
    streamed = tap.summary(elec2())
    assert streamed == drift_of(elec2())
    assert streamed["checks"] > 50 and streamed["features"]  # Elec2's prices do drift


def test_the_ks_p_value_is_computed_only_for_a_change_large_enough_to_report(monkeypatch):
    from tidal.monitor import _watch

    calls, real = [], _watch._ks_p
    monkeypatch.setattr(_watch, "_ks_p", lambda a, b: calls.append(1) or real(a, b))
    rng = np.random.default_rng(2)
    X = rng.normal(size=(10_000, 8))
    X[6_000:, 3] += 2.0
    w = DriftWatch(NAMES)
    w.update(X)
    assert {e["feature"] for e in w.events} == {"x3"}
    # the seven unchanged features never reach the reporting size: no p-value for them
    assert 0 < len(calls) <= w.checks, (len(calls), w.checks)
