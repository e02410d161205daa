"""Installing a registry version into the running service: the new model's snapshot is on disk
before any event is applied to it, and a stop between the registry's change and the install is
repaired at the next start."""

from __future__ import annotations

import threading

from tidal.registry import Evidence
from tidal.service import ServiceConfig
from tidal.service.runtime import Service

from .helpers import assert_state_equal, crash, make_stream

ROWS, LABELS = make_stream(80)


def _service(tmp_path) -> Service:
    return Service(ServiceConfig(data=tmp_path, models={"m": "lr"}, gate_min_events=10))


def _two_versions(svc: Service) -> None:
    """v1 after 20 events, v2 after 40; v1 in production."""
    host = svc.hosts["m"]
    host.learn(ROWS[:20], LABELS[:20])
    svc.registry.register("m", host.model, by="ann")
    host.learn(ROWS[20:40], LABELS[20:40])
    svc.registry.register("m", host.model, by="ann")
    svc.registry.promote("m", 1, by="ann", evidence=Evidence(0.9, None, 50))
    svc.install("m", 1)


def test_no_event_lands_on_an_installed_model_before_its_snapshot(tmp_path, monkeypatch):
    svc = _service(tmp_path)
    try:
        _two_versions(svc)
        host = svc.hosts["m"]
        saving, release = threading.Event(), threading.Event()
        save, saved = host.snapshots.save, []

        def slow_save(state, seq, extra):  # noqa: ANN001, ANN202
            if not saved:  # the install's snapshot (the snapshot thread may add later ones)
                saved.append((state, seq, extra))
                saving.set()
                assert release.wait(10)
            return save(state, seq, extra)

        monkeypatch.setattr(host.snapshots, "save", slow_save)
        installer = threading.Thread(target=svc.install, args=("m", 2))
        installer.start()
        assert saving.wait(10)
        done = []
        learner = threading.Thread(
            target=lambda: done.append(host.learn(ROWS[40:45], LABELS[40:45]))
        )
        learner.start()
        learner.join(0.5)
        assert not done, "a learn was applied while the installed model had no snapshot"
        release.set()
        installer.join(10)
        learner.join(10)
        state, seq, extra = saved[0]
        assert (seq, extra["registry_version"], done[0].first_seq) == (40, "2", 41)
        assert_state_equal(state, svc.registry.state("m", 2))
    finally:
        svc.close()


def test_restart_after_a_stop_between_promotion_and_install_serves_the_production_version(
    tmp_path,
):
    svc = _service(tmp_path)
    _two_versions(svc)
    svc.hosts["m"].learn(ROWS[40:60], LABELS[40:60])
    svc.registry.promote("m", 2, by="ann", evidence=Evidence(0.95, 0.9, 50))
    crash(svc)  # before service.install("m", 2)

    again = _service(tmp_path)
    try:
        host = again.hosts["m"]
        assert host.model_version()["registry_version"] == "2"
        assert_state_equal(host.state_dict(), again.registry.state("m", 2))
        seq = host.applied_seq
        assert host.learn(ROWS[60:70], LABELS[60:70]).last_seq == seq + 10
    finally:
        again.close()
    # and the repair itself survives the next restart
    third = _service(tmp_path)
    try:
        host = third.hosts["m"]
        assert host.model_version()["registry_version"] == "2"
        assert host.applied_seq == seq + 10
    finally:
        third.close()


def test_restart_keeps_the_version_of_the_snapshot(tmp_path):
    svc = _service(tmp_path)
    _two_versions(svc)
    svc.hosts["m"].learn(ROWS[40:50], LABELS[40:50])
    svc.close()
    again = _service(tmp_path)
    try:
        assert again.hosts["m"].model_version()["registry_version"] == "1"
        assert again.hosts["m"].applied_seq == 50
    finally:
        again.close()


def test_rollback_then_stop_before_install_is_repaired(tmp_path):
    svc = _service(tmp_path)
    _two_versions(svc)
    svc.registry.promote("m", 2, by="ann", evidence=Evidence(0.95, 0.9, 50))
    svc.install("m", 2)
    svc.registry.rollback("m", 1, by="ann", why="worse in production")
    crash(svc)
    again = _service(tmp_path)
    try:
        host = again.hosts["m"]
        assert host.model_version()["registry_version"] == "1"
        assert_state_equal(host.state_dict(), again.registry.state("m", 1))
    finally:
        again.close()
