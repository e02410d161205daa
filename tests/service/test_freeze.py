"""A frozen model stays frozen: across SIGKILL and SIGTERM restarts, whoever froze it.

Automatic freezes (rolling accuracy under the floor, a guard burst) and an admin's freeze are
kept on disk (``<data>/frozen/<name>.json``) before any learn is refused, so a restarted
service refuses learning exactly as before until an unfreeze, a promote or a rollback.
"""

from __future__ import annotations

import json
import signal

import httpx
import pytest
from fastapi.testclient import TestClient

from tidal.linear_model import LinearRegression
from tidal.service import ServiceConfig, create_app
from tidal.service.host import FrozenError, ModelHost

from .helpers import admin_token, make_stream
from .test_crash import SERVICE_FLAGS, Server, Zygote

LEARN, PREDICT, INFO = "/v1/models/m/learn", "/v1/models/m/predict", "/v1/models/m"


@pytest.fixture
def zygote():
    z = Zygote()
    yield z
    z.close()


def _ok(r: httpx.Response) -> dict:
    assert r.status_code in (200, 201), r.text
    return r.json()


def _refused(c: httpx.Client, row: dict, label: int, why: str) -> None:
    """A learn answers 409 "frozen", naming ``why``, and the log does not move."""
    seq = _ok(c.get(INFO))["version"]["seq"]
    r = c.post(LEARN, json={"features": row, "label": label})
    assert r.status_code == 409, r.text
    (detail,) = r.json()["detail"]
    assert detail["type"] == "frozen" and why in detail["msg"], detail
    assert _ok(c.get(INFO))["version"]["seq"] == seq


def test_frozen_model_stays_frozen_across_sigkill_and_sigterm(tmp_path, zygote) -> None:
    config = tmp_path / "tidal.toml"
    config.write_text("[service]\nfreeze_floor = 0.7\nfreeze_min_events = 10\nshadow_window = 10\n")
    server = Server(
        tmp_path / "data",
        tmp_path / "service.log",
        zygote,
        flags=[*SERVICE_FLAGS, "--config", str(config)],
    )
    rows, labels = make_stream(300, seed=3)
    server.start()
    with httpx.Client(base_url=server.url, timeout=30) as c:
        items = [{"features": x, "label": y} for x, y in zip(rows[:100], labels[:100])]
        _ok(c.post(LEARN, json={"items": items}))
        # production's own predictions, every label wrong: rolling accuracy 0.00 < 0.70
        res = _ok(c.post(PREDICT, json={"rows": rows[100:110]}))
        wrong = [
            {"prediction_id": i, "label": 1 - p}
            for i, p in zip(res["prediction_ids"], res["predictions"])
        ]
        _ok(c.post(LEARN, json={"items": wrong}))
        info = _ok(c.get(INFO))
        reason = "frozen: rolling accuracy 0.00 < floor 0.70"
        assert info["frozen"] == reason
        seq = info["version"]["seq"]
        assert seq == 110  # the wrong labels were learned, then the model froze
        _refused(c, rows[120], labels[120], "rolling accuracy 0.00")

    for sig in (signal.SIGKILL, signal.SIGTERM):
        server.signal(sig)
        server.wait()
        server.start()
        with httpx.Client(base_url=server.url, timeout=30) as c:
            info = _ok(c.get(INFO))
            assert info["frozen"] == reason, sig
            assert info["freeze"]["by"] == "tidal"
            assert info["freeze"]["details"] == {"metric": "accuracy", "value": 0.0, "floor": 0.7}
            assert info["version"]["seq"] == seq
            _refused(c, rows[121], labels[121], "rolling accuracy 0.00")
            _ok(c.post(PREDICT, json={"row": rows[122]}))  # predictions go on

    with httpx.Client(base_url=server.url, timeout=30) as c:
        # an admin unfreezes: learning resumes, and stays resumed after a crash
        r = c.post("/v1/models/m/unfreeze", json={"why": "labels fixed", "by": "ops"})
        assert _ok(r)["frozen"] is None
        assert _ok(c.post(LEARN, json={"features": rows[130], "label": labels[130]}))[
            "last_seq"
        ] == (seq + 1)
    server.signal(signal.SIGKILL)
    server.wait()
    server.start()
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert _ok(c.get(INFO))["frozen"] is None
        _ok(c.post(LEARN, json={"features": rows[131], "label": labels[131]}))
        # an admin freezes: killed at once after the answer, it restarts frozen
        info = _ok(c.post("/v1/models/m/freeze", json={"reason": "bad source", "by": "ops"}))
        assert info["frozen"] == "frozen by ops: bad source"
    server.signal(signal.SIGKILL)
    server.wait()
    server.start()
    with httpx.Client(base_url=server.url, timeout=30) as c:
        info = _ok(c.get(INFO))
        assert info["frozen"] == "frozen by ops: bad source"
        assert info["freeze"]["by"] == "ops"
        assert info["freeze"]["details"] == {"admin": "bad source"}
        _refused(c, rows[132], labels[132], "bad source")
        audit = _ok(c.get("/v1/audit", params={"name": "m"}))
        assert [(a["action"], a["actor"]) for a in audit] == [
            ("freeze", "tidal"),
            ("unfreeze", "ops"),
            ("freeze", "ops"),
        ]
    server.signal(signal.SIGTERM)
    server.wait()


def test_freeze_record_is_on_disk_before_learning_is_refused(tmp_path) -> None:
    host = ModelHost("demo", LinearRegression(), tmp_path)
    host.learn([{"x": 1.0}], [2.0])
    host.freeze("frozen by ops: audit", by="ops", details={"ticket": 7})
    record = json.loads((tmp_path / "frozen" / "demo.json").read_text())
    assert (record["reason"], record["by"], record["details"]) == (
        "frozen by ops: audit",
        "ops",
        {"ticket": 7},
    )
    with pytest.raises(FrozenError, match="frozen by ops: audit"):
        host.learn([{"x": 2.0}], [4.0])
    host.close()
    again = ModelHost("demo", LinearRegression(), tmp_path)
    assert again.frozen == "frozen by ops: audit" and again.freeze_record["by"] == "ops"
    with pytest.raises(FrozenError):
        again.learn([{"x": 2.0}], [4.0])
    again.unfreeze()
    assert not (tmp_path / "frozen" / "demo.json").exists()
    assert again.learn([{"x": 2.0}], [4.0]).last_seq == 2
    again.close()
    assert ModelHost("demo", LinearRegression(), tmp_path).frozen is None


def test_an_unreadable_freeze_record_still_freezes(tmp_path) -> None:
    (tmp_path / "frozen").mkdir()
    (tmp_path / "frozen" / "demo.json").write_text("{not json")
    host = ModelHost("demo", LinearRegression(), tmp_path)
    assert host.frozen is not None and "unreadable freeze record" in host.frozen
    with pytest.raises(FrozenError, match="unreadable freeze record"):
        host.learn([{"x": 1.0}], [2.0])
    host.close()


def test_promote_unfreezes_on_disk_too(tmp_path) -> None:
    rows, labels = make_stream(60, seed=5)
    cfg = ServiceConfig(data=tmp_path, models={"m": "lr"})
    with TestClient(create_app(cfg)) as c:
        items = [{"features": x, "label": y} for x, y in zip(rows[:40], labels[:40])]
        _ok(c.post(LEARN, json={"items": items}))
        _ok(c.post("/v1/models/m/freeze", json={"reason": "look first"}))
        r = c.post("/v1/models/m/freeze", json={"reason": "again"})
        assert r.status_code == 409 and "already frozen" in r.json()["detail"][0]["msg"]
        assert (tmp_path / "frozen" / "m.json").exists()
        assert c.post(LEARN, json={"features": rows[40], "label": labels[40]}).status_code == 409
        _ok(c.post("/v1/models/m/versions", json={}))
        r = c.post(
            "/v1/models/m/versions/1/promote", json={"challenger_metric": 0.9, "n_events": 200}
        )
        _ok(r)
        assert not (tmp_path / "frozen" / "m.json").exists()
        _ok(c.post(LEARN, json={"features": rows[40], "label": labels[40]}))
        r = c.post("/v1/models/m/unfreeze", json={})
        assert r.status_code == 409 and r.json()["detail"][0]["type"] == "not_frozen"
    with TestClient(create_app(cfg)) as c:  # restarted: not frozen
        assert _ok(c.get(INFO))["frozen"] is None


def test_only_an_admin_freezes_and_the_audit_names_the_token(tmp_path, capsys) -> None:
    rows, labels = make_stream(20, seed=9)
    app = create_app(ServiceConfig(data=tmp_path, models={"m": "lr"}, auth=True))
    admin = admin_token(tmp_path)
    with TestClient(app) as c:
        learner = c.app.state.service.registry.tokens.create("learn", "etl")
        as_learner = {"Authorization": f"Bearer {learner}"}
        as_admin = {"Authorization": f"Bearer {admin}"}
        r = c.post("/v1/models/m/freeze", json={"reason": "x"}, headers=as_learner)
        assert r.status_code == 403
        r = c.post("/v1/models/m/freeze", json={"reason": "drift", "by": "me"}, headers=as_admin)
        info = _ok(r)
        assert info["frozen"] == "frozen by token:admin: drift"  # the token, not the claim
        r = c.post(LEARN, json={"features": rows[0], "label": labels[0]}, headers=as_learner)
        assert r.status_code == 409 and r.json()["detail"][0]["type"] == "frozen"
        assert c.post("/v1/models/m/unfreeze", json={}, headers=as_learner).status_code == 403
        _ok(c.post("/v1/models/m/unfreeze", json={"why": "ok"}, headers=as_admin))
        audit = _ok(c.get("/v1/audit", params={"name": "m"}, headers=as_admin))
        assert [(a["action"], a["actor"]) for a in audit] == [
            ("freeze", "token:admin"),
            ("unfreeze", "token:admin"),
        ]
