"""The predict fast path (tidal.service.fastpath) answers exactly like the FastAPI route."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fastapi.testclient import TestClient

from tidal.service import ServiceConfig, create_app

from .helpers import make_stream

ROWS, LABELS = make_stream(60, seed=11)
PREDICT = "/v1/models/{}/predict"
# a JSON media type the route parses but the fast path leaves to it: the route's own answer
ROUTE_ONLY = {"content-type": "application/vnd.tidal+json"}


@pytest.fixture
def client(tmp_path):
    cfg = ServiceConfig(data=tmp_path, models={"clf": "lr", "reg": "linreg"})
    with TestClient(create_app(cfg)) as c:
        for name in ("clf", "reg"):
            items = [{"features": r, "label": y} for r, y in zip(ROWS[:30], LABELS[:30])]
            c.post(f"/v1/models/{name}/learn", json={"items": items}).raise_for_status()
        yield c


def _count(client: TestClient) -> float:
    reg = client.app.state.service.metrics.registry
    value = reg.get_sample_value(
        "tidal_request_seconds_count", {"route": "/v1/models/{name}/predict"}
    )
    return value or 0.0


@pytest.mark.parametrize("name", ["clf", "reg"])
@pytest.mark.parametrize("body", [{"row": ROWS[40]}, {"rows": ROWS[40:45]}])
def test_fast_path_gives_the_routes_bytes(client, name, body) -> None:
    raw = json.dumps(body).encode()
    before = _count(client)
    fast = client.post(
        PREDICT.format(name), content=raw, headers={"content-type": "application/json"}
    )
    slow = client.post(PREDICT.format(name), content=raw, headers=ROUTE_ONLY)
    assert fast.status_code == slow.status_code == 200
    assert fast.headers["content-type"] == slow.headers["content-type"] == "application/json"
    content = fast.content
    for a, b in zip(fast.json()["prediction_ids"], slow.json()["prediction_ids"], strict=True):
        assert a != b
        content = content.replace(a.encode(), b.encode())
    assert content == slow.content
    assert _count(client) == before + 2  # both timed under the route's name
    host = client.app.state.service.hosts[name]
    for pid in fast.json()["prediction_ids"]:  # kept for delayed labels, like the route's
        assert pid in host._pending


@pytest.mark.parametrize(
    "body, where",
    [
        ({"row": {**ROWS[0], "zz": 1.0}}, ["body", "row", "zz"]),  # the model's input error
        ({"row": {"a": 1.0, "b": "x" * 3, "c": [1]}}, ["body", "row", "c"]),  # pydantic's
        ({"rows": []}, ["body"]),
        ({"row": ROWS[0], "rows": ROWS[:1]}, ["body"]),
    ],
)
def test_what_the_fast_path_declines_gets_the_routes_error(client, body, where) -> None:
    raw = json.dumps(body).encode()
    fast = client.post(
        PREDICT.format("clf"), content=raw, headers={"content-type": "application/json"}
    )
    slow = client.post(PREDICT.format("clf"), content=raw, headers=ROUTE_ONLY)
    assert fast.status_code == 422 and fast.json() == slow.json()
    assert fast.json()["detail"][0]["loc"][: len(where)] == where


def test_non_finite_and_unknown_model_go_to_the_route(client) -> None:
    r = client.post(
        PREDICT.format("clf"),
        content=b'{"row": {"a": NaN, "b": 0.0, "c": 0.0}}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    r = client.post(PREDICT.format("nope"), json={"row": ROWS[0]})
    assert r.status_code == 404 and "served models" in r.json()["detail"][0]["msg"]


def test_a_predict_waiting_for_a_learn_does_not_block_the_event_loop(client) -> None:
    host = client.app.state.service.hosts["clf"]
    answers: dict[str, tuple[int, float]] = {}

    def get(key: str, method: str, path: str, **kw) -> threading.Thread:
        def run() -> None:
            t0 = time.perf_counter()
            r = client.request(method, path, **kw)
            answers[key] = (r.status_code, time.perf_counter() - t0)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    with host._lock:  # as a long learn would
        predict = get("predict", "POST", PREDICT.format("clf"), json={"row": ROWS[50]})
        time.sleep(0.2)
        # a loop blocked on the model's lock would not answer this before the lock is free
        get("healthz", "GET", "/healthz").join(5)
        assert answers.get("healthz", (0,))[0] == 200
        assert "predict" not in answers  # still waiting for the model
        time.sleep(0.2)
    predict.join(10)
    assert answers["predict"][0] == 200 and answers["predict"][1] >= 0.35


def _script(c: TestClient, headers: dict[str, str]) -> list[tuple[int, bytes]]:
    """Learns of every kind (and their errors) on models "m" and guarded "g"; the answers."""

    def post(path: str, body: dict) -> bytes:
        r = c.post(path, content=json.dumps(body).encode(), headers=headers)
        answers.append((r.status_code, r.content))
        return r.content

    answers: list[tuple[int, bytes]] = []
    items = [{"features": r, "label": y} for r, y in zip(ROWS[:30], LABELS[:30])]
    for name in ("m", "g"):
        post(f"/v1/models/{name}/learn", {"items": items})
    # the ids differ between the two services, but learn answers hold none
    ids = json.loads(c.post(PREDICT.format("m"), json={"rows": ROWS[30:35]}).content)[
        "prediction_ids"
    ]
    post("/v1/models/m/learn", {"items": [{"prediction_id": i, "label": 1} for i in ids[:3]]})
    post("/v1/models/m/learn", {"items": [{"prediction_id": ids[0], "label": 1}]})  # again
    post("/v1/models/m/learn", {"prediction_id": ids[4], "label": 0})
    post("/v1/models/m/learn", {"features": ROWS[36], "label": LABELS[36]})
    post("/v1/models/m/learn", {"prediction_id": "never-made", "label": 0})  # 404
    bad = [{"features": ROWS[37], "label": 0}, {"features": {**ROWS[38], "zz": 1.0}, "label": 1}]
    post("/v1/models/m/learn", {"items": bad})  # 422 at item 1's feature zz
    post("/v1/models/m/learn", {"items": [{"features": ROWS[39], "label": "cat"}]})  # label
    odd = [{"features": {**ROWS[40], "a": 50.0}, "label": 1}, {"features": ROWS[41], "label": 0}]
    post("/v1/models/g/learn", {"items": odd})  # one quarantined, one learned: verdicts
    c.post("/v1/models/m/freeze", json={"reason": "look"}).raise_for_status()
    post("/v1/models/m/learn", {"features": ROWS[42], "label": 0})  # 409 frozen
    return answers


def test_fast_learns_answer_like_the_route_and_learn_the_same(tmp_path) -> None:
    from .helpers import assert_state_equal

    schema = {
        "columns": {k: {"type": "numeric", "min": -10.0, "max": 10.0} for k in ("a", "b", "c")},
        "target": {"name": "y", "type": "classes", "classes": [0, 1]},
    }
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    runs = {}
    for kind, headers in (("fast", {"content-type": "application/json"}), ("route", ROUTE_ONLY)):
        cfg = ServiceConfig(
            data=tmp_path / kind,
            models={"m": "lr", "g": "lr"},
            guards={"g": str(tmp_path / "schema.json")},
        )
        with TestClient(create_app(cfg)) as c:
            answers = _script(c, headers)
            svc = c.app.state.service
            states = {n: svc.hosts[n].state_at() for n in ("m", "g")}
            rejected = svc.metrics.registry.get_sample_value(
                "tidal_requests_rejected_total", {"route": "learn", "status": "422"}
            )
        runs[kind] = answers, states, rejected
    (fast, fast_states, fast_rejected), (route, route_states, route_rejected) = runs.values()
    assert [s for s, _ in fast] == [200, 200, 200, 200, 200, 200, 404, 422, 422, 200, 409]
    assert fast == route
    assert fast_rejected == route_rejected == 2.0
    for n in ("m", "g"):
        assert fast_states[n][0] == route_states[n][0]
        assert_state_equal(fast_states[n][1], route_states[n][1])


def test_a_response_written_in_pieces_leaves_in_one_send() -> None:
    import asyncio

    from tidal.service.fastpath import _CoalescingTransport

    class Fake:
        def __init__(self) -> None:
            self.writes: list[bytes] = []
            self.closed = False

        def write(self, data: bytes) -> None:
            assert not self.closed, "written after close"
            self.writes.append(data)

        def is_closing(self) -> bool:
            return self.closed

        def close(self) -> None:
            self.closed = True

        def get_extra_info(self, name: str) -> str:
            return f"info:{name}"

        def get_write_buffer_size(self) -> int:
            return 0

    async def main() -> tuple[list[bytes], list[bytes], Fake]:
        fake = Fake()
        t = _CoalescingTransport(fake, asyncio.get_running_loop())
        t.write(b"HTTP/1.1 200 OK\r\n\r\n")
        t.write(b"")
        t.write(b'{"a":1}')
        assert fake.writes == [] and t.get_write_buffer_size() == 26
        await asyncio.sleep(0)
        first = list(fake.writes)
        t.write(b"bye")
        t.close()  # what was written goes out before the end
        assert t.get_extra_info("peername") == "info:peername"
        return first, fake.writes, fake

    first, writes, fake = asyncio.run(main())
    assert first == [b'HTTP/1.1 200 OK\r\n\r\n{"a":1}']
    assert writes[1:] == [b"bye"] and fake.closed
