"""Memory under a steady load: every store the service keeps per request stays at its bound.

The load is the soak's mix (benchmarks/bench_service.py::soak): single-row predicts kept for
delayed labels, the label of every 20th prediction learned by id, a 100-event learn every 200
requests, driven in-process through the ASGI app (the fast path included) with small retention
bounds so that every store is full long before the measurement starts.
"""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
from collections import deque
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tidal.service import ServiceConfig, create_app

from .helpers import make_stream

ROWS, LABELS = make_stream(2000, seed=5)
PREDICT = "/v1/models/m/predict"
LEARN = "/v1/models/m/learn"


async def _call(app: Any, path: str, body: bytes) -> tuple[int, bytes]:
    """One POST straight into the ASGI app (no HTTP client: a tenth of TestClient's cost)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "headers": [
            (b"host", b"test"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    messages = deque([{"type": "http.request", "body": body, "more_body": False}])

    async def receive() -> dict:
        return messages.popleft() if messages else {"type": "http.disconnect"}

    status, chunks = [0], []

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status[0], b"".join(chunks)


class _Soak:
    """The soak's request mix, request ``i`` after request ``i - 1``, as in the benchmark."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.i = 0
        self.due: deque[tuple[str, int]] = deque()  # predictions whose label is due
        items = [{"features": r, "label": y} for r, y in zip(ROWS[:100], LABELS[:100])]
        self.learn_body = json.dumps({"items": items}).encode()

    async def run(self, n: int) -> None:
        for _ in range(n):
            i, k = self.i, self.i % len(ROWS)
            self.i += 1
            if i % 200 == 0:
                path, body, keep = LEARN, self.learn_body, False
            elif i % 20 == 10 and self.due:
                pid, y = self.due.popleft()
                path, keep = LEARN, False
                body = json.dumps({"prediction_id": pid, "label": y}).encode()
            else:
                path, body, keep = PREDICT, json.dumps({"row": ROWS[k]}).encode(), i % 20 == 1
            status, answer = await _call(self.app, path, body)
            assert status == 200, (path, status, answer[:300])
            if keep:
                self.due.append((json.loads(answer)["prediction_ids"][0], LABELS[k]))


CAPACITY = 256  # the size a series starts at: it never reallocates


def _app(tmp_path: Any, **bounds: Any) -> Any:
    cfg = ServiceConfig(
        data=tmp_path,
        models={"m": "lr"},
        shadows={"m": {"challenger": "lr"}},  # shadows keep predictions by id too
        freeze_floor=0.01,  # the production watch keeps them as well (0.01: never freezes)
        snapshot_seconds=3600.0,
        wal_segment_bytes=16_384,  # a segment per ~150 events: compaction has work to do
        **bounds,
    )
    app = create_app(cfg)
    svc = app.state.service
    svc.recorder.capacity = CAPACITY  # points kept per dashboard series (the newest)
    svc.recorder.resolution = 0.0  # one point per learn request: fills by requests, not seconds
    return app


def _sizes(svc: Any) -> dict[str, int]:
    host = svc.hosts["m"]
    out = {
        "pending": len(host._pending),
        "learned": len(host._learned),
        "segments": len(host.wal.segments),
        "metric samples": sum(len(m.samples) for m in svc.metrics.registry.collect()),
    }
    for key, shadow in svc.shadows.of("m").items():
        out[f"shadow {key} pending"] = len(shadow._pending)
    out["watch pending"] = len(svc.shadows.watch("m", host.model)._pending)
    with svc.recorder._lock:
        for key, series in svc.recorder._series["m"].items():
            out[f"series {key}"] = len(series.t)
            out[f"points {key}"] = series.n
    return out


def test_soak_mix_keeps_every_store_at_its_bound(tmp_path) -> None:
    app = _app(tmp_path, pending_max=300, learned_ids_max=100)
    svc = app.state.service
    soak = _Soak(app)
    try:
        asyncio.run(soak.run(3000))
        first = _sizes(svc)
        asyncio.run(soak.run(3000))
        svc.hosts["m"].snapshot()  # a snapshot compacts the log behind it
        second = _sizes(svc)
    finally:
        svc.close()
    # full at their bounds (so the bounds were reached and hold), then unchanged
    assert first["pending"] == second["pending"] == 300
    assert first["learned"] == second["learned"] == 100
    for key in ("shadow challenger pending", "watch pending"):
        assert second[key] <= 300, (key, second[key])
    for key in ("metric:online", "rate:learn", "rate:predict"):
        assert second[f"series {key}"] <= CAPACITY, (key, second)
    # a point per learn request: 330 of them filled it; it keeps the newest half or more
    assert CAPACITY // 2 <= second["points metric:online"] <= CAPACITY, second
    assert second["segments"] == 1, second  # only the segment being written is left
    assert second["metric samples"] == first["metric samples"]  # no label per request or id


def _traced_growth(app: Any, warm_up: int, measured: int) -> tuple[int, list[str]]:
    """Bytes allocated from tidal's code and still held after ``measured`` soak requests that
    follow ``warm_up`` requests, and the top sites (for the failure message)."""
    svc, soak = app.state.service, _Soak(app)
    host = svc.hosts["m"]
    only_tidal = [tracemalloc.Filter(True, "*/tidal/*", all_frames=True)]
    asyncio.run(soak.run(warm_up))
    tracemalloc.start(8)
    try:
        asyncio.run(soak.run(3000))  # the stores turn over: every entry held is traced
        gc.collect()
        with host._snap_lock:  # no snapshot half-written (a transient copy of the stores)
            before = tracemalloc.take_snapshot().filter_traces(only_tidal)
        asyncio.run(soak.run(measured))
        gc.collect()
        with host._snap_lock:
            after = tracemalloc.take_snapshot().filter_traces(only_tidal)
    finally:
        tracemalloc.stop()
        svc.close()
    stats = after.compare_to(before, "traceback")
    growth = sum(s.size_diff for s in stats)
    top = [f"{s.size_diff:+} B {s.traceback.format(limit=2)}" for s in stats[:5]]
    return growth, top


# 12,000 requests learn 600 labels by prediction id. Measured: with every store full and
# bounded, 50-72 KB more is held at the second snapshot (which rows, decoders and dict tables
# happen to be alive); with the learned-id store unbounded, 183 KB. The limit sits between.
LIMIT = 125_000


def test_memory_held_after_warm_up_does_not_grow(tmp_path) -> None:
    app = _app(tmp_path, pending_max=300, learned_ids_max=100)
    growth, top = _traced_growth(app, warm_up=1000, measured=12_000)
    assert growth < LIMIT, f"{growth:,} B held after 12,000 more requests; top sites: {top}"


def test_memory_check_sees_a_store_without_bound(tmp_path) -> None:
    """The check above can fail: with the learned-id store practically unbounded it does."""
    app = _app(tmp_path, pending_max=300, learned_ids_max=10**9)
    growth, _ = _traced_growth(app, warm_up=1000, measured=12_000)
    assert growth > LIMIT, growth


@pytest.mark.parametrize("path", ["/v1/models/{}", "/v1/models/{}/predict", "/v1/models/{}/x"])
def test_rejections_are_labelled_by_route_not_by_the_clients_text(tmp_path, path) -> None:
    cfg = ServiceConfig(data=tmp_path, models={"m": "lr"})
    with TestClient(create_app(cfg)) as client:
        metrics = client.app.state.service.metrics.rejected
        for i in range(20):  # unknown models, and names the route's pattern refuses
            for name in (f"nope{i}", f"bad%20name{i}"):
                url = path.format(name)
                if url.endswith("/predict"):
                    r = client.post(url, json={"row": {"a": 1.0}})
                else:
                    r = client.get(url)
                assert r.status_code in (404, 422, 405), (url, r.status_code)
        routes = {labels[0] for labels in metrics._metrics}
    assert len(routes) <= 2, routes  # one per route template, never one per name
    assert not any("nope" in r or "bad" in r for r in routes), routes
