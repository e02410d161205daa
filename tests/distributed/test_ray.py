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
def test_shard_actors_predict_exactly_as_the_in_process_keyed_model_also_across_moves(
    ray_cluster, tmp_path, shards
):
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
        got = []
        for i, blk in enumerate(blocks(X, y, ids, 250)):
            if i == 3 and shards == 2:  # virtual shards move between the actors mid-stream
                for v in (0, 1, 5):
                    c.move(v, 1 - c.map.assignment[v])
            got.append(c.learn_many(*blk).predictions)
        assert np.array_equal(np.concatenate(got), want_preds)
        assert c.key_digests() == want
        assert [i["vshards"] for i in c.info()] == [c.map.owned_by(s) for s in range(shards)]
        pids = {i["pid"] for i in c.info()}
        assert len(pids) == shards and os.getpid() not in pids
    finally:
        c.close()


def test_sigkilled_shard_actors_lose_nothing_and_learn_nothing_twice(ray_cluster, tmp_path):
    X, y, ids = keyed_stream(1800, seed=5)
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
            if i in (3, 9, 15):
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
        assert sum(i["n_applied"] for i in infos) == 1800  # none lost, none learned twice
        assert np.array_equal(np.concatenate(got), want_preds)
        assert c.key_digests() == want  # every key's state bit-identical
        assert c.router.retries >= 1 and kills == 3
    finally:
        c.close()


def test_two_clients_share_the_actors_and_a_move_by_one_reaches_the_other(ray_cluster, tmp_path):
    X, y, ids = keyed_stream(1000, seed=2)
    want_preds, want = reference(LinearRegression(), X, y, block=250)
    opts = {"n_virtual": 8, "address": "auto", "actor_options": ACTORS}
    a = KeyedCluster(LinearRegression(), "key", 2, tmp_path, **opts)
    b = KeyedCluster(LinearRegression(), "key", 2, tmp_path, **opts)  # finds them by name
    try:
        assert [i["pid"] for i in a.info()] == [i["pid"] for i in b.info()]
        got = []
        for i, blk in enumerate(blocks(X, y, ids, 250)):
            if i == 2:  # a moves the first key's virtual shard: b's map is now stale
                v = int(a.map.virtual_of(blk[0]["key"][:1])[0])
                a.move(v, 1 - a.map.assignment[v])
            got.append((a if i % 2 == 0 else b).learn_many(*blk).predictions)
        assert b.map.to_dict() == a.map.to_dict()  # b reloaded the saved map
        assert np.array_equal(np.concatenate(got), want_preds)
        b.close(stop_shards=False)
        assert a.key_digests() == want
    finally:
        a.close()
