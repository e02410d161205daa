"""Cost accounting of the prequential engine: CPU, bytes kept, staleness, latency."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SkLR

from tidal.batch import BatchLearner, EveryN, Hybrid
from tidal.dummy import MajorityClassifier
from tidal.evaluate import prequential
from tidal.linear_model import LogisticRegression


def _stream(n: int = 6000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X @ np.array([1.0, -0.5, 0.3, 0.0]) + 0.3 * rng.normal(size=n) > 0).astype(int)
    return X, y


def _batch(every: int = 500, delay: int = 0, store: str | None = None) -> BatchLearner:
    return BatchLearner(SkLR(), retrain=EveryN(every), window=2000, deploy_delay=delay, store=store)


def test_learners_plus_engine_sum_to_the_process_cpu_time():
    X, y = _stream()
    learners = {"lr": LogisticRegression(), "batch": _batch(), "majority": MajorityClassifier()}
    c0 = time.process_time()
    res = prequential((X, y), learners)
    spent = time.process_time() - c0
    # compilation (warm-up and kernels met later) is booked apart, on the engine's row
    total = sum(c["cpu_s"] for c in res.costs) + res.costs[-1]["compile_cpu_s"]
    assert [c["learner"] for c in res.costs][-1] == "engine"
    assert abs(total - spent) <= 0.10 * spent, (total, spent)
    # the training threads are charged to the batch learner that started them
    row = res["batch"]
    assert row["retrains"] >= 11
    assert row["cpu_s"] >= row["train_cpu_s"] > 0
    assert all(c["cpu_s"] >= 0 for c in res.costs)


def test_bytes_kept_equal_the_store_size_on_disk(tmp_path):
    X, y = _stream(5000)
    store = tmp_path / "rows"
    res = prequential((X, y), {"batch": _batch(store=str(store)), "lr": LogisticRegression()})
    on_disk = sum(p.stat().st_size for p in Path(store).rglob("*") if p.is_file())
    assert on_disk > 0
    assert res["batch"]["bytes_kept"] == on_disk
    assert res["lr"]["bytes_kept"] == 0


def test_online_staleness_is_zero_without_delay_and_the_delay_counts_with_it():
    X, y = _stream(3000)
    res = prequential((X, y), {"lr": LogisticRegression()})
    assert res["lr"]["staleness_mean"] == 0.0
    assert res["lr"]["staleness_incl_delay"] == 0.0
    res = prequential((X, y), {"lr": LogisticRegression()}, delay=7)
    assert res["lr"]["staleness_mean"] == 0.0
    assert res["lr"]["staleness_incl_delay"] == 7.0


@pytest.mark.parametrize(("every", "delay"), [(500, 0), (500, 100), (1000, 250)])
def test_batch_staleness_is_about_half_the_period_plus_the_deploy_delay(every, delay):
    X, y = _stream(12000)
    res = prequential((X, y), {"b": _batch(every, delay)})
    expected = every / 2 + delay
    assert res["b"]["staleness_mean"] == pytest.approx(expected, rel=0.08)


def test_batch_staleness_with_a_label_delay_is_measured_on_arrived_labels():
    X, y = _stream(12000)
    res = prequential((X, y), {"b": _batch(500, 100)}, delay=50)
    row = res["b"]
    assert row["staleness_mean"] == pytest.approx(500 / 2 + 100, rel=0.1)
    assert row["staleness_incl_delay"] == pytest.approx(row["staleness_mean"] + 50)
    assert row["latency_s_per_row"] > 0


def test_hybrid_counts_its_batch_costs():
    X, y = _stream(4000)
    h = Hybrid(_batch(1000), LogisticRegression())
    res = prequential((X, y), {"h": h})
    row = res["h"]
    assert row["family"] == "hybrid"
    assert row["retrains"] == 4 and row["bytes_kept"] > 0
    assert row["staleness_mean"] == 0.0


def test_latency_and_peak_memory_are_measured_for_everyone():
    X, y = _stream(3000)
    res = prequential((X, y), {"lr": LogisticRegression(), "b": _batch()})
    for name in ("lr", "b"):
        assert 0 < res[name]["latency_s_per_row"] < 1e-2
    assert res["b"]["peak_model_bytes"] > res["lr"]["peak_model_bytes"] > 0
    assert res["lr"]["family"] == "online" and res["b"]["family"] == "batch"


def test_a_baseline_is_known_by_its_tag_not_its_module() -> None:
    from tidal.base import Tags
    from tidal.dummy import RunningMeanRegressor
    from tidal.evaluate._costs import family

    class MyMean(RunningMeanRegressor):  # defined here, not in tidal.dummy
        pass

    class NotABaseline(RunningMeanRegressor):
        _tags = Tags(task="regression", handles_missing=True)

    MyMean.__module__ = NotABaseline.__module__ = __name__
    assert family(MyMean()) == "baseline"  # inherits the tag
    assert family(NotABaseline()) == "online"  # same module name as tidal.dummy would not matter
    NotABaseline.__module__ = "tidal.dummy"
    assert family(NotABaseline()) == "online"
