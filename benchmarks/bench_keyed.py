"""A model per key: 1M events over 10k keys, in process and through shard actors on Ray.

Prints events/s, the model memory per key (the bytes of its state arrays), and checks that the
answers equal those of one run per key on that key's rows alone (a sample of keys), and that a
bound on memory (``max_in_memory``, spilling to disk) changes no answer. Then the same stream
goes through ``tidal.distributed.KeyedCluster``: in this process (logs, snapshots and event ids,
no Ray), and with 1 and 2 shard actors on a local Ray: events/s (wall: the client waits for every
event to be on disk), CPU-seconds and resident memory of each actor, and whether the predictions
are identical to the in-process ``Keyed`` run.

    python benchmarks/bench_keyed.py [--events 1000000] [--keys 10000] [--block 4096]
        [--shards 0,1,2] [--vshards 256]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from tidal.compose import Keyed
from tidal.linear_model import LinearRegression


def make(n: int, keys: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    k = rng.zipf(1.3, n) % keys  # a few busy keys, a long tail of quiet ones
    slope = rng.normal(0, 3, keys)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return {"key": k, "x1": x1, "x2": x2}, slope[k] * x1 + 0.5 * x2 + 0.1 * rng.normal(size=n)


def run(model: Keyed, X, y, block: int) -> tuple[np.ndarray, float]:
    t0 = time.process_time()
    out = [
        model.step_many({c: v[a : a + block] for c, v in X.items()}, y[a : a + block])
        for a in range(0, len(y), block)
    ]
    return np.concatenate(out), time.process_time() - t0


def state_bytes(state) -> int:
    if isinstance(state, np.ndarray):
        return state.nbytes
    if isinstance(state, dict):
        return sum(state_bytes(v) for v in state.values())
    if isinstance(state, list):
        return sum(state_bytes(v) for v in state)
    return 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--keys", type=int, default=10_000)
    p.add_argument("--block", type=int, default=4096)
    p.add_argument("--shards", default="0,1,2", help="shard actors to try (0: in process)")
    p.add_argument("--vshards", type=int, default=256)
    args = p.parse_args()
    X, y = make(args.events, args.keys)
    Keyed(LinearRegression(), key="key").step_many({c: v[:10] for c, v in X.items()}, y[:10])
    load = os.getloadavg()[0]
    free = Keyed(LinearRegression(), key="key")
    got, cpu = run(free, X, y, args.block)
    keys = len(free.keys_)
    per_key = state_bytes(free.state_dict()["keys"]) / keys
    print(
        f"Keyed(LinearRegression), {args.events:,} events, {keys:,} keys, blocks of "
        f"{args.block:,}: {args.events / cpu:,.0f} events per CPU-second, "
        f"{per_key:,.0f} B of state arrays per key  (load {load:.1f})"
    )
    rng = np.random.default_rng(1)
    for k in rng.choice(free.keys_, 20, replace=False):
        rows = np.flatnonzero(X["key"] == k)
        alone = LinearRegression().step_many({"x1": X["x1"][rows], "x2": X["x2"][rows]}, y[rows])
        assert np.array_equal(alone, got[rows]), f"key {k} differs from its own run"
    with tempfile.TemporaryDirectory() as tmp:
        bound = max(1, keys // 10)
        spilled = Keyed(LinearRegression(), key="key", max_in_memory=bound, spill_dir=tmp)
        got2, cpu2 = run(spilled, X, y, args.block)
    assert np.array_equal(got, got2)
    print(
        f"  with max_in_memory={bound:,} (spilling to disk): {args.events / cpu2:,.0f} events "
        f"per CPU-second, same answers: yes; 20 sampled keys equal their own runs: yes"
    )
    from bench_keyed_sharded import sharded

    for shards in [int(s) for s in args.shards.split(",") if s]:
        sharded(X, y, got, shards, args, per_key)


if __name__ == "__main__":
    main()
