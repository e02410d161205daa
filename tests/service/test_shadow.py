"""Shadow models: same predict traffic as production, scored on the labels, never returned."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tidal.service import ServiceConfig, create_app
from tidal.service.config import ConfigError

from .helpers import make_stream

ROWS, LABELS = make_stream(80, seed=3)


def _post(c: TestClient, path: str, body: dict) -> dict:
    r = c.post(path, json=body)
    assert r.status_code in (200, 201), r.text
    return r.json()


def _metric(c: TestClient, model: str, shadow: str, metric: str) -> float | None:
    want = f'tidal_shadow_metric{{metric="{metric}",model="{model}",shadow="{shadow}"}} '
    for line in c.get("/metrics").text.splitlines():
        if line.startswith(want):
            return float(line.split()[-1])
    return None


def test_configured_challenger_is_scored_by_hand_and_never_returned(tmp_path) -> None:
    # the challenger predicts the running mean of the labels it learned: easy to follow by hand
    cfg = ServiceConfig(
        data=tmp_path, models={"m": "linreg"}, shadows={"m": {"c": "mean"}}, shadow_window=4
    )
    with TestClient(create_app(cfg)) as c:
        host = c.app.state.service.hosts["m"]
        seen = [1.0, 2.0, 3.0]  # labels the challenger learned, in order
        items = [{"features": {"x": float(i)}, "label": y} for i, y in enumerate(seen)]
        _post(c, "/v1/models/m/learn", {"items": items})

        rows = [{"x": 10.0}, {"x": 20.0}, {"x": 30.0}, {"x": 40.0}]
        expected = host.model.predict_many(rows).tolist()
        res = _post(c, "/v1/models/m/predict", {"rows": rows})
        assert set(res) == {"predictions", "prediction_ids", "probabilities", "version"}
        assert res["predictions"] == expected  # production's answers only
        assert res["predictions"] != [np.mean(seen)] * 4  # not the challenger's
        ids = res["prediction_ids"]
        made = np.mean(seen)  # what the challenger predicted for all four rows

        errors = []
        # a delayed label, then two in one request; ids[3] never gets a label
        _post(c, "/v1/models/m/learn", {"prediction_id": ids[0], "label": 4.0})
        errors.append(abs(made - 4.0))
        seen.append(4.0)
        batch = [{"prediction_id": ids[1], "label": 0.0}, {"prediction_id": ids[2], "label": 10.0}]
        _post(c, "/v1/models/m/learn", {"items": batch})
        errors += [abs(made - 0.0), abs(made - 10.0)]
        seen += [0.0, 10.0]
        # a retried label is learned once and scored once
        again = _post(c, "/v1/models/m/learn", {"prediction_id": ids[0], "label": 4.0})
        assert again["already_learned"] == [0]

        # a later prediction sees what the challenger learned since (prequential)
        pid = _post(c, "/v1/models/m/predict", {"row": {"x": 5.0}})["prediction_ids"][0]
        _post(c, "/v1/models/m/learn", {"prediction_id": pid, "label": 5.0})
        errors.append(abs(np.mean(seen) - 5.0))
        # one more: the window (4) drops the first error
        pid = _post(c, "/v1/models/m/predict", {"row": {"x": 6.0}})["prediction_ids"][0]
        seen.append(5.0)
        _post(c, "/v1/models/m/learn", {"prediction_id": pid, "label": 1.0})
        errors.append(abs(np.mean(seen) - 1.0))

        want = float(np.mean(errors[-4:]))
        info = c.get("/v1/models/m").json()["shadows"]
        assert [s["shadow"] for s in info] == ["c"]
        s = info[0]
        assert s["metric"] == "mae" and s["scored"] == 5 and s["window_events"] == 4
        assert s["value"] == pytest.approx(want, abs=1e-12)
        assert s["pending"] == 1  # ids[3]: stored, never labelled
        assert _metric(c, "m", "c", "mae") == pytest.approx(want, abs=1e-12)
        listed = {m["name"]: m for m in c.get("/v1/models").json()}
        assert listed["m"]["shadows"][0]["value"] == pytest.approx(want, abs=1e-12)


def test_registry_shadow_version_gets_traffic_and_leaves_when_promoted(tmp_path) -> None:
    cfg = ServiceConfig(data=tmp_path, models={"m": "lr"}, gate_min_events=5)
    with TestClient(create_app(cfg)) as c:
        svc = c.app.state.service
        items = [{"features": x, "label": y} for x, y in zip(ROWS[:20], LABELS[:20])]
        _post(c, "/v1/models/m/learn", {"items": items})
        _post(c, "/v1/models/m/versions", {})
        # production keeps learning: champion and shadow now differ
        items = [{"features": x, "label": 1 - y} for x, y in zip(ROWS[20:50], LABELS[20:50])]
        _post(c, "/v1/models/m/learn", {"items": items})
        assert c.get("/v1/models/m").json()["shadows"] == []
        _post(c, "/v1/models/m/versions/1/shadow", {"why": "try it"})

        rows, labels = ROWS[50:80], LABELS[50:80]
        frozen = svc.registry.load("m", 1)  # the hand computation: v1 as registered
        shadow_preds = frozen.predict_many(rows).tolist()
        prod_preds = svc.hosts["m"].model.predict_many(rows).tolist()
        assert shadow_preds != prod_preds  # else the test could not tell them apart
        res = _post(c, "/v1/models/m/predict", {"rows": rows})
        assert res["predictions"] == prod_preds
        lab = [{"prediction_id": p, "label": y} for p, y in zip(res["prediction_ids"], labels)]
        _post(c, "/v1/models/m/learn", {"items": lab[:10]})
        _post(c, "/v1/models/m/learn", {"items": lab[10:]})
        want = sum(p == y for p, y in zip(shadow_preds, labels)) / len(labels)

        (s,) = c.get("/v1/models/m").json()["shadows"]
        assert (s["shadow"], s["metric"], s["scored"]) == ("v1", "accuracy", 30)
        assert s["value"] == pytest.approx(want, abs=1e-12)
        assert _metric(c, "m", "v1", "accuracy") == pytest.approx(want, abs=1e-12)

        promote = {"challenger_metric": 0.99, "n_events": 50, "install": False}
        _post(c, "/v1/models/m/versions/1/promote", promote)
        assert c.get("/v1/models/m").json()["shadows"] == []
        assert _metric(c, "m", "v1", "accuracy") is None


def test_shadow_predictions_are_bounded_and_a_failing_shadow_changes_nothing(tmp_path) -> None:
    # a binary classifier shadowing a regressor: three values are three classes, it cannot learn
    # them, so it cannot predict either
    cfg = ServiceConfig(
        data=tmp_path, models={"m": "mean"}, shadows={"m": {"c": "lr"}}, pending_max=3
    )
    with TestClient(create_app(cfg)) as c:
        items = [{"features": {"x": 1.0}, "label": y} for y in (2.0, 3.0, 4.0)]
        _post(c, "/v1/models/m/learn", {"items": items})
        res = _post(c, "/v1/models/m/predict", {"rows": [{"x": float(i)} for i in range(5)]})
        assert res["predictions"] == [3.0] * 5
        (s,) = c.get("/v1/models/m").json()["shadows"]
        assert s["pending"] == 3 and s["errors"] == 3 + 5 and s["value"] is None
        # only the newest three are kept (pending_max); a label teaches the shadow its row
        old = _post(
            c, "/v1/models/m/learn", {"prediction_id": res["prediction_ids"][4], "label": 1}
        )
        assert old["learned"] == 1
        (s,) = c.get("/v1/models/m").json()["shadows"]
        assert s["pending"] == 2 and s["scored"] == 0  # nothing predicted: nothing to score


def test_shadows_of_an_unknown_model_are_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="'nope' is not a served model"):
        ServiceConfig(data=tmp_path, models={"m": "lr"}, shadows={"nope": {"c": "lr"}})


def test_production_model_freezes_when_its_rolling_accuracy_falls_below_the_floor(tmp_path):
    cfg = ServiceConfig(
        data=tmp_path,
        models={"m": "lr"},
        freeze_floor=0.7,
        freeze_min_events=10,
        shadow_window=10,
        gate_min_events=5,
    )
    with TestClient(create_app(cfg)) as c:
        host = c.app.state.service.hosts["m"]
        items = [{"features": x, "label": y} for x, y in zip(ROWS[:40], LABELS[:40])]
        _post(c, "/v1/models/m/learn", {"items": items})

        def label_batch(rows: list[dict], wrong: int) -> None:
            """Labels for production's own predictions: the last ``wrong`` of them wrong."""
            res = _post(c, "/v1/models/m/predict", {"rows": rows})
            preds = res["predictions"]
            labels = preds[: len(rows) - wrong] + [1 - p for p in preds[len(rows) - wrong :]]
            lab = [{"prediction_id": i, "label": y} for i, y in zip(res["prediction_ids"], labels)]
            _post(c, "/v1/models/m/learn", {"items": lab})

        # the rolling window holds the last 10 labelled predictions
        label_batch(ROWS[40:50], wrong=2)  # 1111111100: 0.8
        assert host.frozen is None
        label_batch(ROWS[50:55], wrong=1)  # 11100 + 11110: 0.7, not below the floor
        assert host.frozen is None
        label_batch(ROWS[55:60], wrong=3)  # 11110 + 11000: 0.6
        assert host.frozen == "frozen: rolling accuracy 0.60 < floor 0.70"

        audit = c.get("/v1/audit", params={"name": "m"}).json()
        assert [(a["action"], a["actor"], a["reason"]) for a in audit] == [
            ("freeze", "tidal", "frozen: rolling accuracy 0.60 < floor 0.70")
        ]
        seq = host.applied_seq
        r = c.post("/v1/models/m/learn", json={"features": ROWS[60], "label": LABELS[60]})
        assert r.status_code == 409 and "rolling accuracy 0.60" in r.json()["detail"][0]["msg"]
        assert host.applied_seq == seq  # nothing learned, nothing logged
        assert c.get("/v1/models/m").json()["frozen"].startswith("frozen:")
        assert c.post("/v1/models/m/predict", json={"row": ROWS[61]}).status_code == 200

        # putting a version in on purpose (promote, rollback) lets it learn again
        _post(c, "/v1/models/m/versions", {})
        _post(c, "/v1/models/m/versions/1/promote", {"challenger_metric": 0.9, "n_events": 50})
        assert host.frozen is None
        _post(c, "/v1/models/m/learn", {"features": ROWS[60], "label": LABELS[60]})
        assert host.applied_seq == seq + 1
