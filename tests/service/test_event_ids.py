"""Idempotent learning: a client's event id makes a retried item a no-op answered with the
sequence number of its first copy, item by item, across restarts and crashes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tidal import zoo
from tidal.linear_model import LogisticRegression
from tidal.service import ServiceConfig, create_app
from tidal.service.host import ModelHost
from tidal.service.runtime import Service

from .helpers import assert_state_equal, crash, make_stream

ROWS, LABELS = make_stream(60, seed=3)


def _items(lo: int, hi: int) -> list[dict]:
    return [{"features": ROWS[i], "label": LABELS[i], "event_id": f"ev-{i}"} for i in range(lo, hi)]


def test_a_retried_batch_learns_only_its_new_items_and_answers_the_first_seqs(tmp_path):
    host = ModelHost("m", LogisticRegression(), tmp_path)
    first = host.learn(ROWS[:5], LABELS[:5], event_ids=[f"e{i}" for i in range(5)])
    assert first.seqs == [1, 2, 3, 4, 5]
    # items 3, 4 repeated, 5, 6 new, and 5 twice within the request
    rows = [ROWS[3], ROWS[4], ROWS[5], ROWS[6], ROWS[5]]
    ids = ["e3", "e4", "e5", "e6", "e5"]
    again = host.learn(rows, [LABELS[i] for i in (3, 4, 5, 6, 5)], event_ids=ids)
    assert again.learned == 2 and again.already_learned == [0, 1, 4]
    assert again.seqs == [4, 5, 6, 7, 6]
    reference = LogisticRegression().learn_many(ROWS[:7], LABELS[:7])
    assert_state_equal(host.state_dict(), reference.state_dict())
    host.close()


def test_event_ids_of_a_crash_survive_in_the_log_and_of_a_restart_in_the_snapshot(tmp_path):
    cfg = ServiceConfig(data=tmp_path, models={"m": "lr"}, snapshot_every=10**6)
    svc = Service(cfg)
    svc.hosts["m"].learn(ROWS[:10], LABELS[:10], event_ids=[f"e{i}" for i in range(10)])
    crash(svc)  # no snapshot: the ids are only in the log
    svc = Service(cfg)
    h = svc.hosts["m"]
    assert h.snapshot_seq == 0
    res = h.learn(ROWS[8:12], LABELS[8:12], event_ids=[f"e{i}" for i in range(8, 12)])
    assert res.already_learned == [0, 1] and res.seqs == [9, 10, 11, 12]
    svc.close()  # now a snapshot holds them and the log after it is empty
    svc = Service(cfg)
    h = svc.hosts["m"]
    assert h.snapshot_seq == 12
    res = h.learn(ROWS[:12], LABELS[:12], event_ids=[f"e{i}" for i in range(12)])
    assert res.learned == 0 and res.seqs == list(range(1, 13))
    reference = zoo.make("lr").learn_many(ROWS[:12], LABELS[:12])
    assert_state_equal(h.state_dict(), reference.state_dict())
    svc.close()


def test_retention_bound_by_count_and_age(tmp_path):
    host = ModelHost("m", LogisticRegression(), tmp_path, learned_ids_max=3, learned_ids_ttl=60)
    host.learn(ROWS[:5], LABELS[:5], event_ids=[f"e{i}" for i in range(5)])
    # the 3 newest are kept; older ones are new events again (the documented bound)
    res = host.learn(ROWS[:5], LABELS[:5], event_ids=[f"e{i}" for i in range(5)])
    assert res.already_learned == [2, 3, 4] and res.learned == 2
    host._learned.max_age = -1.0  # as if every id were older than the age bound
    assert host.learn(ROWS[:1], LABELS[:1], event_ids=["e4"]).learned == 1
    host.close()


def test_event_id_and_prediction_id_are_separate_keys(tmp_path):
    host = ModelHost("m", LogisticRegression(), tmp_path)
    host.learn(ROWS[:4], LABELS[:4])
    pids = host.predict(ROWS[4:6]).prediction_ids
    # an event id equal to a prediction id is not that prediction's label
    res = host.learn([ROWS[6]], [LABELS[6]], event_ids=[pids[0]])
    assert res.learned == 1
    lab = host.learn(None, [LABELS[4]], [pids[0]], event_ids=["label-4"])
    assert lab.learned == 1
    # the same label again, by event id or by prediction id: learned once
    assert host.learn(None, [LABELS[4]], [pids[0]], event_ids=["label-4"]).already_learned == [0]
    assert host.learn(None, [LABELS[4]], [pids[0]]).already_learned == [0]
    host.close()


@pytest.mark.parametrize("fast", [True, False])
def test_http_retry_contract_on_the_fast_path_and_the_route(tmp_path, fast, monkeypatch):
    if not fast:  # every learn body goes on to the FastAPI route
        monkeypatch.setattr("tidal.service.fastpath.parse_items", lambda body: None)
    cfg = ServiceConfig(data=tmp_path, models={"m": "lr"})
    with TestClient(create_app(cfg)) as c:

        def post(body):
            r = c.post("/v1/models/m/learn", json=body)
            assert r.status_code == 200, r.text
            return r.json()

        one = post(_items(0, 1)[0])
        assert one["seqs"] == [1] and one["learned"] == 1
        again = post(_items(0, 1)[0])
        assert again["learned"] == 0 and again["already_learned"] == [0] and again["seqs"] == [1]
        batch = post({"items": _items(0, 6)})
        assert batch["learned"] == 5 and batch["seqs"] == [1, 2, 3, 4, 5, 6]
        h = c.app.state.service.hosts["m"]
        reference = zoo.make("lr").learn_many(ROWS[:6], LABELS[:6])
        assert_state_equal(h.state_dict(), reference.state_dict())
        bad = c.post("/v1/models/m/learn", json={**_items(7, 8)[0], "event_id": "a b"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "event_id"


def test_an_older_consumer_s_entry_keys_are_its_event_ids_now(tmp_path):
    from tidal.service.wal import WriteAheadLog

    # before event ids, the consumer logged its entry key as a prediction id
    log = WriteAheadLog(tmp_path / "wal" / "m")
    log.append_many([{"x": ROWS[0], "y": LABELS[0], "pid": "redis:ev:1-0"}])
    log.close()
    host = ModelHost("m", zoo.make("lr"), tmp_path)
    again = host.learn([ROWS[0]], [LABELS[0]], event_ids=["redis:ev:1-0"])  # redelivered
    assert again.already_learned == [0] and again.seqs == [1]
    host.close()
