import threading

import numpy as np
import pytest

from tidal.base import InputError, learner_from_state
from tidal.compose import Pipeline
from tidal.linear_model import LinearRegression, LogisticRegression
from tidal.preprocessing import StandardScaler
from tidal.service.host import ModelHost, UnknownPredictionError

from .helpers import assert_state_equal, make_stream


def _model():
    return Pipeline(StandardScaler(), LogisticRegression())


def _feed(host, rows, labels, sizes):
    i = 0
    for s in sizes:
        host.learn(rows[i : i + s], labels[i : i + s])
        i += s
    return i


def test_snapshot_plus_replay_equals_uninterrupted_model(tmp_path):
    rows, labels = make_stream(300, seed=1)
    sizes = [1, 5, 17, 3, 40, 2, 60, 22, 50, 100]
    host = ModelHost("m", _model(), tmp_path, snapshot_every=10**9)
    _feed(host, rows, labels, sizes[:5])
    assert host.snapshot() == 66  # covers the first 66 events
    _feed(host, rows[66:], labels[66:], sizes[5:])
    host.wal.close()  # a crash after the last ack: no final snapshot
    reference = _model()
    i = 0
    for s in sizes:
        reference.learn_many(rows[i : i + s], labels[i : i + s])
        i += s
    recovered = ModelHost("m", _model(), tmp_path)
    assert recovered.snapshot_seq == 66 and recovered.replayed == 300 - 66
    assert recovered.applied_seq == 300
    assert_state_equal(recovered.state_dict(), reference.state_dict())
    # continuing after recovery == continuing without a crash
    recovered.learn(rows[:7], labels[:7])
    reference.learn_many(rows[:7], labels[:7])
    assert_state_equal(recovered.state_dict(), reference.state_dict())
    recovered.close()


def test_snapshot_compacts_log_and_prunes_old_snapshots(tmp_path):
    rows, labels = make_stream(200, seed=2)
    host = ModelHost("m", _model(), tmp_path, segment_bytes=500, snapshots_kept=2)
    for k in range(4):
        _feed(host, rows[k * 50 :], labels[k * 50 :], [25, 25])
        host.snapshot()
    assert host.snapshots.seqs == [150, 200]
    # every remaining segment but the current one holds events after the older snapshot kept
    # (the log from there on is what recovers everything if the newest one is damaged)
    firsts = [int(p.stem) for p in host.wal.segments]
    assert all(nxt - 1 > 150 for nxt in firsts[1:]) and firsts[0] <= 151
    snap_state = host.snapshots.latest().model_state
    assert_state_equal(learner_from_state(snap_state).state_dict(), host.state_dict())
    host.close()


def test_bad_learn_changes_neither_model_nor_log(tmp_path):
    rows, labels = make_stream(20)
    host = ModelHost("m", _model(), tmp_path)
    host.learn(rows[:10], labels[:10])
    before, seq, size = host.state_dict(), host.wal.last_seq, host.wal.segments[-1].stat().st_size
    bad_batches = [
        (rows[10:12] + [{"a": float("nan"), "b": 0.0, "c": 0.0}], labels[10:13]),
        (rows[10:12] + [{"a": 1.0, "b": 0.0}], labels[10:13]),  # missing feature
        (rows[10:12] + [{"a": 1.0, "b": 0.0, "c": 0.0, "d": 1.0}], labels[10:13]),
        (rows[10:12] + [{"a": "text", "b": 0.0, "c": 0.0}], labels[10:13]),
        (rows[10:13], [0, 1, 7]),  # a third class for a binary learner
    ]
    for x, y in bad_batches:
        with pytest.raises(InputError) as err:
            host.learn(x, y)
        assert err.value.row == 2  # names the item at fault
    assert_state_equal(host.state_dict(), before)
    assert host.wal.last_seq == seq and host.wal.segments[-1].stat().st_size == size
    host.close()


def test_delayed_labels_learned_once_and_unknown_ids_refused(tmp_path):
    rows, labels = make_stream(10)
    host = ModelHost("m", _model(), tmp_path, pending_max=3)
    host.learn(rows[:4], labels[:4])
    p = host.predict(rows[4:9])  # 5 rows, only the newest 3 are kept
    assert p.version == {"registry_version": None, "seq": 4}
    old, kept = p.prediction_ids[:2], p.prediction_ids[2:]
    before = host.state_dict()
    with pytest.raises(UnknownPredictionError, match="retention"):
        host.learn(None, [1, 0], prediction_ids=[kept[0], old[0]])
    assert_state_equal(host.state_dict(), before)  # nothing of that request was learned
    r = host.learn(None, [labels[6], labels[7]], prediction_ids=kept[:2])
    assert (r.learned, r.first_seq, r.last_seq) == (2, 5, 6)
    again = host.learn(None, [labels[6], labels[7]], prediction_ids=kept[:2])
    assert again.learned == 0 and again.already_learned == [0, 1] and host.wal.last_seq == 6
    dup = host.learn(None, [labels[8], labels[8]], prediction_ids=[kept[2], kept[2]])
    assert dup.learned == 1 and dup.already_learned == [1]
    reference = _model().learn_many(rows[:4], labels[:4])
    reference.learn_many(rows[6:9], [labels[6], labels[7], labels[8]])
    assert_state_equal(host.state_dict(), reference.state_dict())
    host.close()
    # the learned ids survive a restart (snapshot) so a retry is still a no-op
    host = ModelHost("m", _model(), tmp_path)
    assert host.learn(None, [0], prediction_ids=[kept[0]]).already_learned == [0]
    host.close()


def test_learned_ids_in_snapshots_new_and_old_layout(tmp_path):
    rows, labels = make_stream(6)
    host = ModelHost("m", LinearRegression(), tmp_path, learned_ids_max=3)
    host.learn(rows[5:], [float(labels[5])])
    pids = host.predict(rows[:5]).prediction_ids
    for pid, y in zip(pids, labels[:5]):
        host.learn(None, [float(y)], prediction_ids=[pid])
    host.close()  # snapshot at seq 6 with the 3 newest ids
    kept = [(p, s) for p, s in zip(pids[2:], [4, 5, 6])]
    snap = host.snapshots.latest()
    assert snap.extra["learned_ids"]["ids"] == pids[2:]
    assert snap.extra["learned_ids"]["seqs"].tolist() == [4, 5, 6]
    again = ModelHost("m", LinearRegression(), tmp_path, learned_ids_max=3)
    assert list(again._learned.items()) == kept
    again.close()
    # a snapshot written before the ids were stored as two lists: [[id, seq], ...]
    old = dict(snap.extra, learned_ids=[list(pair) for pair in kept])
    again.snapshots.save(snap.model_state, 6, old)
    third = ModelHost("m", LinearRegression(), tmp_path, learned_ids_max=3)
    assert list(third._learned.items()) == kept
    assert third.learn(None, [1.0], prediction_ids=[pids[4]]).already_learned == [0]
    third.close()


def test_a_stop_between_snapshot_and_compaction_is_compacted_at_the_next_close(tmp_path):
    rows, labels = make_stream(40)
    host = ModelHost("m", LinearRegression(), tmp_path, segment_bytes=512)
    for i in range(0, 40, 4):
        host.learn(rows[i : i + 4], [float(y) for y in labels[i : i + 4]])
    with host._lock:
        state, learned = host.model.state_dict(), host.learned_ids_copy()
    host.save_snapshot(40, state, learned, None)
    host.wal.close()  # killed after the snapshot was written, before the log was compacted
    again = ModelHost("m", LinearRegression(), tmp_path, segment_bytes=512)
    assert again.replayed == 0 and len(again.wal.segments) >= 3
    again.close()  # nothing new to snapshot: the segments it covers go all the same
    assert len(list((tmp_path / "wal" / "m").glob("*.wal"))) == 1


def test_learned_ids_survive_crash_through_log_replay(tmp_path):
    rows, labels = make_stream(5)
    host = ModelHost("m", LinearRegression(), tmp_path)
    host.learn(rows[:2], [1.0, 2.0])
    pid = host.predict(rows[2:3]).prediction_ids[0]
    host.learn(None, [3.0], prediction_ids=[pid])
    host.wal.close()  # crash: no snapshot
    again = ModelHost("m", LinearRegression(), tmp_path)
    assert again.learn(None, [3.0], prediction_ids=[pid]).already_learned == [0]
    assert again.applied_seq == 3
    again.close()


def test_predictions_never_see_half_a_learn(tmp_path):
    # a regressor whose every learned row moves the prediction: a prediction made while a
    # batch is being applied would show a count of rows that is not a batch boundary
    from tidal.dummy import RunningMeanRegressor

    host = ModelHost("m", RunningMeanRegressor(), tmp_path)
    host.learn([{"x": 0.0}], [0.0])
    stop = threading.Event()
    seen = []

    def reader():
        while not stop.is_set():
            p = host.predict([{"x": 0.0}], keep=False)
            seen.append((p.version["seq"], p.predictions[0]))

    t = threading.Thread(target=reader)
    t.start()
    for k in range(30):
        host.learn([{"x": 0.0}] * 10, [float(k + 1)] * 10)
    stop.set()
    t.join()
    host.close()
    assert len(seen) > 5
    for seq, pred in seen:
        assert (seq - 1) % 10 == 0  # only whole requests
        k = (seq - 1) // 10  # mean of 0, then ten 1s, ten 2s, ... ten ks
        expected = 10 * k * (k + 1) / 2 / seq
        assert np.isclose(pred, expected)


def test_concurrent_learns_log_in_the_order_they_were_applied(tmp_path):
    rows, labels = make_stream(800, seed=3)
    host = ModelHost("m", _model(), tmp_path, snapshot_every=10**9)
    host.learn(rows[:2], labels[:2])
    fsync_groups = []
    host.wal._on_fsync = lambda s, n: fsync_groups.append(n)

    def writer(t):
        for k in range(10):
            lo = 2 + (t * 10 + k) * 19
            host.learn(rows[lo : lo + 19], labels[lo : lo + 19])

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    live = host.state_dict()
    host.wal.close()  # crash: recovery must replay the log into the very same state
    recovered = ModelHost("m", _model(), tmp_path)
    assert recovered.applied_seq == 2 + 40 * 19
    assert_state_equal(recovered.state_dict(), live)
    assert max(fsync_groups) > 1  # concurrent learns did share fsyncs
    recovered.close()
