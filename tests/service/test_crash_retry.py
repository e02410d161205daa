"""Exactly once as a plain client gets it: SIGKILL the service at random points while a client
sends single items and batches with event ids -- features with labels, and delayed labels for
predictions it was answered earlier, before or after a restart -- and re-sends, after each
restart, everything it has no answer for (merged into its next request, so one request holds
retried and new items).

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
    """An at-least-once client: ``unacked`` is re-sent first, with the same event ids.

    Event ``e`` is ``events[e] = (row index, prediction id or None)``: features and a label,
    or a delayed label for a prediction answered earlier (maybe before a restart)."""

    def __init__(self, rows, labels, rng):
        self.rows, self.labels, self.rng = rows, labels, rng
        self.cursor = 0  # the next row never used
        self.events: list[tuple[int, str | None]] = []
        self.labelable: list[tuple[int, str]] = []  # predicted, not labelled yet
        self.unacked: list[int] = []
        self.seq_of: dict[int, int] = {}  # event -> the seq its answer reported
        self.requests = dict.fromkeys(
            ("single", "batch", "predict", "with_retried_items", "answered_as_repeats"), 0
        )

    def _item(self, e: int) -> dict:
        i, pid = self.events[e]
        first = {"prediction_id": pid} if pid else {"features": self.rows[i]}
        return first | {"label": self.labels[i], "event_id": f"ev-{e}"}

    def _new_event(self) -> int:
        if self.labelable and self.rng.random() < 0.4:
            self.events.append(self.labelable.pop(0))
        else:
            self.events.append((self.cursor, None))
            self.cursor += 1
        return len(self.events) - 1

    def _predict(self, c: httpx.Client) -> None:
        k = self.rng.randint(1, 20)
        idx = list(range(self.cursor, self.cursor + k))
        self.cursor += k
        r = c.post("/v1/models/m/predict", json={"rows": [self.rows[i] for i in idx]})
        assert r.status_code == 200, r.text
        self.labelable.extend(zip(idx, r.json()["prediction_ids"], strict=True))
        self.requests["predict"] += 1

    def run(self, url: str, stop: threading.Event, final: bool = False) -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            while not stop.is_set() and (not final or self.unacked):
                try:
                    if not final and self.seq_of and self.rng.random() < 0.15:
                        self._predict(c)
                        continue
                    k = 1 if self.rng.random() < 0.3 else self.rng.randint(2, 40)
                    fresh = 0 if final else max(0, k - len(self.unacked))
                    items = self.unacked + [self._new_event() for _ in range(fresh)]
                    self.unacked = items  # until an answer says otherwise
                    body = {"items": [self._item(e) for e in items]}
                    r = c.post(
                        "/v1/models/m/learn", json=body if len(items) > 1 else body["items"][0]
                    )
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
    client.run(server.url, threading.Event(), final=True)  # answers for the rest
    n = len(client.events)
    assert not client.unacked and n > 1000
    assert client.requests["answered_as_repeats"] > 0  # first copies that landed, then a kill
    assert sum(pid is not None for _, pid in client.events) > 100  # delayed labels
    # each event was learned once, in the order it was first sent: no loss, no double
    assert [client.seq_of[i] for i in range(n)] == list(range(1, n + 1))
    seq, state = server.state()
    assert seq == n
    order = [i for i, _ in client.events]
    reference = zoo.make(SPEC).learn_many([rows[i] for i in order], [labels[i] for i in order])
    assert_state_equal(state, reference.state_dict())
    server.signal(signal.SIGTERM)
    server.wait()
    print(f"\ncrash retry test: {KILLS} kills, {n} events, requests {client.requests}")
