"""A compare run a user can trust: failures stay in their row, divergence is flagged, Ctrl-C
keeps what was measured, and compilation is not charged to the learner that met it."""

from __future__ import annotations

import json

import numpy as np
from numba import njit

from tidal.dummy import MajorityClassifier, RunningMeanRegressor
from tidal.evaluate import prequential, verdict
from tidal.linear_model import LinearRegression, LogisticRegression
from tidal.optim import SGD


def _classification(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int)


class FailsAt(MajorityClassifier):
    """Raises from the row ``at`` on (a learner's own bug)."""

    def __init__(self, at: int = 1500):
        self.at = at

    def _step_arrays(self, X_pred, X_learn, y, w, out):  # noqa: ANN001
        self._rows = getattr(self, "_rows", 0) + out.shape[0]
        if self._rows > self.at:
            raise ZeroDivisionError("bug in the learner")
        super()._step_arrays(X_pred, X_learn, y, w, out)


def test_a_learner_that_raises_reports_its_own_error_while_the_others_finish():
    X, y = _classification()
    res = prequential((X, y), {"bad": FailsAt(1500), "lr": LogisticRegression()}, on_error="record")
    assert res["lr"]["rows"] == 4000 and res["lr"]["status"] == "ok"
    bad = res["bad"]
    assert bad["status"] == "error"
    assert "ZeroDivisionError: bug in the learner" in bad["error"]
    assert "'bad'" in bad["error"] and "1000..1999" in bad["error"]  # the rows it failed on
    assert bad["rows"] == 1000  # scored until the block it failed in


def test_a_diverging_regressor_is_flagged_in_the_results_json_and_left_out_of_the_verdict():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 3)) * 1000.0  # unscaled inputs
    y = X @ np.array([0.5, -0.2, 0.1]) + 5000.0
    learners = {"sgd": LinearRegression(optimizer=SGD(0.5)), "mean": RunningMeanRegressor()}
    res = prequential((X, y), learners, on_error="record", change_points=[])
    row = res["sgd"]
    assert row["status"] == "diverged"
    assert row["error"].startswith("diverged at stream row ")
    # stopped before the absurd rows were scored: its metrics stay finite
    assert np.isfinite(row["R2"]) and row["rows"] < 3000
    assert res["mean"]["status"] == "ok"
    data = json.loads(res.to_json())
    assert {r["learner"]: r["status"] for r in data["results"]} == {
        "sgd": "diverged",
        "mean": "ok",
    }
    v = verdict(res)
    # left out of the ranking, and said so under the reasons (the row says where it diverged)
    assert v.details["left_out"] == ["sgd (diverged)"]
    assert "Left out: sgd (diverged)." in v.text
    assert not any("sgd" in r for r in v.reasons)


def test_a_sane_regressor_far_from_zero_is_not_flagged():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3000, 2))
    y = 1e6 + 10.0 * X[:, 0]  # a large offset is not divergence
    res = prequential((X, y), {"mean": RunningMeanRegressor()}, on_error="record")
    assert res["mean"]["status"] == "ok"


def test_ctrl_c_returns_the_partial_results_marked_partial():
    X, y = _classification()

    def interrupt(event):
        if event.block.start >= 2000:
            raise KeyboardInterrupt

    res = prequential(
        (X, y),
        {"lr": LogisticRegression(), "majority": MajorityClassifier()},
        callbacks={"majority": [interrupt]},
        on_interrupt="partial",
    )
    assert res.meta["partial"] is True
    assert res.meta["rows_done"] == 2000
    assert res["lr"]["rows"] >= 2000 and res["majority"]["rows"] == 2000
    assert res.checkpoints[-1]["row"] == 2000


class CompilesLate(MajorityClassifier):
    """Meets a kernel never compiled before at row 3000 (after the warm-up's rows)."""

    def _step_arrays(self, X_pred, X_learn, y, w, out):  # noqa: ANN001
        self._rows = getattr(self, "_rows", 0) + out.shape[0]
        if self._rows > 3000 and not getattr(self, "_met", False):
            self._met = True

            @njit
            def late(a):  # a fresh function: compiled here, never cached
                s = 0.0
                for i in range(a.shape[0]):
                    for j in range(a.shape[1]):
                        s += np.sin(a[i, j]) * np.cos(a[i, j]) + np.sqrt(abs(a[i, j]))
                return s

            late(np.ones((2, 2)))
        super()._step_arrays(X_pred, X_learn, y, w, out)


def test_compilation_met_during_the_run_is_booked_apart_not_charged_to_the_learner():
    X, y = _classification()
    res = prequential((X, y), {"late": CompilesLate()})
    row = res["late"]
    assert row["compile_s"] > 0
    # the learner's own work (counting labels) is far below what compiling the kernel took
    assert row["cpu_s"] < row["compile_s"]
    assert res.costs[-1]["compile_cpu_s"] >= row["compile_s"]


def test_the_warm_up_leaves_the_learners_untouched():
    X, y = _classification(3000)
    warm = prequential((X, y), {"lr": LogisticRegression()}, window=None)
    cold = prequential((X, y), {"lr": LogisticRegression()}, window=None, warmup=False)
    assert warm["lr"]["Accuracy"] == cold["lr"]["Accuracy"]
    assert warm["lr"]["learned"] == 3000
    seen = []
    prequential((X, y), {"lr": LogisticRegression()}, warmup=lambda *a: seen.append(a))
    assert seen == [("lr", 0, 1), ("", 1, 1)]
    assert warm.meta["warmup_s"] > 0 and cold.meta["warmup_s"] == 0


def test_the_checkpoint_series_stays_bounded_on_a_long_stream():
    X, y = _classification(5000)
    res = prequential((X, y), {"m": MajorityClassifier()}, every=1, window=None)
    rows = [c["row"] for c in res.checkpoints]
    assert len(rows) <= 2000  # not one per row
    assert rows[-1] == 5000
    assert len(set(np.diff(rows).tolist())) == 1  # still evenly spaced


def test_per_row_errors_of_a_classifier_take_one_byte_per_row():
    from tidal.evaluate._costs import per_row_errors

    err = per_row_errors(np.array([1, 0, 1]), np.array([1, 1, None], dtype=object), True)
    assert err.dtype == np.uint8 and err.tolist() == [0, 1, 1]


class SeesPools(MajorityClassifier):
    """Records the BLAS/OpenMP pools its calls run with."""

    seen: list[int] = []

    def _step_arrays(self, X_pred, X_learn, y, w, out):  # noqa: ANN001
        from threadpoolctl import threadpool_info

        SeesPools.seen += [p["num_threads"] for p in threadpool_info()]
        super()._step_arrays(X_pred, X_learn, y, w, out)


def test_learners_run_with_one_blas_and_openmp_thread_during_a_compare():
    from threadpoolctl import threadpool_limits

    X, y = _classification(2000)
    SeesPools.seen = []
    with threadpool_limits(limits=2):  # as on a 2-core machine: a missing bound would show
        prequential((X, y), {"m": SeesPools()}, warmup=False)
    assert SeesPools.seen and set(SeesPools.seen) == {1}


def test_memory_of_a_run_does_not_grow_with_the_stream():
    """4x the rows, checkpoints at every row: the run's peak memory stays about the same.

    Measured in a fresh interpreter: tracemalloc counts every thread's allocations, and a thread
    left running by an earlier test (a server, a progress bar) would be counted as the run's."""
    import subprocess
    import sys

    script = """
import tracemalloc
import numpy as np
from tidal.dummy import MajorityClassifier
from tidal.evaluate import prequential
from tidal.stream import from_arrays

def peak(n):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 3))
    source = from_arrays(X, (X[:, 0] > 0).astype(int), block_size=1000)
    tracemalloc.start()
    prequential(source, {"m": MajorityClassifier()}, every=1, window=None, warmup=False)
    used = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return used

peak(1000)  # imports and kernels: one-off allocations
print(peak(4000), peak(16000))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    small, large = map(int, out.stdout.split())
    assert large < 1.5 * small, (small, large)
