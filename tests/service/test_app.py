import pytest
from fastapi.testclient import TestClient

from tidal.service import (
    ConfigError,
    DataFolderLockedError,
    ServiceConfig,
    create_app,
    load_config,
    run,
)

from .helpers import assert_state_equal, make_stream

ROWS, LABELS = make_stream(40)


@pytest.fixture
def client(tmp_path):
    cfg = ServiceConfig(data=tmp_path, models={"clf": "lr", "reg": "linreg"}, max_body_bytes=20_000)
    with TestClient(create_app(cfg)) as c:
        c.post(
            "/v1/models/clf/learn",
            json={"items": [{"features": r, "label": y} for r, y in zip(ROWS[:10], LABELS[:10])]},
        ).raise_for_status()
        yield c


def _snapshot_of(client, name="clf"):
    host = client.app.state.service.hosts[name]
    return host.state_dict(), host.wal.last_seq, [p.stat().st_size for p in host.wal.segments]


def test_predict_one_and_many_then_delayed_labels(client):
    one = client.post("/v1/models/clf/predict", json={"row": ROWS[10]}).json()
    assert one["predictions"][0] in (0, 1) and len(one["prediction_ids"]) == 1
    assert one["version"] == {"registry_version": None, "seq": 10}
    assert set(one["probabilities"][0]) == {"0", "1"}
    many = client.post("/v1/models/clf/predict", json={"rows": ROWS[11:14]}).json()
    assert len(many["predictions"]) == 3
    pid = many["prediction_ids"][0]
    r = client.post("/v1/models/clf/learn", json={"prediction_id": pid, "label": LABELS[11]})
    assert r.status_code == 200 and r.json()["learned"] == 1 and r.json()["last_seq"] == 11
    state = _snapshot_of(client)
    again = client.post("/v1/models/clf/learn", json={"prediction_id": pid, "label": LABELS[11]})
    assert again.status_code == 200 and again.json()["already_learned"] == [0]
    assert again.json()["learned"] == 0
    assert_state_equal(_snapshot_of(client), state)


def test_models_list_info_health_metrics(client):
    names = [m["name"] for m in client.get("/v1/models").json()]
    assert names == ["clf", "reg"]
    info = client.get("/v1/models/clf").json()
    assert info["features"] == ["a", "b", "c"] and info["version"]["seq"] == 10
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    client.post("/v1/models/clf/predict", json={"rows": ROWS[:3]})
    text = client.get("/metrics").text
    assert 'tidal_predictions_total{model="clf"} 3.0' in text
    assert 'tidal_learn_events_total{model="clf"} 10.0' in text
    assert "tidal_wal_fsync_seconds_bucket" in text and "tidal_request_seconds_bucket" in text
    spec = client.get("/openapi.json").json()
    assert "/v1/models/{name}/learn" in spec["paths"]
    assert "LearnRequest" in spec["components"]["schemas"]


def test_unfitted_model_predict_is_409(client):
    r = client.post("/v1/models/reg/predict", json={"row": {"x": 1.0}})
    assert r.status_code == 409 and "not fitted" in r.text


BAD = [
    # (description, path, raw body or json, status, a field the message must name)
    ("malformed json", "/v1/models/clf/learn", b'{"features": {"a": 1.0,', 422, "malformed JSON"),
    ("wrong type", "/v1/models/clf/learn", {"features": {"a": [1]}, "label": 1}, 422, "features"),
    ("no label", "/v1/models/clf/learn", {"features": ROWS[0]}, 422, "label"),
    (
        "both",
        "/v1/models/clf/learn",
        {"features": ROWS[0], "prediction_id": "x", "label": 1},
        422,
        "prediction_id",
    ),
    (
        "extra field",
        "/v1/models/clf/learn",
        {"features": ROWS[0], "label": 1, "lable": 2},
        422,
        "lable",
    ),
    (
        "missing feature",
        "/v1/models/clf/learn",
        {
            "items": [
                {"features": ROWS[0], "label": 1},
                {"features": {"a": 1.0, "b": 2.0}, "label": 0},
            ]
        },
        422,
        "c",
    ),
    (
        "extra feature",
        "/v1/models/clf/learn",
        {"features": {**ROWS[0], "zz": 1.0}, "label": 1},
        422,
        "zz",
    ),
    (
        "text feature",
        "/v1/models/clf/learn",
        {"features": {**ROWS[0], "b": "high"}, "label": 1},
        422,
        "b",
    ),
    (
        "third class",
        "/v1/models/clf/learn",
        {"items": [{"features": ROWS[0], "label": 1}, {"features": ROWS[1], "label": 5}]},
        422,
        "label",
    ),
    (
        "unknown prediction id",
        "/v1/models/clf/learn",
        {"prediction_id": "nope", "label": 1},
        404,
        "prediction_id",
    ),
    ("unknown model", "/v1/models/nope/learn", {"features": ROWS[0], "label": 1}, 404, "nope"),
    (
        "traversal name",
        "/v1/models/..%2F..%2Fetc/learn",
        {"features": ROWS[0], "label": 1},
        404,
        "Not Found",
    ),
    ("dotted name", "/v1/models/.hidden/learn", {"features": ROWS[0], "label": 1}, 422, "name"),
    (
        "oversized body",
        "/v1/models/clf/learn",
        {"items": [{"features": ROWS[0], "label": 1}] * 400},
        413,
        "body",
    ),
    ("empty items", "/v1/models/clf/learn", {"items": []}, 422, "items"),
    (
        "predict missing feature",
        "/v1/models/clf/predict",
        {"rows": [ROWS[0], {"a": 1.0}]},
        422,
        "b",
    ),
    ("predict both", "/v1/models/clf/predict", {"row": ROWS[0], "rows": [ROWS[0]]}, 422, "row"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_4xx_naming_the_field_and_changes_nothing(client, case):
    _, path, body, status, field = case
    before = _snapshot_of(client)
    if isinstance(body, bytes):
        r = client.post(path, content=body, headers={"content-type": "application/json"})
    else:
        r = client.post(path, json=body)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert any(field in str(d["loc"]) or field in d["msg"] for d in detail), detail
    after = _snapshot_of(client)
    assert_state_equal(after, before)


def test_input_errors_locate_item_and_feature(client):
    body = {
        "items": [
            {"features": ROWS[0], "label": 1},
            {"features": {**ROWS[1], "a": "x"}, "label": 0},
        ]
    }
    r = client.post("/v1/models/clf/learn", json=body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "items", 1, "features", "a"]


def test_second_service_on_same_folder_is_refused(tmp_path):
    cfg = ServiceConfig(data=tmp_path, models={"m": "mean"})
    with TestClient(create_app(cfg)):
        with pytest.raises(DataFolderLockedError, match=r"in use by process \d+"):
            create_app(cfg)
    create_app(cfg).state.service.close()  # released on shutdown


def test_more_than_one_worker_is_refused(tmp_path):
    with pytest.raises(ValueError, match="exactly one worker"):
        run(ServiceConfig(data=tmp_path, workers=2))


def test_config_file_env_and_flags_in_that_order(tmp_path):
    path = tmp_path / "tidal.toml"
    path.write_text(
        '[service]\nport = 7000\nsnapshot_every = 50\ndata = "/tmp/a"\n'
        '[models]\nx = "linreg:l2=0.5"\n'
        'y = { class = "tidal.dummy.RunningMeanRegressor" }\n'
    )
    cfg = load_config(
        path,
        env={"TIDAL_PORT": "7100", "TIDAL_SNAPSHOT_EVERY": "60"},
        overrides={"port": 7200, "data": None},
    )
    assert (cfg.port, cfg.snapshot_every, str(cfg.data)) == (7200, 60, "/tmp/a")
    assert cfg.models == {"x": "linreg:l2=0.5", "y": {"class": "tidal.dummy.RunningMeanRegressor"}}
    assert load_config(env={}).models == {"default": "lr", "regression": "linreg"}
    with pytest.raises(ConfigError, match="TIDAL_PORT"):
        load_config(env={"TIDAL_PORT": "eighty"})
    with pytest.raises(ConfigError, match="not allowed"):
        load_config(env={"TIDAL_MODELS": "../up=lr"})
    path.write_text("[service]\nprot = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        load_config(path, env={})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TIDAL_MODELS": "a=lr;b"}, "models must look like 'name=spec;name=spec', got 'a=lr;b'"),
        (
            {"TIDAL_GUARDS": "default=s.json;oops"},
            "guards must be a table {model = \"schema.json\"} or 'name=path;name=path', "
            "got 'default=s.json;oops'",
        ),
        ({"TIDAL_SHADOWS": "x"}, "shadows must be a table {model = {key = spec}}"),
        ({"TIDAL_SNAPSHOT_EVERY": "1.5"}, "snapshot_every must be an int, got '1.5'"),
    ],
)
def test_a_bad_setting_names_the_variable_what_was_expected_and_what_came(env, message):
    with pytest.raises(ConfigError) as err:
        load_config(env=env)
    assert str(err.value).startswith(f"environment variable {next(iter(env))}: {message}")


def test_guards_read_as_name_path_pairs_or_a_table():
    text = {"TIDAL_GUARDS": " default = s.json ; regression=t.json"}
    assert load_config(env=text).guards == {"default": "s.json", "regression": "t.json"}
    pairs = {"guards": [("default", "s.json")]}
    assert load_config(env={}, overrides=pairs).guards == {"default": "s.json"}


def test_default_model_set_serves_at_once(tmp_path):
    with TestClient(create_app(ServiceConfig(data=tmp_path))) as c:
        assert [m["name"] for m in c.get("/v1/models").json()] == ["default", "regression"]
        r = c.post("/v1/models/default/learn", json={"features": {"x": 1.0}, "label": 1})
        assert r.status_code == 200
        assert c.post("/v1/models/default/predict", json={"row": {"x": 1.0}}).status_code == 200


def test_shutdown_snapshots_and_restart_recovers(tmp_path):
    cfg = ServiceConfig(data=tmp_path, models={"clf": "lr"})
    with TestClient(create_app(cfg)) as c:
        c.post(
            "/v1/models/clf/learn",
            json={"items": [{"features": r, "label": y} for r, y in zip(ROWS, LABELS)]},
        ).raise_for_status()
        state = c.app.state.service.hosts["clf"].state_dict()
    with TestClient(create_app(cfg)) as c:
        host = c.app.state.service.hosts["clf"]
        assert host.snapshot_seq == 40 and host.replayed == 0
        assert_state_equal(host.state_dict(), state)


@pytest.mark.parametrize("every, seconds", [(5, 3600.0), (10**6, 0.2)])
def test_background_snapshots_every_n_events_or_t_seconds(tmp_path, every, seconds):
    import time

    cfg = ServiceConfig(
        data=tmp_path, models={"clf": "lr"}, snapshot_every=every, snapshot_seconds=seconds
    )
    with TestClient(create_app(cfg)) as c:
        host = c.app.state.service.hosts["clf"]
        items = [{"features": r, "label": y} for r, y in zip(ROWS[:6], LABELS[:6])]
        c.post("/v1/models/clf/learn", json={"items": items}).raise_for_status()
        deadline = time.monotonic() + 5
        while host.snapshot_seq != 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert host.snapshot_seq == 6
        assert host.snapshots.seqs == [6]
