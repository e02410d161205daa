"""The sharded half of ``bench_keyed.py``: the stream through ``tidal.distributed.KeyedCluster``."""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from tidal.distributed import KeyedCluster
from tidal.linear_model import LinearRegression


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_ray(shards: int):
    import ray

    if not ray.is_initialized():
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        ray.init(
            num_cpus=max(2, shards),
            include_dashboard=False,
            log_to_driver=False,
            object_store_memory=256 * 2**20,
        )


def sharded(X, y, want: np.ndarray, shards: int, args, per_key: float) -> None:
    """``shards`` actors (0: shards in this process); prints one line of figures."""
    ids = [str(i) for i in range(len(y))]
    if shards:
        start_ray(shards)
    with tempfile.TemporaryDirectory() as tmp:
        cluster = KeyedCluster(
            LinearRegression(),
            "key",
            max(1, shards),
            tmp,
            n_virtual=args.vshards,
            address="auto" if shards else None,
        )
        try:
            pids = [i["pid"] for i in cluster.info()]
            rss0 = {p: rss_mib(p) for p in pids if p != os.getpid()}
            cpu0 = {p: cpu_seconds(p) for p in pids}
            me0 = time.process_time()
            t0 = time.perf_counter()
            got = [
                cluster.learn_many(
                    {c: v[a : a + args.block] for c, v in X.items()},
                    y[a : a + args.block],
                    ids[a : a + args.block],
                ).predictions
                for a in range(0, len(y), args.block)
            ]
            wall = time.perf_counter() - t0
            me = time.process_time() - me0
            infos = cluster.info()
            same = np.array_equal(np.concatenate(got), want)
            keys = sum(i["keys"] for i in infos)
            if shards:
                actor_cpu = sum(cpu_seconds(p) - cpu0[p] for p in pids)
                grown = sum(rss_mib(p) - rss0[p] for p in rss0)
                where = (
                    f"{shards} shard actor(s): {len(y) / wall:,.0f} events/s wall; actors "
                    f"{actor_cpu:,.1f} CPU-s ({len(y) / actor_cpu:,.0f} events per actor "
                    f"CPU-second), client {me:,.1f} CPU-s; actors' RSS grew {grown:,.0f} MiB "
                    f"({grown * 2**20 / keys:,.0f} B per key)"
                )
            else:
                where = (
                    f"in process (log + snapshots + event ids, no Ray): {len(y) / wall:,.0f} "
                    f"events/s wall, {len(y) / me:,.0f} events per CPU-second"
                )
            print(
                f"KeyedCluster, {args.vshards} virtual shards, {where}; {per_key:,.0f} B of "
                f"state arrays per key; {keys:,} keys; predictions identical to in-process "
                f"Keyed: {'yes' if same else 'NO'}  (load {os.getloadavg()[0]:.1f})"
            )
            assert same, "sharded predictions differ from the in-process Keyed run"
        finally:
            cluster.close()
