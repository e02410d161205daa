"""A compare grid, sequential vs Ray: Elec2 (bundled) x 5 seeds x the default models.

Runs the same grid twice -- every cell in this process, then every cell as a Ray task on a
local Ray with 2 workers (CPUs) -- prints both tables' numbers side by side, checks that every
number but the clock readings is identical (the JSON of both grids without timing fields), and
prints the wall times and their ratio. The ratio includes Ray's start (printed apart) and each
worker's import of tidal and of the cached numba kernels.

    python benchmarks/bench_grid.py [--data elec2] [--seeds 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import time

from tidal import zoo
from tidal.cli._compare_setup import default_models as _default_models
from tidal.cli._compare_setup import with_baselines as _with_baselines
from tidal.cli._data import open_source
from tidal.evaluate._grid import run_grid, without_timing


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="elec2")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    source = open_source(args.data, None)
    task = source.task
    specs = _with_baselines(_default_models(task, source.n_rows), task)
    seeds = [zoo.DEFAULT_SEED + i for i in range(args.seeds)]
    kw = dict(opener=open_source, task=task)
    print(f"{args.data}: {source.n_rows:,} rows; {len(specs)} learners x {len(seeds)} seeds")

    t0, c0 = time.perf_counter(), time.process_time()
    here = run_grid([args.data], specs, seeds, **kw)
    seq_wall, seq_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"sequential: {len(here.cells)} cells in {seq_wall:.1f} s wall, {seq_cpu:.1f} s process "
        f"CPU (load average before: {os.getloadavg()[0]:.1f})"
    )

    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    t0 = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    start = time.perf_counter() - t0
    t0 = time.perf_counter()
    there = run_grid([args.data], specs, seeds, ray=True, **kw)
    ray_wall = time.perf_counter() - t0
    ray.shutdown()
    print(f"Ray ({there.workers} workers): {ray_wall:.1f} s wall (+ {start:.1f} s Ray start)")

    print(f"\n{'learner':<26}{'seed':>6}{'Accuracy seq':>14}{'Accuracy Ray':>14}"
          f"{'CPU s seq':>11}{'CPU s Ray':>11}")  # fmt: skip
    for cell in here.cells:
        a, b = here.done[cell].results.rows[0], there.done[cell].results.rows[0]
        seed = "-" if cell.seed is None else cell.seed
        print(f"{cell.spec:<26}{seed:>6}{a['Accuracy']:>14.4f}{b['Accuracy']:>14.4f}"
              f"{a['cpu_s']:>11.2f}{b['cpu_s']:>11.2f}")  # fmt: skip
    same = json.dumps(without_timing(here.to_dict()), sort_keys=True) == json.dumps(
        without_timing(there.to_dict()), sort_keys=True
    )
    print(f"\nevery number but the clocks identical (JSON of both grids): {same}")
    cpu_seq = sum(c.results.meta["cpu_s"] for c in here.done.values() if c.results)
    cpu_ray = sum(c.results.meta["cpu_s"] for c in there.done.values() if c.results)
    print(f"learners' CPU: sequential {cpu_seq:.1f} s, Ray (inside the tasks) {cpu_ray:.1f} s")
    print(
        f"wall: sequential {seq_wall:.1f} s, Ray {ray_wall:.1f} s: "
        f"ratio {seq_wall / ray_wall:.2f}x (with Ray's start: {seq_wall / (ray_wall + start):.2f}x)"
    )


if __name__ == "__main__":
    main()
