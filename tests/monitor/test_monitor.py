import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tidal.base import NotFittedError, ParameterError, SchemaMismatchError
from tidal.monitor import FeatureDriftMonitor, chi2_test, ks_test, psi, quantile_edges, wasserstein
from tidal.monitor._stats import bin_counts
from tidal.stream import Block


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("sizes", [(300, 300), (500, 137), (2000, 1500)])
def test_ks_matches_scipy_asymptotic(seed, sizes):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, sizes[0])
    b = rng.normal(0.1 * seed, 1 + 0.1 * seed, sizes[1])
    b[:10] = a[:10]  # ties across samples
    d, p = ks_test(a, b)
    ref = stats.ks_2samp(a, b, method="asymp")
    assert d == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_wasserstein_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    a = rng.exponential(1.0, 400)
    b = rng.exponential(1.5, 250)
    b[:5] = a[:5]
    assert wasserstein(a, b) == pytest.approx(stats.wasserstein_distance(a, b), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_chi2_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    r = rng.integers(1, 100, 5)
    c = rng.integers(0, 100, 5)
    c[0] = 0
    stat, p = chi2_test(r, c)
    ref = stats.chi2_contingency(np.vstack([r, c]), correction=False)
    assert stat == pytest.approx(ref.statistic, rel=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)


def test_chi2_drops_categories_empty_in_both():
    s1 = chi2_test(np.array([10, 20, 0]), np.array([15, 5, 0]))
    s2 = chi2_test(np.array([10, 20]), np.array([15, 5]))
    assert s1 == pytest.approx(s2)


def test_psi_by_hand():
    r = np.array([25, 25, 25, 25])
    c = np.array([10, 20, 30, 40])
    expected = sum((ci / 100 - 0.25) * np.log((ci / 100) / 0.25) for ci in c)
    assert psi(r, c) == pytest.approx(expected, rel=1e-12)


def test_quantile_bins_are_equal_mass_on_reference():
    ref = np.random.default_rng(0).normal(size=10_000)
    edges = quantile_edges(ref, 10)
    counts = bin_counts(ref, edges)
    assert len(counts) == 10 and np.all(np.abs(counts - 1000) <= 1)
    assert psi(counts, counts) == 0.0


def _frame(rng, n, shift=0.0, p=(0.5, 0.3, 0.2)):
    return pd.DataFrame(
        {
            "num": rng.normal(shift, 1.0, n),
            "stable": rng.uniform(0, 1, n),
            "cat": rng.choice(["a", "b", "c"], n, p=list(p)),
        }
    )


def test_monitor_detects_shift_and_matches_scipy():
    rng = np.random.default_rng(0)
    ref = _frame(rng, 1000)
    mon = FeatureDriftMonitor(reference_size=1000, window_size=500)
    mon.update_many(ref)
    cur = _frame(rng, 500, shift=1.0, p=(0.2, 0.3, 0.5))
    mon.update_many(cur)
    report = mon.report()
    rows = {(r["feature"], r["test"]): r for r in report}
    assert set(report.drifted_features) == {"num", "cat"}
    ks = stats.ks_2samp(ref["num"], cur["num"], method="asymp")
    assert rows["num", "ks"]["score"] == pytest.approx(ks.statistic, abs=1e-12)
    assert rows["num", "ks"]["p_value"] == pytest.approx(ks.pvalue, abs=1e-12)
    assert rows["num", "wasserstein"]["score"] == pytest.approx(
        stats.wasserstein_distance(ref["num"], cur["num"]), abs=1e-12
    )
    table = pd.crosstab(
        np.r_[np.zeros(1000), np.ones(500)], np.r_[ref["cat"].to_numpy(), cur["cat"].to_numpy()]
    ).to_numpy()
    chi = stats.chi2_contingency(table, correction=False)
    assert rows["cat", "chi2"]["score"] == pytest.approx(chi.statistic, rel=1e-12)
    assert rows["cat", "chi2"]["kind"] == "categorical"
    assert not any(rows["stable", t]["drifted"] for t in ("psi", "ks", "wasserstein"))
    df = report.to_pandas()
    assert list(df.columns[:6]) == ["feature", "kind", "test", "score", "p_value", "drifted"]
    assert len(df) == 3 + 3 + 2


def test_window_slides():
    rng = np.random.default_rng(1)
    mon = FeatureDriftMonitor(reference_size=300, window_size=200)
    mon.update_many(_frame(rng, 300))
    mon.update_many(_frame(rng, 400, shift=3.0))
    assert "num" in mon.report().drifted_features
    # the current window holds only the last 200 rows, which are back to normal
    for _ in range(4):
        mon.update_many(_frame(rng, 50))
    assert "num" not in mon.report().drifted_features


def test_block_by_block_equals_one_update():
    rng = np.random.default_rng(2)
    data = pd.concat([_frame(rng, 700), _frame(rng, 600, shift=0.5)], ignore_index=True)
    one = FeatureDriftMonitor(reference_size=500, window_size=300)
    one.update_many(data)
    many = FeatureDriftMonitor(reference_size=500, window_size=300)
    for a in range(0, len(data), 37):
        many.update_many(data.iloc[a : a + 37])
    assert one.report() == many.report()


def test_inputs_block_array_records_and_missing():
    block = Block(
        np.array([[0.0, 1.0], [1.0, 0.0], [np.nan, 1.0]] * 4),
        ("x", "c"),
        categories={"c": ["u", "v"]},
    )
    mon = FeatureDriftMonitor(reference_size=6, window_size=6)
    mon.update_many(block)
    assert mon.kinds == {"x": "numeric", "c": "categorical"}
    assert {r["n_reference"] for r in mon.report() if r["feature"] == "x"} == {4}
    arr = FeatureDriftMonitor(reference_size=2, window_size=2, categorical=["x1"])
    arr.update_many(np.array([[0.0, 1.0], [1.0, 2.0], [0.5, 1.0]]))
    arr.update_one({"x0": 0.2, "x1": 2.0})
    assert arr.kinds == {"x0": "numeric", "x1": "categorical"}
    assert len(arr.report()) == 5


def test_errors():
    mon = FeatureDriftMonitor(reference_size=10, window_size=5)
    with pytest.raises(NotFittedError, match="0 reference rows of 10"):
        mon.report()
    mon.update_many({"a": np.arange(12.0)})
    with pytest.raises(SchemaMismatchError):
        mon.update_many({"b": np.arange(3.0)})
    for kwargs, match in [
        ({"reference_size": 1}, "reference_size == 1"),
        ({"alpha": 2.0}, "alpha == 2.0"),
        ({"n_bins": 1}, "n_bins == 1"),
        ({"psi_threshold": 0}, "psi_threshold == 0"),
    ]:
        with pytest.raises(ParameterError, match=match):
            FeatureDriftMonitor(**kwargs)
