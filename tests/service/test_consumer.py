"""The Redis stream consumer against a real ``redis-server``: exactly once through a SIGKILL,
dead letters, stop and restart, SIGTERM through the command line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tidal import zoo
from tidal.service import ModelHost, Service, ServiceConfig
from tidal.service.consumer import (
    DecodeError,
    StreamConsumer,
    decode_entry,
    default_consumer_name,
)

from .helpers import assert_state_equal, make_stream

redis = pytest.importorskip("redis", reason="redis-py is not installed (the 'service' extra)")

REDIS_SERVER = shutil.which("redis-server")
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if REDIS_SERVER is None:
        pytest.skip("redis-server not found on PATH: install the Debian package redis-server")
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"redis-server on port {port} did not start") from None
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def r(redis_port: int) -> Any:
    client = redis.Redis(port=redis_port)
    client.flushall()
    return client


def _add(client: Any, stream: str, rows: list[dict], labels: list[Any]) -> list[bytes]:
    pipe = client.pipeline()
    for row, y in zip(rows, labels, strict=True):
        pipe.xadd(stream, {"x": json.dumps(row), "y": json.dumps(y)})
    return pipe.execute()


def _reference(rows: list[dict], labels: list[Any]) -> dict:
    return zoo.make("lr").learn_many(rows, labels).state_dict()


def _pending(client: Any, stream: str, group: str) -> int:
    return client.xpending(stream, group)["pending"]


# ---------------------------------------------------------------------- decoding (no Redis)
@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"x": '{"a": 1', "y": "1"}, "field 'x': malformed JSON"),
        ({"x": '{"a": 1}'}, "field 'y' (the label) is missing"),
        ({"x": '{"a": 1}', "y": "[1]"}, "field 'y': expected a number"),
        ({"x": '{"a": 1}', "y": "NaN"}, "field 'y': expected a number"),
        ({"x": "[1, 2]", "y": "1"}, "expected a non-empty JSON object"),
        ({"x": '{"a": NaN}', "y": "1"}, "feature 'a'"),
        ({"x": '{"a": {"b": 1}}', "y": "1"}, "feature 'a'"),
        ({"y": "1"}, "exactly one of the fields 'x'"),
        ({"x": '{"a": 1}', "prediction_id": "p", "y": "1"}, "exactly one of the fields 'x'"),
        ({"prediction_id": " ", "y": "1"}, "'prediction_id' is empty"),
        ({b"x": b'{"a": 1}', b"y": b"\xff"}, "not UTF-8"),
    ],
)
def test_decode_rejects_with_a_reason(fields: dict, reason: str) -> None:
    with pytest.raises(DecodeError, match=None) as info:
        decode_entry(fields)
    assert reason in str(info.value)


def test_decode_reads_both_forms() -> None:
    assert decode_entry({b"x": b'{"a": 1.25, "c": "red", "d": null}', b"y": b"true"}) == (
        {"a": 1.25, "c": "red", "d": None},
        True,
        None,
        None,
    )
    assert decode_entry({"prediction_id": "p1", "y": "2.5", "meta": "ignored"}) == (
        None,
        2.5,
        "p1",
        None,
    )


# ---------------------------------------------------------------------- exactly once
_KILLED_CONSUMER = """
import sys, time
import redis
from tidal.service import Service, ServiceConfig
from tidal.service.consumer import StreamConsumer

port, data, stream, stop_after = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
svc = Service(ServiceConfig(data=data, models={"m": "lr"}))
c = StreamConsumer(redis.Redis(port=port), svc.hosts["m"], stream, "g", "A", batch=20,
                   block_ms=100)
learn, calls = c._learn, []

def learn_then_hang(items):
    learn(items)  # returns once the batch is fsynced in the log
    calls.append(1)
    if len(calls) == stop_after:
        print("learned", svc.hosts["m"].wal.durable_seq, flush=True)
        time.sleep(600)  # SIGKILLed here: learned, logged, not acknowledged

c._learn = learn_then_hang
c.run()
"""


def test_sigkill_between_log_and_ack_learns_every_entry_once(r: Any, redis_port: int, tmp_path):
    rows, labels = make_stream(200, seed=3)
    ids = _add(r, "ev", rows, labels)
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_CONSUMER, str(redis_port), str(data), "ev", "3"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = proc.stdout.readline()
        assert line.split() == ["learned", "60"], line
        # batch 3 is in A's log but still pending for A: its acknowledgement never came
        assert _pending(r, "ev", "g") == 20
        assert r.xpending_range("ev", "g", "-", "+", 100)[0]["message_id"] == ids[40]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    # another consumer took 7 entries and died before learning them
    taken = r.xreadgroup("g", "C", {"ev": ">"}, count=7)[0][1]
    assert [e[0] for e in taken] == ids[60:67]
    time.sleep(0.1)  # idle longer than min_idle_ms

    svc = Service(ServiceConfig(data=data, models={"m": "lr"}))
    try:
        host = svc.hosts["m"]
        assert host.applied_seq == 60  # recovered from A's log
        c = StreamConsumer(r, host, "ev", "g", "B", batch=20, min_idle_ms=50, claim_every=0.0)
        stats = c.run(until_idle=True)
        assert (stats.reclaimed, stats.duplicates, stats.learned, stats.dead) == (27, 20, 140, 0)
        assert _pending(r, "ev", "g") == 0
        assert host.applied_seq == 200
        assert_state_equal(host.state_dict(), _reference(rows, labels))
    finally:
        svc.close()


_CONSUMER_PROCESS = """
import sys
import redis
from tidal.service import Service, ServiceConfig
from tidal.service.consumer import StreamConsumer

port, data, batch = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
svc = Service(ServiceConfig(data=data, models={"m": "lr"}))
said = []

def learning():
    if not said:
        said.append(print("learning", flush=True))

c = StreamConsumer(redis.Redis(port=port), svc.hosts["m"], "ev", "g", batch=batch,
                   block_ms=100, service=svc, on_learned=learning)  # the default name
c.run(until_idle=True)
print("idle", flush=True)
svc.close()
"""


def test_sigkill_ten_times_learns_every_entry_once_in_order(r: Any, redis_port: int, tmp_path):
    rows, labels = make_stream(4000, seed=12)
    pipe = r.pipeline()
    for i, (row, y) in enumerate(zip(rows, labels, strict=True)):
        fields = {"x": json.dumps(row), "y": json.dumps(y), "event_id": f"ev-{i}"}
        pipe.xadd("ev", fields)
        if i % 97 == 0:  # the producer retried: the same event id twice in the stream
            pipe.xadd("ev", fields)
    pipe.execute()
    data, rng, kills = tmp_path / "data", __import__("random").Random(7), 0
    while kills < 10:
        proc = subprocess.Popen(
            [sys.executable, "-c", _CONSUMER_PROCESS, str(redis_port), str(data), "5"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        said = proc.stdout.readline().strip()
        if said != "learning":  # drained before a kill could fall: fewer kills than asked
            proc.wait(30)
            break
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kills += 1
    svc = Service(ServiceConfig(data=data, models={"m": "lr"}))
    try:
        host = svc.hosts["m"]
        assert kills == 10 and 0 < host.applied_seq < 4000  # kills fell while it learned
        c = StreamConsumer(r, host, "ev", "g", batch=25, service=svc)
        c.run(until_idle=True)
        assert _pending(r, "ev", "g") == 0 and host.applied_seq == 4000
        assert_state_equal(host.state_dict(), _reference(rows, labels))  # in stream order
    finally:
        svc.close()


# ---------------------------------------------------------------------- dead letters
def test_bad_entries_are_acknowledged_and_dead_lettered(r: Any, tmp_path) -> None:
    rows, labels = make_stream(40, seed=5)
    host = ModelHost("m", zoo.make("lr"), tmp_path)
    try:
        _add(r, "ev", rows[:10], labels[:10])
        first = StreamConsumer(r, host, "ev", "g", "A", batch=8)
        assert first.run(until_idle=True).learned == 10
        pid = host.predict([rows[10]]).prediction_ids[0]
        bad = {
            "malformed": ({"x": '{"a": 1.0,', "y": "1"}, "field 'x': malformed JSON"),
            "no label": ({"x": json.dumps(rows[11])}, "field 'y' (the label) is missing"),
            "missing feature": ({"x": '{"a": 1.0, "b": 2.0}', "y": "1"}, "'c'"),
            "extra feature": ({"x": json.dumps(rows[12] | {"z": 1.0}), "y": "0"}, "'z'"),
            "unknown id": ({"prediction_id": "nope", "y": "1"}, "unknown prediction_id 'nope'"),
        }
        pipe = r.pipeline()
        pipe.xadd("ev", {"prediction_id": pid, "y": json.dumps(labels[10])})
        for (fields, _), k in zip(bad.values(), range(11, 16), strict=True):
            pipe.xadd("ev", fields)
            pipe.xadd("ev", {"x": json.dumps(rows[k]), "y": json.dumps(labels[k]), "src": "s"})
        bad_ids = pipe.execute()[1::2]
        stats = StreamConsumer(r, host, "ev", "g", "A", batch=50).run(until_idle=True)
        assert (stats.learned, stats.dead) == (6, 5)
        assert _pending(r, "ev", "g") == 0
        dead = r.xrange("ev:dead")
        assert [d[1][b"_dead_id"] for d in dead] == bad_ids
        for (_, fields), (name, (original, reason)) in zip(dead, bad.items(), strict=True):
            assert reason in fields[b"_dead_reason"].decode(), (name, fields)
            assert fields[b"_dead_consumer"] == b"A"
            assert {k.decode(): v.decode() for k, v in fields.items() if k[:1] != b"_"} == original
        assert_state_equal(host.state_dict(), _reference(rows[:16], labels[:16]))
    finally:
        host.close()


def test_a_bad_first_entry_does_not_set_the_feature_set_of_an_unfitted_model(r, tmp_path):
    rows, labels = make_stream(30, seed=6)
    host = ModelHost("m", zoo.make("lr"), tmp_path)
    try:
        pipe = r.pipeline()
        pipe.xadd("ev", {"x": json.dumps(rows[0] | {"z": 1.0}), "y": json.dumps(labels[0])})
        pipe.xadd("ev", {"x": json.dumps({"a": 1.0}), "y": "1"})  # missing two features
        ids = pipe.execute()
        _add(r, "ev", rows[1:30], labels[1:30])
        stats = StreamConsumer(r, host, "ev", "g", "A", batch=100).run(until_idle=True)
        assert (stats.learned, stats.dead) == (29, 2)
        dead = r.xrange("ev:dead")
        assert [d[1][b"_dead_id"] for d in dead] == ids  # each blamed for itself
        assert "extra ['z']" in dead[0][1][b"_dead_reason"].decode()
        assert "missing ['b', 'c']" in dead[1][1][b"_dead_reason"].decode()
        assert_state_equal(host.state_dict(), _reference(rows[1:30], labels[1:30]))
    finally:
        host.close()


def test_until_idle_drains_entries_a_dead_consumer_held(r: Any, tmp_path) -> None:
    rows, labels = make_stream(40, seed=8)
    _add(r, "ev", rows, labels)
    StreamConsumer(r, None, "ev", "g", "dead-one").ensure_group()  # type: ignore[arg-type]
    r.xreadgroup("g", "dead-one", {"ev": ">"}, count=25)  # read, never acknowledged
    host = ModelHost("m", zoo.make("lr"), tmp_path)
    try:
        # the default name is stable: a restarted consumer finds its own pending entries
        c = StreamConsumer(r, host, "ev", "g", min_idle_ms=3_600_000)
        assert c.consumer == default_consumer_name(host) and str(os.getpid()) not in c.consumer
        stats = c.run(until_idle=True)
        # every entry learned once (which read comes first depends on the server's idle clock)
        assert stats.learned == 40 and _pending(r, "ev", "g") == 0
        assert host.applied_seq == 40 and stats.reclaimed == 25
    finally:
        host.close()


# ---------------------------------------------------------------------- stop and restart
def test_stop_then_restart_resumes_own_pending_entries(r: Any, tmp_path) -> None:
    rows, labels = make_stream(80, seed=7)
    cfg = ServiceConfig(data=tmp_path, models={"m": "lr"})
    svc = Service(cfg)
    c = StreamConsumer(r, svc.hosts["m"], "ev", "g", "A", batch=16, block_ms=100)
    thread = threading.Thread(target=c.run)
    thread.start()
    try:
        _add(r, "ev", rows[:50], labels[:50])
        deadline = time.monotonic() + 20
        while c.stats.learned < 50 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert c.stats.learned == 50
        c.stop()
        thread.join(30)  # a bound for a stuck loop, not a speed claim (block_ms is 100 ms)
        assert not thread.is_alive()
    finally:
        c.stop()
        thread.join()
        svc.close()
    _add(r, "ev", rows[50:], labels[50:])
    # "A" reads 5 entries and stops before learning them: they are pending for A
    assert len(r.xreadgroup("g", "A", {"ev": ">"}, count=5)[0][1]) == 5
    svc = Service(cfg)
    try:
        assert svc.hosts["m"].snapshot_seq == 50  # the stop snapshotted
        # min_idle_ms is long: only a restarted "A" reading its own pending list gets them
        c = StreamConsumer(r, svc.hosts["m"], "ev", "g", "A", batch=16, min_idle_ms=600_000)
        stats = c.run(until_idle=True)
        assert (stats.learned, stats.reclaimed, stats.duplicates) == (30, 0, 0)
        assert _pending(r, "ev", "g") == 0
        assert_state_equal(svc.hosts["m"].state_dict(), _reference(rows, labels))
    finally:
        svc.close()


# ---------------------------------------------------------------------- the command line
def test_cli_consumes_and_stops_cleanly_on_sigterm(r: Any, redis_port: int, tmp_path) -> None:
    rows, labels = make_stream(40, seed=9)
    ids = _add(r, "ev", rows, labels)
    (tmp_path / "tidal.toml").write_text('[models]\nm = "lr"\n')
    data = tmp_path / "data"
    script = "import typer; from tidal.cli._consume import consume; typer.run(consume)"
    args = [f"redis://127.0.0.1:{redis_port}/0", "--stream", "ev", "--group", "g", "--model", "m"]
    args += ["--config", str(tmp_path / "tidal.toml"), "--data", str(data), "--batch", "8"]
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args], stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            groups = r.xinfo_groups("ev") if r.exists("ev") else []
            if groups and groups[0]["last-delivered-id"] == ids[-1] and groups[0]["pending"] == 0:
                break
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.1)
        else:
            pytest.fail("the consumer did not acknowledge every entry in 40 s")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    err = proc.stderr.read()
    assert "stopped: 40 learned, 0 already learned, 0 dead-lettered" in err, err
    assert list((data / "snapshots" / "m").iterdir()), "SIGTERM did not snapshot"
    svc = Service(ServiceConfig(data=data, models={"m": "lr"}))
    try:
        assert svc.hosts["m"].replayed == 0  # everything came from the snapshot
        assert_state_equal(svc.hosts["m"].state_dict(), _reference(rows, labels))
    finally:
        svc.close()
