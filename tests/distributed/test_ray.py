"""Shard actors on the session's local Ray: the same answers as in process, and SIGKILLs that
lose and double nothing."""

import os
import signal
import threading

import numpy as np
import pytest

from tidal.distributed import KeyedCluster
from tidal.linear_model import LinearRegression

from .helpers import blocks, keyed_stream, reference

pytestmark = pytest.mark.xdist_group("ray")
ACTORS = {"num_cpus": 0}  # the fixture's 2 CPUs stay free for other Ray tests


@pytest.mark.parametrize("shards", [1, 2])
def test_shard_actors_predict_exactly_as_the_in_process_keyed_model(ray_cluster, tmp_path, shards):
    X, y, ids = keyed_stream(1500)
    want_preds, want = reference(LinearRegression(), X, y)
    c = KeyedCluster(
        LinearRegression(),
        "key",
        shards,
        tmp_path,
        n_virtual=16,
        address="auto",
        actor_options=ACTORS,
    )
    try:
        got = np.concatenate([c.learn_many(*blk).predictions for blk in blocks(X, y, ids, 250)])
        assert np.array_equal(got, want_preds)
        assert c.key_digests() == want
        pids = {i["pid"] for i in c.info()}
        assert len(pids) == shards and os.getpid() not in pids
    finally:
        c.close()


def test_sigkilled_shard_actors_lose_nothing_and_learn_nothing_twice(ray_cluster, tmp_path):
    X, y, ids = keyed_stream(2400, seed=5)
    want_preds, want = reference(LinearRegression(), X, y)
    c = KeyedCluster(
        LinearRegression(),
        "key",
        2,
        tmp_path,
        n_virtual=16,
        address="auto",
        snapshot_every=300,
        actor_options=ACTORS,
    )
    try:
        kills, got = 0, []
        for i, blk in enumerate(blocks(X, y, ids, 100)):
            killer = None
            if i in (3, 9, 15, 20):
                pid = c.info()[i % 2]["pid"]
                # between batches (i == 3) or while this batch is in flight (the others)
                delay = 0.0 if i == 3 else 0.002 * (i % 4)
                killer = threading.Timer(delay, os.kill, (pid, signal.SIGKILL))
                killer.start()
                kills += 1
                if i == 3:
                    killer.join()
            got.append(c.learn_many(*blk).predictions)
            if killer is not None:
                killer.join()
        infos = c.info()
        assert sum(i["n_applied"] for i in infos) == 2400  # none lost, none learned twice
        assert np.array_equal(np.concatenate(got), want_preds)
        assert c.key_digests() == want  # every key's state bit-identical
        assert c.router.retries >= 1 and kills == 4
    finally:
        c.close()
