"""SIGKILL shard actors while a client streams with event ids: nothing lost, nothing doubled.

A client streams events over keys through ``tidal.distributed.KeyedCluster`` with 2 shard actors
on a local Ray, every event with an event id. At 20+ random points a shard actor's process gets
SIGKILL: between two batches, or while a batch is in flight. Ray restarts the actor, its
constructor restores its virtual shards (snapshot + log), and the router sends the failed call
again with the same event ids. At the end:

- lost: events sent whose id no shard has applied;
- doubled: applications beyond one per event (every shard counts the events it applied);
- every key's model state compared bit for bit (SHA-256 of its state) with an uninterrupted
  in-process ``Keyed`` run, and the predictions with that run's;
- recovery time per kill: from the signal to the answer of the batch it hit (detection, Ray's
  restart of the process, ``import tidal``, restore, retry), and the restore alone.

    python benchmarks/bench_recovery.py [--events 40000] [--keys 2000] [--kills 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import threading
import time

import numpy as np
from bench_keyed import make
from bench_keyed_sharded import start_ray

from tidal.compose import Keyed
from tidal.distributed import KeyedCluster, state_digest
from tidal.linear_model import LinearRegression


def _gone(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.005)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=40_000)
    p.add_argument("--keys", type=int, default=2_000)
    p.add_argument("--block", type=int, default=500)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--vshards", type=int, default=64)
    p.add_argument("--snapshot-every", type=int, default=200, help="per virtual shard")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    X, y = make(args.events, args.keys, seed=args.seed)
    ids = [f"ev-{i}" for i in range(args.events)]
    blocks = [(a, min(a + args.block, args.events)) for a in range(0, args.events, args.block)]
    ref = Keyed(LinearRegression(), key="key")
    want = np.concatenate(
        [ref.step_many({c: v[a:b] for c, v in X.items()}, y[a:b]) for a, b in blocks]
    )
    want_states = {k: state_digest(s) for k, s in ref.state_dict()["keys"]}
    rng = np.random.default_rng(args.seed)
    at = set(rng.choice(np.arange(1, len(blocks)), args.kills, replace=False).tolist())
    start_ray(2)
    with tempfile.TemporaryDirectory() as tmp:
        cluster = KeyedCluster(
            LinearRegression(),
            "key",
            2,
            tmp,
            n_virtual=args.vshards,
            address="auto",
            snapshot_every=args.snapshot_every,
            retry_timeout=120.0,
        )
        try:
            got, recoveries, normal = [], [], []
            for i, (a, b) in enumerate(blocks):
                batch = ({c: v[a:b] for c, v in X.items()}, y[a:b], ids[a:b])
                if i not in at:
                    t0 = time.perf_counter()
                    got.append(cluster.learn_many(*batch).predictions)
                    normal.append(time.perf_counter() - t0)
                    continue
                victim = int(rng.integers(2))
                pid = cluster.info()[victim]["pid"]
                during = bool(rng.integers(2))
                if during:  # while this batch is in flight
                    killer = threading.Timer(float(rng.uniform(0, 0.02)), os.kill, (pid, 9))
                    t_kill = time.perf_counter() + killer.interval
                    killer.start()
                else:  # between batches: the next call finds the actor dead or restarting
                    os.kill(pid, signal.SIGKILL)
                    t_kill = time.perf_counter()
                    _gone(pid)
                got.append(cluster.learn_many(*batch).predictions)
                took = time.perf_counter() - t_kill
                if during:
                    killer.join()
                restore = cluster.info()[victim]
                assert restore["pid"] != pid
                recoveries.append((took, restore["open_seconds"], during))
                print(
                    f"  kill {len(recoveries):2d}: shard {victim} pid {pid} "
                    f"{'during a batch ' if during else 'between batches'} -> answered "
                    f"{took:5.2f} s after the signal; restore (snapshot + replay of "
                    f"{sum(restore['replayed'].values()):,} events) {restore['open_seconds']:.2f} s"
                )
            infos = cluster.info()
            applied = set()
            for s in range(2):
                applied.update(cluster._call(s, "applied_ids"))
            sent = set(ids)
            lost = len(sent - applied)
            doubled = sum(i["n_applied"] for i in infos) - len(sent & applied)
            digests = cluster.key_digests()
            same_keys = sum(digests.get(k) == d for k, d in want_states.items())
            same_preds = np.array_equal(np.concatenate(got), want)
        finally:
            cluster.close()
    took = np.array([r[0] for r in recoveries])
    restore = np.array([r[1] for r in recoveries])
    print(
        f"{args.events:,} events over {len(want_states):,} keys, 2 shard actors, "
        f"{args.vshards} virtual shards, {len(recoveries)} SIGKILLs "
        f"({sum(r[2] for r in recoveries)} during a batch): lost {lost}, doubled {doubled}, "
        f"keys bit-identical {same_keys:,}/{len(want_states):,}, predictions identical: "
        f"{'yes' if same_preds else 'NO'}; router retries {cluster.router.retries}"
    )
    print(
        f"recovery (signal -> batch answered): median {np.median(took):.2f} s, max "
        f"{took.max():.2f} s; restore alone: median {np.median(restore):.2f} s, max "
        f"{restore.max():.2f} s; a batch without a kill: median {np.median(normal) * 1e3:.0f} ms "
        f" (load {os.getloadavg()[0]:.1f})"
    )
    assert lost == 0 and doubled == 0 and same_keys == len(want_states) and same_preds


if __name__ == "__main__":
    main()
