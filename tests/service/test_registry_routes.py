import pytest
from fastapi.testclient import TestClient

from tidal.service import ServiceConfig, create_app

from .helpers import admin_token, assert_state_equal, make_stream

ROWS, LABELS = make_stream(60)


def _learn(c, lo, hi):
    items = [{"features": r, "label": y} for r, y in zip(ROWS[lo:hi], LABELS[lo:hi])]
    c.post("/v1/models/m/learn", json={"items": items}).raise_for_status()


def _cfg(tmp_path, **kw):
    return ServiceConfig(data=tmp_path, models={"m": "lr"}, gate_min_events=10, **kw)


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(_cfg(tmp_path))) as c:
        yield c


def test_register_snapshots_the_running_model(client):
    _learn(client, 0, 20)
    host = client.app.state.service.hosts["m"]
    r = client.post(
        "/v1/models/m/versions", json={"by": "ann", "why": "day 1", "metrics": {"acc": 0.8}}
    )
    assert r.status_code == 201
    v = r.json()
    assert (v["version"], v["stage"], v["kind"], v["created_by"]) == (
        1,
        "candidate",
        "online",
        "ann",
    )
    assert v["data_range"] == {"wal_seq_to": 20} and v["metrics"] == {"acc": 0.8}
    assert_state_equal(client.app.state.service.registry.state("m", 1), host.state_dict())
    assert client.get("/v1/models/m/versions/1").json()["state_sha256"] == v["state_sha256"]
    assert [x["version"] for x in client.get("/v1/models/m/versions").json()] == [1]
    assert client.get("/v1/models/m/versions/9").status_code == 404
    assert client.get("/v1/models/nope/versions").status_code == 404
    assert client.post("/v1/models/nope/versions", json={}).status_code == 404
    assert client.post("/v1/models/m/versions", json={"kind": "weekly"}).status_code == 422
    assert client.get("/v1/models/..%2F..%2Fetc/versions").status_code in (404, 422)


def test_promote_runs_the_gate_and_409_says_why(client):
    _learn(client, 0, 20)
    client.post("/v1/models/m/versions", json={}).raise_for_status()
    client.post("/v1/models/m/versions", json={}).raise_for_status()
    r = client.post(
        "/v1/models/m/versions/1/promote", json={"challenger_metric": 0.7, "n_events": 50}
    )
    assert r.status_code == 200 and r.json()["stage"] == "production"
    weak = {"challenger_metric": 0.7, "champion_metric": 0.7, "n_events": 50, "why": "try"}
    r = client.post("/v1/models/m/versions/2/promote", json=weak)
    assert r.status_code == 409 and "does not beat" in r.json()["detail"][0]["msg"]
    few = {"events": {"labels": [1, 0], "challenger": [1, 0], "champion": [0, 1]}}
    r = client.post("/v1/models/m/versions/2/promote", json=few)
    assert r.status_code == 409 and "only 2 labelled events" in r.json()["detail"][0]["msg"]
    odd = {"events": {"labels": [[1]] * 20, "challenger": [[2]] * 20}, "metric": "mae"}
    r = client.post("/v1/models/m/versions/2/promote", json=odd)
    assert r.status_code == 422 and "cannot score" in r.json()["detail"][0]["msg"]
    nan = b'{"challenger_metric": NaN, "n_events": 50}'
    r = client.post(
        "/v1/models/m/versions/2/promote", content=nan, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    labels = LABELS[:30]
    events = {"labels": labels, "challenger": labels, "champion": [1 - y for y in labels]}
    r = client.post(
        "/v1/models/m/versions/2/promote", json={"events": events, "metric": "accuracy"}
    )
    assert r.status_code == 200
    stages = [v["stage"] for v in client.get("/v1/models/m/versions").json()]
    assert stages == ["archived", "production"]
    model = client.get("/v1/models/m").json()
    assert model["version"]["registry_version"] == "2"
    bad = client.post(
        "/v1/models/m/versions/1/promote", json={"challenger_metric": 1.0, "n_events": 99}
    )
    assert bad.status_code == 409 and "rollback" in bad.json()["detail"][0]["msg"]


def test_batch_needs_approval_shadow_and_audit(client):
    _learn(client, 0, 20)
    client.post("/v1/models/m/versions", json={"kind": "batch"}).raise_for_status()
    good = {"challenger_metric": 0.9, "n_events": 50}
    r = client.post("/v1/models/m/versions/1/promote", json=good)
    assert r.status_code == 409 and "approval" in r.json()["detail"][0]["msg"]
    r = client.post("/v1/models/m/versions/1/approve", json={"by": "carol", "why": "backtest ok"})
    assert r.json()["approved_by"] == "carol"
    assert (
        client.post("/v1/models/m/versions/1/shadow", json={"by": "carol"}).json()["stage"]
        == "shadow"
    )
    assert client.post("/v1/models/m/versions/1/promote", json=good).status_code == 200
    log = client.get("/v1/audit", params={"name": "m"}).json()
    assert [e["action"] for e in log] == [
        "register",
        "promote_refused",
        "approve",
        "shadow",
        "promote",
    ]
    assert log[2]["actor"] == "carol" and log[2]["reason"] == "backtest ok"


def test_rollback_serves_the_old_state_and_survives_a_restart(tmp_path):
    cfg = _cfg(tmp_path)
    good = {"challenger_metric": 0.9, "n_events": 50}
    with TestClient(create_app(cfg)) as c:
        svc = c.app.state.service
        _learn(c, 0, 10)
        c.post("/v1/models/m/versions", json={}).raise_for_status()
        v1 = svc.registry.state("m", 1)
        c.post("/v1/models/m/versions/1/promote", json=good).raise_for_status()
        _learn(c, 10, 40)
        c.post("/v1/models/m/versions", json={}).raise_for_status()
        c.post(
            "/v1/models/m/versions/2/promote", json=good | {"champion_metric": 0.5}
        ).raise_for_status()
        r = c.post("/v1/models/m/rollback", json={"why": "v2 drifts", "by": "oncall"})
        assert r.status_code == 200 and r.json()["version"] == 1
        assert_state_equal(svc.hosts["m"].state_dict(), v1)
        assert c.post("/v1/models/m/predict", json={"row": ROWS[0]}).json()["version"] == {
            "registry_version": "1",
            "seq": 40,
        }
        _learn(c, 40, 45)  # goes on learning from version 1
        after = svc.hosts["m"].state_dict()
        assert c.post("/v1/models/m/rollback", json={"to_version": 1}).status_code == 409
    with TestClient(create_app(cfg)) as c:
        host = c.app.state.service.hosts["m"]
        assert_state_equal(host.state_dict(), after)
        assert c.get("/v1/models/m").json()["version"]["registry_version"] == "1"


def test_actor_is_the_token_when_auth_is_on(tmp_path, capsys):
    app = create_app(_cfg(tmp_path, auth=True))
    admin = admin_token(tmp_path)
    with TestClient(app) as c:
        h = {"Authorization": f"Bearer {admin}"}
        c.post("/v1/models/m/learn", headers=h, json={"features": ROWS[0], "label": LABELS[0]})
        r = c.post("/v1/models/m/versions", headers=h, json={"by": "someone-else"})
        assert r.json()["created_by"] == "token:admin"
        assert c.post("/v1/models/m/versions", json={}).status_code == 401


def test_non_finite_metrics_are_refused_and_stored_ones_break_no_route(client):
    _learn(client, 0, 20)
    nan = b'{"by": "x", "metrics": {"acc": NaN, "per_class": [1.0, Infinity]}}'
    r = client.post(
        "/v1/models/m/versions", content=nan, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and "metrics.acc is not a finite number" in r.text
    # a row written before the check (or by hand): every route that shows it still answers
    assert client.post("/v1/models/m/versions", json={"metrics": {"acc": 0.5}}).status_code == 201
    reg = client.app.state.service.registry
    with reg.engine.begin() as c:
        c.exec_driver_sql("UPDATE model_versions SET metrics = '{\"acc\": NaN}'")
    for url in ("/v1/models/m/versions", "/v1/models/m/versions/1", "/v1/dashboard/state"):
        r = client.get(url)
        assert r.status_code == 200, (url, r.text)
    assert client.get("/v1/models/m/versions/1").json()["metrics"] == {"acc": None}
