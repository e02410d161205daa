import subprocess
import sys

import numpy as np
import pytest

from tidal.distributed import EventBatch, NotOwnerError, Shard, ShardMap, state_digest
from tidal.linear_model import LinearRegression
from tidal.service.lock import DataFolderLockedError

from .helpers import blocks, keyed_stream, reference

M = ShardMap(1, n_virtual=16)


def _learn(shard: Shard, Xb, yb, ids):
    b = EventBatch.read(Xb, yb, ids, "key")
    return shard.learn(b, M.virtual_of(b.keys))


def _digests(shard: Shard) -> dict:
    return {k: state_digest(s) for k, s in shard.key_states().items()}


def _crash(shard: Shard) -> None:
    """What a SIGKILL leaves: the logs as written, no snapshot, the locks gone."""
    for vs in shard._open.values():
        vs.wal.close()
        vs._lock.release()


@pytest.mark.parametrize("snapshot_every", [10**9, 300])
def test_restore_after_a_crash_is_bit_identical_to_an_uninterrupted_run(tmp_path, snapshot_every):
    X, y, ids = keyed_stream(1500)
    want_preds, want = reference(LinearRegression(), X, y)
    shard = Shard(
        LinearRegression(), "key", tmp_path, 0, list(range(16)), snapshot_every=snapshot_every
    )
    got = []
    for i, (Xb, yb, ib) in enumerate(blocks(X, y, ids, 100)):
        if i in (4, 9):
            _crash(shard)
            shard = Shard(
                LinearRegression(),
                "key",
                tmp_path,
                0,
                list(range(16)),
                snapshot_every=snapshot_every,
            )
            assert sum(shard.info()["replayed"].values()) > 0 or snapshot_every == 300
        got.append(_learn(shard, Xb, yb, ib).predictions)
    assert np.array_equal(np.concatenate(got), want_preds)
    assert _digests(shard) == want
    shard.close()


def test_a_real_crash_of_the_process_loses_no_acknowledged_event(tmp_path):
    """A child process learns 6 blocks and dies with os._exit (no close, no snapshot)."""
    X, y, ids = keyed_stream(900)
    np.savez(tmp_path / "s.npz", key=X["key"].astype(str), x1=X["x1"], x2=X["x2"], y=y)
    code = f"""
import numpy as np, os
from tidal.distributed import EventBatch, Shard, ShardMap
from tidal.linear_model import LinearRegression
d = np.load({str(tmp_path / "s.npz")!r})
keys = np.array([int(k) if k.isdigit() else k for k in d["key"]], dtype=object)
s = Shard(LinearRegression(), "key", {str(tmp_path / "data")!r}, 0, list(range(16)))
m = ShardMap(1, n_virtual=16)
for a in range(0, 600, 100):
    b = EventBatch.read({{"key": keys[a:a+100], "x1": d["x1"][a:a+100], "x2": d["x2"][a:a+100]}},
                        d["y"][a:a+100], ["ev-0-%d" % i for i in range(a, a + 100)], "key")
    s.learn(b, m.virtual_of(b.keys))
os._exit(9)
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 9, run.stderr
    _, want = reference(LinearRegression(), X, y)
    shard = Shard(LinearRegression(), "key", tmp_path / "data", 0, list(range(16)))
    assert sum(shard.info()["replayed"].values()) == 600
    # the client did not hear back about the last block it sent: it sends it again
    again = _learn(shard, {c: v[500:600] for c, v in X.items()}, y[500:600], ids[500:600])
    assert again.n_duplicates == 100
    for Xb, yb, ib in blocks({c: v[600:] for c, v in X.items()}, y[600:], ids[600:], 100):
        _learn(shard, Xb, yb, ib)
    assert _digests(shard) == want
    shard.close()


def test_a_retried_batch_is_answered_with_the_recorded_outcome_and_changes_nothing(tmp_path):
    X, y, ids = keyed_stream(300)
    shard = Shard(LinearRegression(), "key", tmp_path, 0, list(range(16)))
    first = _learn(shard, X, y, ids)
    before = _digests(shard)
    again = _learn(shard, X, y, ids)
    assert not again.applied.any() and np.array_equal(again.predictions, first.predictions)
    assert _digests(shard) == before
    # half old, half new, and one new id twice in the batch: only the first copy is learned
    X2, y2, ids2 = keyed_stream(100, seed=1)
    mix = {c: np.concatenate([X[c][:50], X2[c], X2[c][:1]]) for c in X}
    res = _learn(shard, mix, np.concatenate([y[:50], y2, y2[:1]]), ids[:50] + ids2 + ids2[:1])
    assert res.applied.tolist() == [False] * 50 + [True] * 100 + [False]
    assert res.predictions[-1] == res.predictions[50]
    assert shard.info()["n_applied"] == 400
    # and after a crash, the recorded outcomes are the same (rebuilt by the replay)
    _crash(shard)
    shard = Shard(LinearRegression(), "key", tmp_path, 0, list(range(16)))
    assert np.array_equal(_learn(shard, X, y, ids).predictions, first.predictions)
    assert shard.info()["n_applied"] == 400
    shard.close()


def test_a_virtual_shard_moves_to_another_shard_without_losing_or_doubling(tmp_path):
    X, y, ids = keyed_stream(1200)
    want_preds, want = reference(LinearRegression(), X, y)
    m = ShardMap(2, n_virtual=16)
    shards = [Shard(LinearRegression(), "key", tmp_path, s, m.owned_by(s)) for s in (0, 1)]
    with pytest.raises(DataFolderLockedError, match="in use"):
        shards[1].open(0)  # owned by shard 0: one owner at a time
    got = []
    for i, (Xb, yb, ib) in enumerate(blocks(X, y, ids, 100)):
        if i in (3, 7):
            for v in m.owned_by(i % 2)[:3]:
                shards[i % 2].release(v)
                m.move(v, 1 - i % 2)
                shards[1 - i % 2].open(v)
        b = EventBatch.read(Xb, yb, ib, "key")
        v = m.virtual_of(b.keys)
        s = m.shard_of_virtual(v)
        parts = [(np.flatnonzero(s == k), shards[k]) for k in (0, 1)]
        pred = np.empty(len(yb))
        for rows, shard in parts:
            if len(rows):
                pred[rows] = shard.learn(b.take(rows), v[rows]).predictions
        got.append(pred)
    assert np.array_equal(np.concatenate(got), want_preds)
    assert {k: d for sh in shards for k, d in _digests(sh).items()} == want
    assert sum(sh.info()["n_applied"] for sh in shards) == 1200


def test_events_of_a_virtual_shard_not_owned_are_refused_before_any_is_learned(tmp_path):
    shard = Shard(LinearRegression(), "key", tmp_path, 0, [1, 2])
    b = EventBatch.read({"key": ["a", "b"], "x": [1.0, 2.0]}, [1.0, 2.0], ["e1", "e2"], "key")
    with pytest.raises(NotOwnerError, match=r"shard 0 does not own virtual shard\(s\) \[5\]"):
        shard.learn(b, np.array([1, 5]))
    assert shard.info()["n_applied"] == 0
    shard.close()
