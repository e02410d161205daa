import io

import pytest
from fastapi.testclient import TestClient

from tidal.registry import Registry
from tidal.service import SERVE_DEFAULTS, ServiceConfig, create_app, load_config
from tidal.service.auth import announce_first_token

from .helpers import admin_token, make_stream

ROWS, LABELS = make_stream(10)
LEARN = {"items": [{"features": r, "label": y} for r, y in zip(ROWS, LABELS)]}


@pytest.fixture
def app_and_admin(tmp_path, capsys):
    app = create_app(ServiceConfig(data=tmp_path, models={"m": "lr"}, auth=True))
    admin = admin_token(tmp_path)
    with TestClient(app) as c:
        yield c, admin


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_first_start_prints_the_admin_token_once(tmp_path, capsys):
    cfg = ServiceConfig(data=tmp_path, models={"m": "mean"}, auth=True)
    with TestClient(create_app(cfg)) as c:
        token = admin_token(tmp_path)
        assert token not in capsys.readouterr().err  # never printed
        assert c.get("/v1/models", headers=_auth(token)).status_code == 200
    (tmp_path / "admin-token").unlink()
    with TestClient(create_app(cfg)):
        assert not (tmp_path / "admin-token").exists()


def test_roles_gate_every_kind_of_route(app_and_admin):
    c, admin = app_and_admin
    tokens = c.app.state.service.registry.tokens
    t = {role: tokens.create(role, f"{role}-1") for role in ("read", "predict", "learn")}
    t["admin"] = admin
    learn = lambda tok: c.post("/v1/models/m/learn", json=LEARN, headers=_auth(tok))  # noqa: E731
    predict = lambda tok: c.post(  # noqa: E731
        "/v1/models/m/predict", json={"row": ROWS[0]}, headers=_auth(tok)
    )
    read = lambda tok: c.get("/v1/models/m", headers=_auth(tok))  # noqa: E731
    rollback = lambda tok: c.post("/v1/models/m/rollback", json={}, headers=_auth(tok))  # noqa: E731
    assert [learn(t[r]).status_code for r in ("read", "predict", "learn", "admin")] == [
        403,
        403,
        200,
        200,
    ]
    assert [predict(t[r]).status_code for r in ("read", "predict", "learn")] == [403, 200, 200]
    assert read(t["read"]).status_code == 200
    assert rollback(t["learn"]).status_code == 403
    assert rollback(t["admin"]).status_code == 404  # allowed in, but nothing registered
    r = learn(t["predict"])
    msg = r.json()["detail"][0]
    assert msg["loc"] == ["header", "Authorization"] and "needs learn" in msg["msg"]
    assert c.get("/v1/audit", headers=_auth(t["learn"])).status_code == 403
    assert c.get("/v1/audit", headers=_auth(admin)).status_code == 200


def test_missing_wrong_or_revoked_tokens_get_401_and_change_nothing(app_and_admin):
    c, admin = app_and_admin
    host = c.app.state.service.hosts["m"]
    r = c.post("/v1/models/m/learn", json=LEARN)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in r.json()["detail"][0]["msg"]
    assert c.get("/v1/models").status_code == 401  # reads of data need a token too
    assert c.get("/v1/models/m/state").status_code == 401
    assert c.post("/v1/models/m/learn", json=LEARN, headers=_auth("tidal_x_y")).status_code == 401
    assert (
        c.post("/v1/models/m/learn", json=LEARN, headers={"Authorization": admin}).status_code
        == 401
    )
    assert host.wal.last_seq == 0
    tokens = c.app.state.service.registry.tokens
    tok = tokens.create("learn", "job")
    assert c.post("/v1/models/m/learn", json=LEARN, headers=_auth(tok)).status_code == 200
    tokens.revoke("job", by="test")
    assert c.post("/v1/models/m/learn", json=LEARN, headers=_auth(tok)).status_code == 401
    assert host.wal.last_seq == len(ROWS)
    # probes stay open for the orchestrator
    assert c.get("/healthz").status_code == 200 and c.get("/readyz").status_code == 200


def test_openapi_documents_the_bearer_scheme(app_and_admin):
    c, _ = app_and_admin
    spec = c.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "/v1/models/{name}/versions/{version}/promote" in spec["paths"]


def test_serve_defaults_turn_auth_on_and_config_can_turn_it_off(tmp_path):
    assert load_config(env={}, defaults=SERVE_DEFAULTS).auth is True
    assert load_config(env={"TIDAL_AUTH": "false"}, defaults=SERVE_DEFAULTS).auth is False
    assert load_config(env={}).auth is False
    reg = Registry(tmp_path / "r.sqlite")
    buf = io.StringIO()
    token = announce_first_token(reg.tokens, tmp_path, buf)
    assert token not in buf.getvalue() and reg.tokens.verify(token).role == "admin"
    assert admin_token(tmp_path) == token
    assert announce_first_token(reg.tokens, tmp_path, buf) is None


def test_cli_create_list_rotate_revoke(tmp_path):
    from typer.testing import CliRunner

    from tidal.cli._tokens import token_app

    run = lambda *a: CliRunner().invoke(token_app, [*a, "--data", str(tmp_path)])  # noqa: E731
    r = run("create", "--role", "predict", "--name", "web")
    assert r.exit_code == 0, r.output
    token = r.stdout.strip()
    cfg = ServiceConfig(data=tmp_path, models={"m": "lr"}, auth=True)
    with TestClient(create_app(cfg)) as c:  # a token exists: no first-start admin token
        ok = c.post("/v1/models/m/predict", json={"row": ROWS[0]}, headers=_auth(token))
        assert ok.status_code == 409  # authorised; the model has learned nothing yet
        listed = run("list")
        assert "web" in listed.stdout and "predict" in listed.stdout
        assert token.split("_", 2)[2] not in listed.stdout
        new = run("rotate", "web").stdout.strip()
        assert new.startswith("tidal_") and new != token
        tokens = c.app.state.service.registry.tokens
        tokens.cache_seconds = 0  # the CLI is another process: do not wait out the cache
        assert (
            c.post("/v1/models/m/predict", json={"row": ROWS[0]}, headers=_auth(token)).status_code
            == 401
        )
        assert run("revoke", "web").exit_code == 0
        assert (
            c.post("/v1/models/m/predict", json={"row": ROWS[0]}, headers=_auth(new)).status_code
            == 401
        )
    assert run("revoke", "nobody").exit_code == 2
    assert "no token named 'nobody'" in run("revoke", "nobody").output


def test_failed_token_checks_are_rate_limited_per_client(app_and_admin):
    c, admin = app_and_admin
    real_id = admin.split("_")[1]
    wrong = _auth(f"tidal_{real_id}_{'x' * 43}")  # a real token id, a wrong secret
    codes = [c.get("/v1/models", headers=wrong).status_code for _ in range(20)]
    assert codes == [401] * 20
    r = c.get("/v1/models", headers=wrong)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # until the window passes, this client is refused before any check, good token or not
    assert c.get("/v1/models", headers=_auth(admin)).status_code == 429
