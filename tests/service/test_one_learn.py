"""One way to learn: the same events through the FastAPI route, the fast path and the Redis
consumer give the same model, metrics, shadow scores and dashboard series."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tidal.service import ServiceConfig, create_app
from tidal.service.consumer import StreamConsumer

from .helpers import assert_state_equal, make_stream

ROWS, LABELS = make_stream(120, seed=21)


class FakeRedis:
    """The calls StreamConsumer makes, over one list of entries delivered once."""

    def __init__(self, entries: list[tuple[bytes, dict]]) -> None:
        self.entries, self.acked, self.dead = entries, [], []

    def xgroup_create(self, *a: Any, **k: Any) -> None:
        pass

    def xautoclaim(self, *a: Any, **k: Any) -> list:
        return [b"0-0", [], []]

    def xreadgroup(self, group, consumer, streams, count, block) -> list:
        if next(iter(streams.values())) == "0":
            return []
        out, self.entries = self.entries[:count], self.entries[count:]
        return [[b"s", out]] if out else []

    def pipeline(self, transaction: bool = True) -> FakeRedis:
        return self

    def xadd(self, name, fields, **k) -> None:
        self.dead.append(fields)

    def xack(self, name, group, *ids) -> None:
        self.acked.extend(ids)

    def execute(self) -> None:
        pass


def _learn_http(client: TestClient, items: list[dict]) -> None:
    for k in range(0, len(items), 7):  # singles and batches
        chunk = items[k : k + 7]
        body = chunk[0] if len(chunk) == 1 else {"items": chunk}
        r = client.post("/v1/models/m/learn", json=body)
        assert r.status_code == 200, r.text


def _learn_redis(svc: Any, items: list[dict]) -> None:
    entries = []
    for n, it in enumerate(items):
        fields = {b"y": json.dumps(it["label"]).encode(), b"event_id": it["event_id"].encode()}
        if "features" in it:
            fields[b"x"] = json.dumps(it["features"]).encode()
        else:
            fields[b"prediction_id"] = it["prediction_id"].encode()
        entries.append((f"{n + 1}-0".encode(), fields))
    fake = FakeRedis(entries)
    c = StreamConsumer(fake, svc.hosts["m"], "s", "g", "c1", batch=7, service=svc)
    c.run(until_idle=True)
    assert len(fake.acked) == len(items) and not fake.dead


def _run(path: str, tmp_path, monkeypatch) -> dict[str, Any]:
    cfg = ServiceConfig(
        data=tmp_path / path, models={"m": "lr"}, shadows={"m": {"c": "pa"}}, freeze_floor=0.05
    )
    with monkeypatch.context() as mp:
        if path == "route":  # the fast path hands every learn body to the FastAPI route
            mp.setattr("tidal.service.fastpath.parse_items", lambda body: None)
        with TestClient(create_app(cfg)) as client:
            svc = client.app.state.service

            def learn(items: list[dict]) -> None:
                _learn_redis(svc, items) if path == "redis" else _learn_http(client, items)

            feats = [
                {"features": ROWS[i], "label": LABELS[i], "event_id": f"e{i}"} for i in range(60)
            ]
            learn(feats)
            learn(feats[50:])  # retried: learned once whichever way they came
            pids = client.post("/v1/models/m/predict", json={"rows": ROWS[60:120]}).json()
            labels = [
                {"prediction_id": pid, "label": LABELS[60 + k], "event_id": f"l{k}"}
                for k, pid in enumerate(pids["prediction_ids"])
            ]
            learn(labels)
            rec = svc.recorder
            series = rec.snapshot()["m"]["series"]
            return {
                "state": svc.hosts["m"].state_dict(),
                "seq": svc.hosts["m"].applied_seq,
                "learn_events": svc.metrics.registry.get_sample_value(
                    "tidal_learn_events_total", {"model": "m"}
                ),
                "shadows": [
                    {k: s[k] for k in ("shadow", "metric", "value", "scored")}
                    for s in svc.shadows.info("m")
                ],
                "scores": {k: list(q) for k, q in rec._scores.items()},
                "learned_per_second_sum": sum(series["rate:learn"]["v"]),
                "metric_last": series["metric:online"]["v"][-1],
            }


@pytest.mark.parametrize("other", ["route", "redis"])
def test_http_fast_path_and_redis_learn_the_same(tmp_path, monkeypatch, other):
    fast = _run("fast", tmp_path, monkeypatch)
    got = _run(other, tmp_path, monkeypatch)
    assert fast["seq"] == got["seq"] == 120
    assert_state_equal(got["state"], fast["state"])
    for key in ("learn_events", "shadows", "scores", "learned_per_second_sum", "metric_last"):
        assert got[key] == fast[key], key
    assert fast["shadows"][0]["scored"] == 60  # the challenger scored every delayed label
