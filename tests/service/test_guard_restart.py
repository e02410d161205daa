"""A guarded model's guard and feature-drift monitor survive a restart, consistent with the model:
a clean stop, a crash with events logged after the snapshot, an older snapshot without a guard
state, a schema changed in between."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest

from tidal.registry import Evidence
from tidal.service import ServiceConfig
from tidal.service.runtime import Service
from tidal.service.snapshots import SnapshotStore

from .helpers import assert_state_equal, crash, make_stream

N_REQ, SIZE = 14, 25
BAD = (3, 11)  # per request: an out-of-range value and a missing one (both quarantined)


def _requests() -> list[tuple[list[dict], list[int]]]:
    """14 requests of 25 rows: 6 as the schema expects, then 8 with feature ``a`` shifted."""
    rows, labels = make_stream(N_REQ * SIZE, seed=11)
    out = []
    for k in range(N_REQ):
        part = [dict(r) for r in rows[k * SIZE : (k + 1) * SIZE]]
        if k >= 6:
            for r in part:
                r["a"] += 3.0
        part[BAD[0]]["a"] = 50.0
        part[BAD[1]]["b"] = math.nan
        out.append((part, labels[k * SIZE : (k + 1) * SIZE]))
    return out


REQUESTS = _requests()


def _schema(folder: Path, a_max: float = 10.0) -> Path:
    spec = {
        "columns": {
            k: {
                "type": "numeric",
                "min": -10.0,
                "max": a_max if k == "a" else 10.0,
                "center": 0.0,
                "scale": 1.0,
            }
            for k in ("a", "b", "c")
        },
        "target": {"name": "y", "type": "classes", "classes": [0, 1]},
    }
    path = folder / f"schema-{a_max:g}.json"
    path.write_text(json.dumps(spec))
    return path


def _config(data: Path, schema: Path | None, **kw: object) -> ServiceConfig:
    guards = {"g": str(schema)} if schema is not None else {}
    return ServiceConfig(
        data=data,
        models={"g": "lr"},
        guards=guards,
        drift_reference=100,
        drift_window=60,
        snapshot_seconds=3600.0,  # snapshots only where a test takes them
        gate_min_events=10,
        **kw,
    )


def _learn(svc: Service, requests: list) -> None:
    host = svc.hosts["g"]
    for rows, labels in requests:
        res = host.learn(rows, labels)
        assert res.quarantined == len(BAD) and res.learned == SIZE - len(BAD)
    assert not host.guard.learning_paused


@pytest.fixture
def schema(tmp_path: Path) -> Path:
    return _schema(tmp_path)


@pytest.fixture
def reference(tmp_path: Path, schema: Path):
    """A service that never stops, fed the same requests."""
    svc = Service(_config(tmp_path / "reference", schema))
    yield svc
    svc.close()


def test_clean_restart_keeps_guard_and_drift_and_continues_as_if_never_stopped(
    tmp_path, schema, reference
):
    cfg = _config(tmp_path / "data", schema)
    svc = Service(cfg)
    _learn(svc, REQUESTS[:9])
    _learn(reference, REQUESTS[:9])
    before = svc.hosts["g"].guard.drift()
    assert before["ready"] and "a" in {r["feature"] for r in before["features"] if r["drifted"]}
    guard_before = svc.hosts["g"].guard.state_dict()
    assert guard_before["guard"]["counters"]["out_of_range"] == 9
    svc.close()

    svc = Service(cfg)
    try:
        guard = svc.hosts["g"].guard
        assert svc.hosts["g"].replayed == 0  # all of it came from the snapshot
        assert guard.drift() == before
        assert_state_equal(guard.state_dict(), guard_before)
        _learn(svc, REQUESTS[9:])
        _learn(reference, REQUESTS[9:])
        assert guard.drift() == reference.hosts["g"].guard.drift()
        assert_state_equal(guard.state_dict(), reference.hosts["g"].guard.state_dict())
    finally:
        svc.close()


@pytest.mark.parametrize("snapshot", [True, False], ids=["after-snapshot", "no-snapshot"])
def test_crash_replays_logged_rows_into_the_monitor(tmp_path, schema, reference, snapshot):
    cfg = _config(tmp_path / "data", schema)
    svc = Service(cfg)
    _learn(svc, REQUESTS[:5])
    if snapshot:
        assert svc.hosts["g"].snapshot() == 5 * (SIZE - len(BAD))
    _learn(svc, REQUESTS[5:11])  # learned and logged after the snapshot
    crash(svc)
    _learn(reference, REQUESTS[:11])

    svc = Service(cfg)
    try:
        host, expected = svc.hosts["g"], reference.hosts["g"]
        assert host.replayed == (6 if snapshot else 11) * (SIZE - len(BAD))
        assert_state_equal(host.state_dict(), expected.state_dict())
        report = host.guard.drift()
        assert report["ready"] and report["n_seen"] == 11 * (SIZE - len(BAD))
        assert report == expected.guard.drift()
        # the windows, not just the report: learning on gives the same reports
        _learn(svc, REQUESTS[11:])
        _learn(reference, REQUESTS[11:])
        assert host.guard.drift() == expected.guard.drift()
        assert_state_equal(
            host.guard.state_dict()["monitor"], expected.guard.state_dict()["monitor"]
        )
    finally:
        svc.close()


def test_rows_quarantined_after_the_last_event_survive_a_clean_stop(tmp_path, schema):
    cfg = _config(tmp_path / "data", schema)
    svc = Service(cfg)
    _learn(svc, REQUESTS[:3])
    seq = svc.hosts["g"].snapshot()
    bad = [{"a": 99.0, "b": 0.0, "c": 0.0}] * 4
    res = svc.hosts["g"].learn(bad, [1] * 4)  # nothing learned, nothing logged
    assert res.learned == 0 and svc.hosts["g"].applied_seq == seq
    counters = dict(svc.hosts["g"].guard.guard.counters)
    assert counters["out_of_range"] == 3 + 4
    svc.close()

    svc = Service(cfg)
    try:
        assert svc.hosts["g"].applied_seq == seq
        assert svc.hosts["g"].guard.guard.counters == counters
    finally:
        svc.close()


def test_snapshot_without_guard_state_still_starts_with_a_fresh_guard(tmp_path, schema, caplog):
    cfg = _config(tmp_path / "data", schema)
    svc = Service(cfg)
    _learn(svc, REQUESTS[:6])
    model_state = svc.hosts["g"].state_dict()
    svc.close()
    # rewrite the snapshot as a release before guard states wrote it
    store = SnapshotStore(tmp_path / "data" / "snapshots" / "g")
    snap = store.latest()
    assert snap.extra["guard"]["monitor"]["n_seen"] == 6 * (SIZE - len(BAD))
    store.save(snap.model_state, snap.seq, {k: v for k, v in snap.extra.items() if k != "guard"})

    with caplog.at_level(logging.INFO, logger="tidal.service"):
        svc = Service(cfg)
    try:
        host = svc.hosts["g"]
        assert "has no guard state; guard starts fresh" in caplog.text
        assert_state_equal(host.state_dict(), model_state)
        assert host.guard.drift()["n_seen"] == 0 and not host.guard.drift()["ready"]
        assert set(host.guard.guard.counters.values()) == {0}
        _learn(svc, REQUESTS[6:8])
        assert host.guard.drift()["n_seen"] == 2 * (SIZE - len(BAD))
    finally:
        svc.close()


def test_changed_schema_starts_the_guard_fresh_and_says_so(tmp_path, schema, caplog):
    svc = Service(_config(tmp_path / "data", schema))
    _learn(svc, REQUESTS[:6])
    seq = svc.hosts["g"].snapshot()
    _learn(svc, REQUESTS[6:7])  # logged after the snapshot: still observed after the restart
    crash(svc)

    wider = _schema(tmp_path, a_max=20.0)
    with caplog.at_level(logging.WARNING, logger="tidal.service"):
        svc = Service(_config(tmp_path / "data", wider))
    try:
        host = svc.hosts["g"]
        assert "guard and drift monitor start fresh" in caplog.text
        assert "another schema" in caplog.text
        assert host.applied_seq == seq + SIZE - len(BAD)
        assert set(host.guard.guard.counters.values()) == {0}
        assert host.guard.drift()["n_seen"] == SIZE - len(BAD)
        _learn(svc, REQUESTS[7:8])
    finally:
        svc.close()


def test_install_keeps_the_guard_state_in_its_snapshot(tmp_path, schema):
    cfg = _config(tmp_path / "data", schema)
    svc = Service(cfg)
    host = svc.hosts["g"]
    _learn(svc, REQUESTS[:8])
    svc.registry.register("g", host.model, by="ann")
    svc.registry.promote("g", 1, by="ann", evidence=Evidence(0.9, None, 50))
    svc.install("g", 1)
    before = host.guard.drift()
    assert before["ready"]
    crash(svc)  # the install's snapshot is the last one

    svc = Service(cfg)
    try:
        assert svc.hosts["g"].replayed == 0
        assert svc.hosts["g"].guard.drift() == before
    finally:
        svc.close()
