import numpy as np
import pytest

from tidal.distributed import (
    EventBatch,
    LocalCalls,
    NotOwnerError,
    Router,
    Shard,
    ShardMap,
    ShardUnavailableError,
    state_digest,
)
from tidal.distributed._router import ShardDown
from tidal.linear_model import LinearRegression

from .helpers import blocks, keyed_stream, reference


class Recording(LocalCalls):
    """Local calls, recorded; shard ``dies`` fails its next calls after (or before) applying."""

    def __init__(self, shards, dies=None, times=0, after=True):
        super().__init__(shards)
        self.log, self.dies, self.times, self.after = [], dies, times, after

    def run(self, calls):
        self.log.append([(s, m, len(a[0])) for s, m, a in calls])
        out = []
        for s, method, args in calls:
            if s == self.dies and self.times > 0:
                self.times -= 1
                if self.after:  # the shard learned, logged, then died before answering
                    getattr(self.shards[s], method)(*args)
                out.append(ShardDown(f"shard {s} died"))
            else:
                out.extend(super().run([(s, method, args)]))
        return out


def _cluster(tmp_path, shards=3, **kw):
    m = ShardMap(shards, n_virtual=32)
    objs = [Shard(LinearRegression(), "key", tmp_path, s, m.owned_by(s)) for s in range(shards)]
    calls = Recording(objs, **kw)
    return Router(m, calls, retry_timeout=kw.pop("timeout", 5.0)), calls, objs


def _digests(objs):
    return {k: state_digest(s) for sh in objs for k, s in sh.key_states().items()}


def test_a_batch_makes_one_call_per_shard_with_all_its_rows(tmp_path):
    router, calls, objs = _cluster(tmp_path)
    X, y, ids = keyed_stream(500)
    b = EventBatch.read(X, y, ids, "key")
    router.learn(b)
    (made,) = calls.log
    shard_of = router.map.shard_of_virtual(router.map.virtual_of(b.keys))
    assert sorted(made) == [(s, "learn", int((shard_of == s).sum())) for s in range(3)]
    router.predict(b.keys, b.X)
    assert len(calls.log) == 2 and len(calls.log[1]) == 3


@pytest.mark.parametrize("after", [True, False])
def test_a_shard_that_dies_is_retried_with_the_same_ids_exactly_once(tmp_path, after):
    X, y, ids = keyed_stream(1000)
    want_preds, want = reference(LinearRegression(), X, y, block=200)
    router, calls, objs = _cluster(tmp_path, dies=1, times=2, after=after)
    got = [router.learn(EventBatch.read(*blk, "key")) for blk in blocks(X, y, ids, 200)]
    assert router.retries == 2
    assert np.array_equal(np.concatenate([r.predictions for r in got]), want_preds)
    # died after learning: the retry is answered as a duplicate; before: learned on the retry
    assert sum(r.n_duplicates for r in got) == (int(got[0].n_duplicates) if after else 0)
    assert _digests(objs) == want
    assert sum(sh.info()["n_applied"] for sh in objs) == 1000


def test_a_shard_that_stays_down_is_named_with_its_events(tmp_path):
    router, calls, objs = _cluster(tmp_path, dies=2, times=10**6, after=False)
    router.retry_timeout = 0.2
    X, y, ids = keyed_stream(50)
    with pytest.raises(ShardUnavailableError) as err:
        router.learn(EventBatch.read(X, y, ids, "key"))
    msg = str(err.value)
    shard_of = router.map.shard_of_virtual(router.map.virtual_of(X["key"]))
    first = ids[int(np.flatnonzero(shard_of == 2)[0])]
    assert "shard 2:" in msg and first in msg and "same event ids" in msg
    assert "shard 0" not in msg


def test_a_stale_map_is_reloaded_and_the_moved_rows_resent(tmp_path):
    router, calls, objs = _cluster(tmp_path)
    fresh = ShardMap.from_dict(router.map.to_dict())
    X, y, ids = keyed_stream(200)
    v = int(router.map.virtual_of(X["key"][:1])[0])
    src = fresh.assignment[v]
    objs[src].release(v)
    fresh.move(v, (src + 1) % 3)
    objs[(src + 1) % 3].open(v)
    router.reload_map = lambda: fresh
    res = router.learn(EventBatch.read(X, y, ids, "key"))
    assert res.n_applied == 200 and router.map is fresh


def test_a_shard_refusing_a_virtual_shard_the_fresh_map_gives_it_is_an_error(tmp_path):
    router, calls, objs = _cluster(tmp_path)
    X, y, ids = keyed_stream(50)
    v = int(router.map.virtual_of(X["key"][:1])[0])
    objs[router.map.assignment[v]].release(v)  # nobody owns it now, and the map did not change
    router.reload_map = lambda: ShardMap.from_dict(router.map.to_dict())
    with pytest.raises(NotOwnerError, match=f"does not own virtual shard\\(s\\) \\[{v}\\]"):
        router.learn(EventBatch.read(X, y, ids, "key"))
