"""Batch models refit in another process: serving never waits for a fit, the models are the
in-process ones bit for bit, and a failed or killed fit leaves the old model serving, counted."""

from __future__ import annotations

import os

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from tidal import zoo
from tidal.batch import BatchClassifier, BatchRegressor, EveryN, RefitPool, set_refit_backend
from tidal.service import ServiceConfig
from tidal.service.runtime import Service

from .refit_estimators import ProbeRegressor


def _stream(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] - 0.5 * X[:, 1] + 0.3 * rng.normal(size=n) > 0).astype(int)


def _served_models(pool_or_none: RefitPool | None) -> list[tuple[tuple[int, int], bytes]]:
    """(rows, predict_proba bytes on probe rows) of the serving model after each block."""
    previous = set_refit_backend(pool_or_none)
    try:
        X, y = _stream(2100)
        probe = _stream(50, seed=1)[0]
        m = BatchClassifier(LogisticRegression(), retrain=EveryN(300), window=700, half_life=250.0)
        out = []
        for s in range(0, len(y), 300):
            m.step_many(X[s : s + 300], y[s : s + 300])
            m.wait_refits()
            out.append((m.serving_rows_, m._model.predict_proba(probe).tobytes()))
        return out
    finally:
        set_refit_backend(previous)


def test_models_fitted_in_a_process_equal_the_in_process_ones_bit_for_bit():
    pool = RefitPool()
    try:
        elsewhere = _served_models(pool)
    finally:
        pool.shutdown()
    here = _served_models(None)
    assert [rows for rows, _ in here] == [(max(0, e - 700), e) for e in range(300, 2101, 300)]
    assert elsewhere == here


def _service(tmp_path, monkeypatch, refit: str = "process", **flags: str) -> Service:
    """A service of one model ``m``: a BatchRegressor of the probe, refit every 100 rows (built
    here: a config may name only tidal, sklearn and lightgbm classes)."""
    est = ProbeRegressor(**{k: str(tmp_path / v) for k, v in flags.items()})
    build = lambda name, spec: BatchRegressor(est, retrain=EveryN(100))  # noqa: E731
    monkeypatch.setattr("tidal.service.runtime.build_model", build)
    return Service(ServiceConfig(data=tmp_path / "d", models={"m": "batch"}, refit=refit))


def _rows(n: int, seed: int) -> tuple[list[dict[str, float]], list[float]]:
    X = np.random.default_rng(seed).normal(size=(n, 2))
    return [{"a": a, "b": b} for a, b in X.tolist()], (2 * X[:, 0] - X[:, 1]).tolist()


def _refits(svc: Service, outcome: str) -> float:
    return svc.metrics.registry.get_sample_value("tidal_refits_total", {"outcome": outcome}) or 0.0


def _fit_returned(svc: Service) -> None:
    for pending in list(svc.hosts["m"].model._pending):
        pending[2].exception(timeout=120)  # a deadlock guard, not a timing check


def test_learns_and_predicts_answer_while_the_fit_runs_in_another_process(tmp_path, monkeypatch):
    svc = _service(tmp_path, monkeypatch, gate="gate")
    try:
        host = svc.hosts["m"]
        rows, labels = _rows(600, 0)
        probe = _rows(5, 1)[0]
        host.learn(rows[:100], labels[:100])  # starts a fit that waits for the gate
        # the baseline (the running mean of the labels) answers meanwhile
        assert host.predict(probe).predictions == pytest.approx([np.mean(labels[:100])] * 5)
        host.learn(rows[100:200], labels[100:200])  # a second fit queues behind it
        assert host.predict(probe).predictions == pytest.approx([np.mean(labels[:200])] * 5)
        assert host.model.n_retrains_ == 0  # (the first fit may be superseded if not started)
        assert len(host.model._pending) + host.model.refits_superseded_ == 2
        for s in range(200, 600, 100):  # rows come faster than fits: queued ones are replaced
            host.learn(rows[s : s + 100], labels[s : s + 100])
        superseded = host.model.refits_superseded_
        assert superseded >= 1 and len(host.model._pending) == 6 - superseded
        (tmp_path / "gate").touch()
        _fit_returned(svc)
        served = host.predict(probe).predictions  # the next request puts the fits live
        assert host.model.n_retrains_ == 6 - superseded
        assert host.model.serving_rows_ == (0, 600)  # the newest window went live
        assert host.model._model.fit_pid_ != os.getpid()
        assert _refits(svc, "ok") == 6 - superseded
        # the in-process path on the same rows serves the same predictions, bit for bit
        previous = set_refit_backend(None)
        try:
            ref = BatchRegressor(host.model.estimator, retrain=EveryN(100))
            ref.learn_many(rows, labels)
        finally:
            set_refit_backend(previous)
        assert ref.serving_rows_ == (0, 600)
        assert np.array(served).tobytes() == ref.predict_many(probe).tobytes()
    finally:
        svc.close()


@pytest.mark.parametrize("how", ["kill", "fail"])
def test_a_killed_or_failed_fit_leaves_the_old_model_serving_and_is_counted(
    tmp_path, monkeypatch, how
):
    svc = _service(tmp_path, monkeypatch, **{how: how})
    try:
        host = svc.hosts["m"]
        rows, labels = _rows(300, 0)
        probe = _rows(5, 1)[0]
        host.learn(rows[:100], labels[:100])
        _fit_returned(svc)
        first = host.predict(probe).predictions
        assert host.model.serving_rows_ == (0, 100)
        (tmp_path / how).touch()  # the next fit dies (SIGKILL) or raises
        host.learn(rows[100:200], labels[100:200])
        _fit_returned(svc)
        assert host.predict(probe).predictions == first
        assert host.model.serving_rows_ == (0, 100) and host.model.refit_failures_ == 1
        assert "refit on rows 0..199 failed" in host.model.warnings_[-1]
        assert _refits(svc, "failed") == 1
        (tmp_path / how).unlink()  # a later fit works (a killed worker's pool is replaced)
        host.learn(rows[200:300], labels[200:300])
        _fit_returned(svc)
        host.predict(probe)
        assert host.model.serving_rows_ == (0, 300) and _refits(svc, "ok") == 2
    finally:
        svc.close()


def test_refit_thread_keeps_the_in_process_path(tmp_path, monkeypatch):
    svc = _service(tmp_path, monkeypatch, refit="thread")
    try:
        rows, labels = _rows(100, 0)
        svc.hosts["m"].learn(rows, labels)  # deploy_delay 0: the learn waited for its fit
        assert svc.hosts["m"].model._model.fit_pid_ == os.getpid()
        assert _refits(svc, "ok") == 0
    finally:
        svc.close()


@pytest.mark.xdist_group("ray")
def test_with_a_ray_cluster_refits_are_ray_tasks(tmp_path, ray_cluster):
    spec = "batch-lr:every=100:window=300"
    cfg = ServiceConfig(data=tmp_path / "d", models={"m": spec}, ray="auto")
    svc = Service(cfg)
    try:
        from tidal.service.refit import RayRefit

        assert isinstance(svc.refits.backend, RayRefit)
        host = svc.hosts["m"]
        X, y = _stream(300, 4)
        rows = [{"a": a, "b": b, "c": c} for a, b, c in X.tolist()]
        host.learn(rows, y.tolist())
        _fit_returned(svc)
        probe = rows[:20]
        served = host.predict(probe).probabilities
        assert host.model.serving_rows_ == (0, 300) and _refits(svc, "ok") == 3
        previous = set_refit_backend(None)
        try:
            ref = zoo.make(spec).learn_many(rows, y.tolist())
        finally:
            set_refit_backend(previous)
        want = ref.predict_proba_many(probe)
        assert np.array([[p["0"], p["1"]] for p in served]).tobytes() == want.tobytes()
    finally:
        svc.close()
