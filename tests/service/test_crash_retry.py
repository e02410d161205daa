"""Exactly once as a plain client gets it: SIGKILL the service at random points while a client
sends single items and batches with event ids, and re-sends, after each restart, everything it
has no answer for (merged into its next request, so one request holds retried and new items).

The client never reads the server's log position. At the end every event must have been
learned exactly once, in order: the sequence numbers the answers report are 1..N for the
events in the order they were first sent (a retried item is answered with its first copy's
number), and the recovered model equals, bit for bit, a model fed every event once.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import httpx

from tidal import zoo

from .helpers import assert_state_equal, make_stream
from .test_crash import SPEC, Server, zygote  # noqa: F401 (zygote is a fixture)

KILLS = 20


class Client:
    """An at-least-once client: ``unacked`` is re-sent first, with the same event ids."""

    def __init__(self, rows, labels, rng):
        self.rows, self.labels, self.rng = rows, labels, rng
        self.next = 0  # the next event never sent
        self.unacked: list[int] = []
        self.seq_of: dict[int, int] = {}  # event -> the seq its answer reported
        self.requests = dict.fromkeys(
            ("single", "batch", "with_retried_items", "answered_as_repeats"), 0
        )

    def _body(self, items: list[int]) -> dict:
        def item(i):
            return {"features": self.rows[i], "label": self.labels[i], "event_id": f"ev-{i}"}

        return item(items[0]) if len(items) == 1 else {"items": [item(i) for i in items]}

    def run(self, url: str, stop: threading.Event, budget: int | None = None) -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            while not stop.is_set() and (budget is None or self.next < budget or self.unacked):
                k = 1 if self.rng.random() < 0.3 else self.rng.randint(2, 40)
                fresh = max(0, k - len(self.unacked))
                if budget is not None:
                    fresh = min(fresh, budget - self.next)
                items = self.unacked + list(range(self.next, self.next + fresh))
                self.next += fresh
                self.unacked = items  # until an answer says otherwise
                try:
                    r = c.post("/v1/models/m/learn", json=self._body(items))
                except httpx.TransportError:
                    return
                assert r.status_code == 200, r.text
                seqs = r.json()["seqs"]
                assert len(seqs) == len(items)
                self.seq_of.update(zip(items, seqs, strict=True))
                self.requests["with_retried_items"] += len(items) > fresh
                # retried items whose first copy was learned before the kill
                self.requests["answered_as_repeats"] += len(r.json()["already_learned"])
                self.requests["single" if len(items) == 1 else "batch"] += 1
                self.unacked = []


def test_sigkill_with_client_retries_learns_every_event_exactly_once(tmp_path, zygote):  # noqa: F811
    rng = random.Random(int(os.environ.get("TIDAL_CRASH_SEED", "4321")))
    rows, labels = make_stream(60_000, seed=5)
    server = Server(tmp_path / "data", tmp_path / "service.log", zygote)
    server.start()
    client = Client(rows, labels, rng)
    for _ in range(KILLS):
        stop = threading.Event()
        sender = threading.Thread(target=client.run, args=(server.url, stop))
        sender.start()
        time.sleep(rng.uniform(0.05, 0.5))
        server.signal(signal.SIGKILL)
        assert server.wait() == -signal.SIGKILL
        stop.set()
        sender.join()
        server.start()
    client.run(server.url, threading.Event(), budget=client.next)  # answers for the rest
    n = client.next
    assert not client.unacked and n > 1000
    assert client.requests["answered_as_repeats"] > 0  # first copies that landed, then a kill
    # each event was learned once, in the order it was first sent: no loss, no double
    assert [client.seq_of[i] for i in range(n)] == list(range(1, n + 1))
    seq, state = server.state()
    assert seq == n
    reference = zoo.make(SPEC).learn_many(rows[:n], labels[:n])
    assert_state_equal(state, reference.state_dict())
    server.signal(signal.SIGTERM)
    server.wait()
    print(f"\ncrash retry test: {KILLS} kills, {n} events, requests {client.requests}")
