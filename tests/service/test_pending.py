"""Delayed labels across restarts: pending predictions are journaled before they are answered."""

from __future__ import annotations

import pytest

from tidal import zoo
from tidal.service import ServiceConfig
from tidal.service.host import UnknownPredictionError
from tidal.service.runtime import Service

from .helpers import assert_state_equal, crash, make_stream

ROWS, LABELS = make_stream(40, seed=9)


def _svc(tmp_path, **kw) -> Service:
    return Service(ServiceConfig(data=tmp_path, models={"m": "lr"}, **kw))


@pytest.mark.parametrize("stop", ["crash", "close"])
def test_labels_for_predictions_made_before_a_restart_are_learned(tmp_path, stop):
    svc = _svc(tmp_path)
    h = svc.hosts["m"]
    h.learn(ROWS[:10], LABELS[:10])
    ids = h.predict(ROWS[10:20]).prediction_ids
    h.learn(None, LABELS[10:12], prediction_ids=ids[:2])  # two labelled before the stop
    crash(svc) if stop == "crash" else svc.close()
    svc = _svc(tmp_path)
    h = svc.hosts["m"]
    assert h.info()["pending_predictions"] == 8
    res = h.learn(None, LABELS[10:20], prediction_ids=ids)
    assert res.already_learned == [0, 1] and res.learned == 8
    reference = zoo.make("lr").learn_many(ROWS[:20], LABELS[:20])
    assert_state_equal(h.state_dict(), reference.state_dict())
    svc.close()


def test_the_journal_keeps_the_retention_bound(tmp_path):
    svc = _svc(tmp_path, pending_max=5)
    h = svc.hosts["m"]
    h.learn(ROWS[:10], LABELS[:10])
    ids = h.predict(ROWS[10:18]).prediction_ids
    crash(svc)
    svc = _svc(tmp_path, pending_max=5)
    h = svc.hosts["m"]
    assert h.info()["pending_predictions"] == 5  # the newest 5 of 8
    with pytest.raises(UnknownPredictionError):
        h.learn(None, [LABELS[10]], prediction_ids=[ids[0]])
    assert h.learn(None, [LABELS[17]], prediction_ids=[ids[7]]).learned == 1
    crash(svc)
    svc = _svc(tmp_path, pending_ttl=1e-9)  # every journaled prediction is past its age now
    assert svc.hosts["m"].info()["pending_predictions"] == 0
    svc.close()


def test_the_data_folder_is_private(tmp_path):
    data = tmp_path / "d"
    data.mkdir(mode=0o755)
    (data / "notes.txt").write_text("x")
    (data / "notes.txt").chmod(0o644)
    svc = Service(ServiceConfig(data=data, models={"m": "lr"}, db=""))
    h = svc.hosts["m"]
    h.learn(ROWS[:5], LABELS[:5])
    h.predict(ROWS[5:7])
    _ = svc.registry
    svc.close()
    assert data.stat().st_mode & 0o777 == 0o700
    files = [p for p in data.rglob("*") if p.is_file()]
    kinds = {p.suffix for p in files}
    assert {".wal", ".npz", ".jsonl", ".sqlite", ".txt"} <= kinds
    loose = {str(p.relative_to(data)): oct(p.stat().st_mode & 0o777) for p in files}
    assert all(mode == "0o600" for mode in loose.values()), loose


def test_ready_only_after_a_probe_learn_and_predict_that_change_nothing(tmp_path, monkeypatch):
    import threading

    from fastapi.testclient import TestClient

    from tidal.service import create_app
    from tidal.service.host import ModelHost

    svc = _svc(tmp_path)
    svc.hosts["m"].learn(ROWS[:10], LABELS[:10])
    svc.close()
    gate, calls, real = threading.Event(), [], ModelHost.warm_up

    def held(self):
        before = (self.applied_seq, self.state_dict())
        gate.wait(30)
        real(self)
        calls.append(self.name)
        assert self.applied_seq == before[0]
        assert_state_equal(self.state_dict(), before[1])  # the probe learned on a copy

    monkeypatch.setattr(ModelHost, "warm_up", held)
    with TestClient(create_app(ServiceConfig(data=tmp_path, models={"m": "lr"}))) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and "warming up" in r.text
        gate.set()
        c.app.state.service.warmed.wait(30)
        assert c.get("/readyz").status_code == 200 and calls == ["m"]
        assert c.get("/v1/models/m").json()["version"]["seq"] == 10


def test_shadow_outputs_survive_a_crash_and_are_scored_after_it(tmp_path):
    def svc():
        cfg = ServiceConfig(data=tmp_path, models={"m": "lr"}, shadows={"m": {"c": "pa"}})
        return Service(cfg)

    s = svc()
    h = s.hosts["m"]
    h.learn(ROWS[:20], LABELS[:20])
    s.shadows.score("m", [None] * 20, LABELS[:20], ROWS[:20])  # the challenger learns too
    ids = h.predict(ROWS[20:30]).prediction_ids
    s.shadows.observe("m", ids, ROWS[20:30])
    kept = dict(s.shadows.of("m")["c"]._pending)
    crash(s)
    s = svc()
    c = s.shadows.of("m")["c"]
    assert {k: v[1] for k, v in c._pending.items()} == {k: v[1] for k, v in kept.items()}
    s.learn("m", None, LABELS[20:30], ids)
    assert c.scored == 10  # every label after the restart met its shadow prediction
    s.close()
