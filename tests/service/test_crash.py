"""THE crash test: a real service process SIGKILLed at random points of a learn stream.

After every restart the recovered model must equal, bit for bit, a model fed (in process, without
a crash) exactly the acknowledged batches in order, plus possibly the one batch that was in
flight when the process died (sent, not acknowledged: its fate is unknown to the client, but it
is all or nothing). Nothing else may be counted: the recovered log position proves it.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import pytest

from tidal import zoo
from tidal.base import read_state

from .helpers import assert_state_equal, make_stream

KILLS = 20
SPEC = "lr"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVICE_FLAGS = [
    "--snapshot-every",
    "150",
    "--snapshot-seconds",
    "0.3",
    "--wal-segment-bytes",
    "4096",
]
ENV = dict(os.environ, TIDAL_MODELS=f"m={SPEC}", NUMBA_NUM_THREADS="1")


class Server:
    """A service process: forked from the warmed-up zygote, or (``real=True``) started as
    ``python -m tidal.service``."""

    def __init__(self, data, log_path, zygote=None, flags=SERVICE_FLAGS):
        self.data = data
        self.log_path = log_path
        self.zygote = zygote
        self.flags = list(flags)
        self.proc = None
        self.pid = None
        self.url = None

    def start(self, real=False, timeout=60.0):
        port = _free_port()
        if real or self.zygote is None:
            cmd = [
                sys.executable,
                "-m",
                "tidal.service",
                "--data",
                str(self.data),
                "--port",
                str(port),
                *self.flags,
            ]
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(cmd, env=ENV, stdout=log, stderr=log)
            self.pid = self.proc.pid
        else:
            self.proc = None
            self.pid = int(
                self.zygote.ask(f"start {port} {self.data} {self.log_path} {' '.join(self.flags)}")
            )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"service exited: {open(self.log_path).read()[-3000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise AssertionError(f"service not ready: {open(self.log_path).read()[-3000:]}")

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait(self, timeout=30.0):
        """The exit status: the return code, or minus the signal that ended the process."""
        if self.proc is not None:
            return self.proc.wait(timeout=timeout)
        status = int(self.zygote.ask(f"wait {self.pid}"))
        return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)

    def state(self):
        with httpx.Client(base_url=self.url, timeout=10) as c:
            r = c.get("/v1/models/m/state")
            r.raise_for_status()
        with tempfile.NamedTemporaryFile(suffix=".npz") as fh:
            fh.write(r.content)
            fh.flush()
            exported = read_state(fh.name)
        return exported["seq"], exported["model"]


class Zygote:
    def __init__(self):
        path = os.path.join(os.path.dirname(__file__), "zygote.py")
        self.proc = subprocess.Popen(
            [sys.executable, path],
            env=ENV,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().split()[1]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def zygote():
    z = Zygote()
    yield z
    z.close()


def _send(url, batches, acked, inflight, stop):
    """Send batches one after another until the server dies; record acks and the lost one."""
    with httpx.Client(base_url=url, timeout=30) as c:
        for batch in batches:
            if stop.is_set():
                return
            rows, labels = batch
            body = {"items": [{"features": r, "label": y} for r, y in zip(rows, labels)]}
            inflight.append(batch)
            try:
                r = c.post("/v1/models/m/learn", json=body)
            except httpx.TransportError:
                return
            assert r.status_code == 200, r.text
            inflight.pop()
            acked.append((batch, r.json()["first_seq"], r.json()["last_seq"]))


def test_sigkill_at_random_points_loses_no_acked_event_and_counts_none_twice(tmp_path, zygote):
    rng = random.Random(int(os.environ.get("TIDAL_CRASH_SEED", "1234")))
    rows, labels = make_stream(40_000, seed=7)
    server = Server(tmp_path / "data", tmp_path / "service.log", zygote)
    server.start()
    reference = zoo.make(SPEC)
    learned = 0  # events the reference holds == the recovered log position
    cursor = 0
    outcomes = {"in_flight_kept": 0, "in_flight_lost": 0, "idle": 0}
    for _ in range(KILLS):
        batches = []
        while len(batches) < 400:
            n = rng.randint(1, 40)
            batches.append((rows[cursor : cursor + n], labels[cursor : cursor + n]))
            cursor = (cursor + n) % (len(rows) - 50)
        acked, inflight, stop = [], [], threading.Event()
        sender = threading.Thread(target=_send, args=(server.url, batches, acked, inflight, stop))
        sender.start()
        time.sleep(rng.uniform(0.05, 0.6))
        server.signal(signal.SIGKILL)
        assert server.wait() == -signal.SIGKILL
        stop.set()
        sender.join()
        # acknowledged batches were numbered contiguously after everything learned before
        expected_first = learned + 1
        for batch, first, last in acked:
            assert first == expected_first and last == first + len(batch[0]) - 1
            reference.learn_many(*batch)
            expected_first = last + 1
        learned = expected_first - 1
        server.start()
        seq, state = server.state()
        lost = inflight[0] if inflight else None
        if lost is not None and seq == learned + len(lost[0]):
            reference.learn_many(*lost)  # durable before the kill, the ack never arrived
            learned = seq
            outcomes["in_flight_kept"] += 1
        else:
            outcomes["in_flight_lost" if lost is not None else "idle"] += 1
        assert seq == learned, f"recovered position {seq}, acknowledged {learned}"
        assert_state_equal(state, reference.state_dict())
    # a clean SIGTERM (of the real entry point) flushes and snapshots: a restart replays nothing
    server.signal(signal.SIGKILL)
    server.wait()
    server.start(real=True)
    seq, state = server.state()
    assert seq == learned
    assert_state_equal(state, reference.state_dict())
    # a second process on the same data folder is refused, naming the holder
    second_log = tmp_path / "second.log"
    pid = zygote.ask(f"start {_free_port()} {server.data} {second_log} {' '.join(SERVICE_FLAGS)}")
    assert os.WEXITSTATUS(int(zygote.ask(f"wait {pid}"))) == 1
    assert f"in use by process {server.pid}" in second_log.read_text()
    server.signal(signal.SIGTERM)
    assert server.wait() in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after shutdown
    snaps = sorted((tmp_path / "data" / "snapshots" / "m").glob("*.npz"))
    assert int(snaps[-1].stem) == learned
    # compacted up to the older snapshot kept (the newest may be damaged: older + log recover)
    firsts = sorted(int(p.stem) for p in (tmp_path / "data" / "wal" / "m").glob("*.wal"))
    assert all(f - 1 > int(snaps[0].stem) for f in firsts[1:])
    server.start()
    assert httpx.get(server.url + "/v1/models/m").json()["snapshot_seq"] == learned
    seq, state = server.state()
    assert seq == learned
    assert_state_equal(state, reference.state_dict())
    server.signal(signal.SIGTERM)
    server.wait()
    print(f"\ncrash test: {KILLS} kills, {learned} events acknowledged, outcomes {outcomes}")
    assert learned > 1000
