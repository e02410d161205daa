"""Guards and feature-drift monitoring in front of the service's learning."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from tidal.guards import LabelBurst, OutOfRange, RejectBurst, Schema
from tidal.service import ServiceConfig, create_app
from tidal.service.config import build_model, load_config
from tidal.service.guarding import ModelGuard

from .helpers import assert_state_equal, make_stream

ROWS, LABELS = make_stream(40, seed=5)
JSON = {"content-type": "application/json"}  # json.dumps writes NaN, which the server reads


def _schema(tmp_path: Path) -> Path:
    spec = {
        "columns": {
            k: {"type": "numeric", "min": -10.0, "max": 10.0, "center": 0.0, "scale": 1.0}
            for k in ("a", "b", "c")
        },
        "target": {"name": "y", "type": "classes", "classes": [0, 1]},
    }
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(spec))
    return path


def _config(tmp_path: Path, **kw: object) -> ServiceConfig:
    models = {"g": "lr", "plain": "lr"}
    guards = {"g": str(_schema(tmp_path))}
    return ServiceConfig(data=tmp_path / "data", models=models, guards=guards, **kw)


def _learn(c: TestClient, model: str, rows: list, labels: list) -> dict:
    items = [{"features": r, "label": y} for r, y in zip(rows, labels)]
    r = c.post(f"/v1/models/{model}/learn", content=json.dumps({"items": items}), headers=JSON)
    assert r.status_code == 200, r.text
    return r.json()


def test_guard_quarantines_bad_rows_and_learns_and_logs_only_the_clean_ones(tmp_path) -> None:
    cfg = _config(tmp_path)
    rows = [dict(r) for r in ROWS[:10]]
    rows[3]["b"] = math.nan  # NaN: JSON's NaN, parsed by the server
    rows[7]["a"] = 50.0  # outside the schema's [-10, 10]
    clean = [i for i in range(10) if i not in (3, 7)]
    with TestClient(create_app(cfg)) as c:
        res = _learn(c, "g", rows, LABELS[:10])
        assert res["learned"] == 8 and res["quarantined"] == 2
        assert [v["verdict"] for v in res["verdicts"]] == [
            "quarantined" if i in (3, 7) else "learned" for i in range(10)
        ]
        assert res["verdicts"][3]["rule"] == "missing"
        assert res["verdicts"][7]["rule"] == "out_of_range"
        assert "a == 50" in res["verdicts"][7]["reason"]

        expected = build_model("x", "lr").learn_many(
            [ROWS[i] for i in clean], [LABELS[i] for i in clean]
        )
        host = c.app.state.service.hosts["g"]
        assert_state_equal(host.state_dict(), expected.state_dict())
        logged = [e for _, evs in host.wal.replay_batches(after=0) for e in evs]
        assert [e["x"] for e in logged] == [ROWS[i] for i in clean]
        assert [e["y"] for e in logged] == [LABELS[i] for i in clean]

        q = c.get("/v1/quarantine", params={"model": "g", "limit": 10})
        assert q.status_code == 200, q.text
        got = q.json()
        assert [(r["model"], r["rule"]) for r in got] == [("g", "out_of_range"), ("g", "missing")]
        assert got[0]["record"]["a"] == 50.0 and "outside" in got[0]["reason"]
        assert "missing" in got[1]["reason"]
        assert c.get("/v1/quarantine", params={"limit": 1}).json()[0]["rule"] == "out_of_range"

        # a request whose rows are all quarantined: 200, kept, nothing learned or logged
        seq = host.applied_seq
        res = _learn(c, "g", [{"a": 99.0, "b": 0.0, "c": 0.0}], [1])
        assert res["learned"] == 0 and res["quarantined"] == 1 and host.applied_seq == seq
        assert len(c.get("/v1/quarantine", params={"model": "g"}).json()) == 3
        # malformed requests are still 422, and the guard never sees them
        assert c.post("/v1/models/g/learn", json={"items": []}).status_code == 422
        assert c.post("/v1/models/g/learn", json={"label": 1}).status_code == 422
        assert c.get("/v1/quarantine", params={"limit": 0}).status_code == 422
        assert c.get("/v1/quarantine", params={"model": "nope"}).status_code == 404

        marks = c.get("/v1/dashboard/state").json()["models"]["g"]
        rules = marks["guard_rules"]  # the outlier rule flags (not quarantines) them too
        assert rules["missing"] == 1 and rules["out_of_range"] == 2
        assert [r["rule"] for r in marks["quarantine"]][:1] == ["out_of_range"]
        state = host.state_dict()

    # restart: recovery from the snapshot and the log gives the same model
    with TestClient(create_app(_config(tmp_path))) as c:
        assert_state_equal(c.app.state.service.hosts["g"].state_dict(), state)
        assert len(c.get("/v1/quarantine").json()) == 3  # the quarantine survives too


def test_drift_route_reports_per_feature_rows_after_a_shift(tmp_path) -> None:
    cfg = _config(tmp_path, drift_reference=200, drift_window=200)
    rng = np.random.default_rng(0)

    def rows(shift: float, n: int = 200) -> list[dict[str, float]]:
        X = rng.normal(size=(n, 3))
        X[:, 0] += shift
        return [{"a": float(u), "b": float(v), "c": float(w)} for u, v, w in X]

    with TestClient(create_app(cfg)) as c:
        before = c.get("/v1/models/g/drift").json()
        assert before["ready"] is False and before["features"] == []
        _learn(c, "g", rows(0.0), [0, 1] * 100)
        _learn(c, "g", rows(3.0), [0, 1] * 100)
        rep = c.get("/v1/models/g/drift").json()
        assert rep["ready"] and rep["n_seen"] == 400
        assert {r["feature"] for r in rep["features"]} == {"a", "b", "c"}
        drifted = {r["feature"] for r in rep["features"] if r["drifted"]}
        assert "a" in drifted and "b" not in drifted
        panel = c.get("/v1/dashboard/state").json()["models"]["g"]["drift"]
        assert [d["feature"] for d in panel] == ["a", "b", "c"] and panel[0]["drifted"]
        r = c.get("/v1/models/plain/drift")
        assert r.status_code == 404 and "no guards" in r.text


def test_unguarded_model_answers_exactly_as_before(tmp_path) -> None:
    with TestClient(create_app(_config(tmp_path))) as c:
        res = _learn(c, "plain", ROWS[:5], LABELS[:5])
        assert set(res) == {"learned", "first_seq", "last_seq", "already_learned", "version"}
        bad = {"features": {"a": math.nan, "b": 0.0, "c": 0.0}, "label": 1}
        r = c.post("/v1/models/plain/learn", content=json.dumps(bad), headers=JSON)
        assert r.status_code == 422  # no guard: non-finite values are still refused
        # ...before the model sees them: its imputer would take the row, the JSON log could not,
        # and a model ahead of its log stops learning
        assert "feature 'a': expected a finite number" in r.text
        assert _learn(c, "plain", ROWS[5:7], LABELS[5:7])["learned"] == 2
        state = c.get("/v1/dashboard/state").json()["models"]["plain"]
        assert "drift" not in state and "quarantine" not in state


def test_burst_pauses_learning_and_freezes_the_model(tmp_path) -> None:
    cfg = _config(tmp_path)
    with TestClient(create_app(cfg)) as c:
        svc = c.app.state.service
        host = svc.hosts["g"]
        burst = RejectBurst(
            warmup=20, alpha_fast=0.2, alpha_slow=0.02, min_rate=0.3, delta=0.2, policy="quarantine"
        )
        host.guard = ModelGuard(
            "g",
            Schema.from_json(_schema(tmp_path)),
            svc.quarantine,
            rules=[OutOfRange(), burst, LabelBurst()],
        )
        _learn(c, "g", ROWS[:30], LABELS[:30])
        bad = [{"a": 99.0, "b": 0.0, "c": 0.0}] * 40
        res = _learn(c, "g", bad + ROWS[30:32], [1] * 42)
        assert res["learned"] == 0 and host.guard.learning_paused
        assert {v["rule"] for v in res["verdicts"][-2:]} == {"reject_burst"}
        assert host.frozen is not None and host.frozen.startswith("frozen: guard burst")
        entries = [(e.action, e.reason) for e in svc.registry.audit("g", 10)]
        assert ("freeze", host.frozen) in entries
        r = c.post("/v1/models/g/learn", json={"features": ROWS[0], "label": LABELS[0]})
        assert r.status_code == 409
        marks = c.get("/v1/dashboard/state").json()["models"]["g"]["guard_rules"]
        assert marks.get("reject_burst") == 1


def test_model_table_schema_is_read_relative_to_the_config_file(tmp_path) -> None:
    _schema(tmp_path)
    toml = tmp_path / "tidal.toml"
    toml.write_text(
        '[models]\ng = { class = "tidal.dummy.RunningMeanRegressor", schema = "schema.json" }\n'
    )
    cfg = load_config(toml, env={}, overrides={"data": str(tmp_path / "d")})
    assert cfg.guards == {"g": str(tmp_path / "schema.json")}
