"""Serving keyed models in shards (``tidal serve --key --shards [--ray]``): the same predictions
as the in-process ``tidal.compose.Keyed``, each event learned once, bad input refused before any
shard sees it; ``tidal consume`` likewise."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tidal import zoo
from tidal.compose import Keyed
from tidal.service import ServiceConfig, create_app
from tidal.service.consumer import StreamConsumer
from tidal.service.runtime import Service

from .test_consumer import r, redis_port  # noqa: F401 (fixtures: a redis-server)

STORES = ["north", "south", 7]


def _stream(n: int, seed: int) -> tuple[list[dict], list[float]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    keys = rng.integers(0, len(STORES), size=n)
    slope = np.array([1.0, -2.0, 0.5])[keys]
    y = slope * X[:, 0] + X[:, 1] + 0.1 * rng.normal(size=n)
    rows = [{"store": STORES[k], "a": a, "b": b} for k, (a, b) in zip(keys, X.tolist())]
    return rows, y.tolist()


def _config(tmp_path, ray: str = "") -> ServiceConfig:
    return ServiceConfig(
        data=tmp_path / "data", models={"m": "linreg"}, key="store", shards=2, ray=ray,
        shard_cpus=0.0,
    )  # fmt: skip


def _items(rows, labels, start):
    return [
        {"features": row, "label": y, "event_id": f"e{start + i}"}
        for i, (row, y) in enumerate(zip(rows, labels))
    ]


@pytest.mark.xdist_group("ray")
def test_a_keyed_model_served_over_two_ray_shards_predicts_as_in_process_keyed(
    tmp_path, ray_cluster
):
    rows, labels = _stream(600, 0)
    ref = Keyed(zoo.make("linreg"), key="store")
    with TestClient(create_app(_config(tmp_path, ray="auto"))) as client:
        info = client.get("/v1/models/m").json()
        assert len(info["shards"]) == 2 and len({s["pid"] for s in info["shards"]}) == 2
        for s in range(0, 600, 100):
            batch, ys = rows[s : s + 100], labels[s : s + 100]
            if s:  # every key has learned: the shards' models answer
                got = client.post("/v1/models/m/predict", json={"rows": batch}).json()
                want = ref.predict_many(batch)
                assert np.array(got["predictions"]).tobytes() == want.tobytes()
            ans = client.post("/v1/models/m/learn", json={"items": _items(batch, ys, s)}).json()
            assert ans["learned"] == 100 and ans["already_learned"] == []
            ref.learn_many(batch, ys)
        assert got["version"]["seq"] == 500
        # a retried request (the answer was lost): nothing learned twice
        again = client.post("/v1/models/m/learn", json={"items": _items(batch, ys, 500)}).json()
        assert again["learned"] == 0 and again["already_learned"] == list(range(100))
        got = client.post("/v1/models/m/predict", json={"rows": rows[:50]}).json()
        assert np.array(got["predictions"]).tobytes() == ref.predict_many(rows[:50]).tobytes()


def test_keyed_learns_are_applied_once_and_delayed_labels_work(tmp_path):
    rows, labels = _stream(200, 1)
    ref = Keyed(zoo.make("linreg"), key="store")
    with TestClient(create_app(_config(tmp_path))) as client:  # shards in this process
        first = _items(rows[:100], labels[:100], 0)
        assert client.post("/v1/models/m/learn", json={"items": first}).json()["learned"] == 100
        ref.learn_many(rows[:100], labels[:100])
        # half repeated, half new, one new item twice in the request
        mixed = first[50:] + _items(rows[100:150], labels[100:150], 100) + [first[-1]]
        ans = client.post("/v1/models/m/learn", json={"items": mixed}).json()
        assert ans["learned"] == 50 and ans["already_learned"] == [*range(50), 100]
        ref.learn_many(rows[100:150], labels[100:150])
        # a delayed label: the row comes back from the kept prediction, with its key
        p = client.post("/v1/models/m/predict", json={"rows": rows[150:160]}).json()
        assert np.array(p["predictions"]).tobytes() == ref.predict_many(rows[150:160]).tobytes()
        late = [{"prediction_id": i, "label": y} for i, y in zip(p["prediction_ids"], labels[150:])]
        assert client.post("/v1/models/m/learn", json={"items": late}).json()["learned"] == 10
        again = client.post("/v1/models/m/learn", json={"items": late}).json()
        assert again["learned"] == 0
        ref.learn_many(rows[150:160], labels[150:160])
        got = client.post("/v1/models/m/predict", json={"rows": rows[:30]}).json()
        assert np.array(got["predictions"]).tobytes() == ref.predict_many(rows[:30]).tobytes()
        # an unseen key is answered None, the others as usual
        new = client.post("/v1/models/m/predict", json={"row": {"store": "east", "a": 1, "b": 0}})
        assert new.json()["predictions"] == [None]


@pytest.mark.parametrize(
    ("row", "loc", "words"),
    [
        ({"a": 1.0, "b": 2.0}, ["body", "items", 1, "features", "store"], "key 'store'"),
        ({"store": "x", "a": 1.0}, ["body", "items", 1, "features", "b"], "missing ['b']"),
        ({"store": "x", "a": 1, "b": 2, "c": 3}, ["body", "items", 1, "features", "c"], "extra"),
        ({"store": 1.5, "a": 1.0, "b": 2.0}, ["body", "items", 1, "features", "store"], "str, int"),
    ],
)  # fmt: skip
def test_bad_keyed_input_is_a_422_naming_item_and_field_and_learns_nothing(
    tmp_path, row, loc, words
):
    rows, labels = _stream(3, 2)
    with TestClient(create_app(_config(tmp_path))) as client:
        client.post("/v1/models/m/learn", json={"items": _items(rows[:1], labels[:1], 0)})
        items = _items([rows[1], row, rows[2]], [0.0, 1.0, 2.0], 10)
        ans = client.post("/v1/models/m/learn", json={"items": items})
        assert ans.status_code == 422, ans.text
        detail = ans.json()["detail"][0]
        assert detail["loc"] == loc and words in detail["msg"], detail
        assert client.get("/v1/models/m").json()["version"]["seq"] == 1  # nothing applied


@pytest.mark.xdist_group("ray")
def test_consume_into_ray_shards_learns_each_entry_once(tmp_path, ray_cluster, r):  # noqa: F811
    rows, labels = _stream(300, 3)
    pipe = r.pipeline()
    for i, (row, y) in enumerate(zip(rows, labels)):
        pipe.xadd("ev", {"x": json.dumps(row), "y": json.dumps(y), "event_id": f"o-{i}"})
    pipe.execute()
    for i in range(0, 300, 7):  # a producer that re-sent some events
        pipe.xadd(
            "ev", {"x": json.dumps(rows[i]), "y": json.dumps(labels[i]), "event_id": f"o-{i}"}
        )
    pipe.execute()
    svc = Service(_config(tmp_path, ray="auto"))
    try:
        host = svc.hosts["m"]
        stats = StreamConsumer(r, host, "ev", "g", "A", batch=64, service=svc).run(until_idle=True)
        assert (stats.learned, stats.duplicates, stats.dead) == (300, 43, 0)
        ref = Keyed(zoo.make("linreg"), key="store").learn_many(rows, labels)
        got = host.predict(rows[:40], keep=False).predictions
        assert np.array(got).tobytes() == ref.predict_many(rows[:40]).tobytes()
    finally:
        svc.close()
