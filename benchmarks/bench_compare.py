"""`tidal compare` with its default models, cold and warm: wall time, rows/s, peak RSS.

Streams (issue 17):

- ``rbf``: RandomRBF from :mod:`tidal.stream.synth`, 581,012 rows x 54 features x 7 classes
  (the shape of the forest-cover CSV that stalled), written once to a CSV so that the run reads
  a file as a user's would;
- ``elec2``: the bundled Elec2 stream (45,312 rows), as ``tidal compare elec2``.

Each run is ``tidal compare FILE --target y --json out.json`` in a child process:

- cold: a fresh, empty numba cache folder (``TIDAL_NUMBA_CACHE_DIR``): every kernel compiles;
- warm: the same folder again: every kernel loads from the cache.

Printed per run: wall seconds of the child, warm-up (compile) seconds, peak RSS of the child
(``os.wait4``), and per learner its CPU seconds and rows per CPU second as the results table
quotes them; then per learner the CPU charged cold minus warm. The machine's load average is
printed with the figures: on a shared machine the wall times stretch with it, CPU seconds much
less.

Goals (issue 17): the 581k x 54 x 7 default compare under 3 minutes warm on 2 cores, peak RSS
under 1.5 GB, cold minus warm CPU charged to any learner under 5 %.

    .venv/bin/python benchmarks/bench_compare.py [--rows 581012] [--streams rbf,elec2]
        [--runs cold,warm] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def write_rbf_csv(path: Path, rows: int) -> None:
    """RandomRBF rows as CSV (3 decimals: a file of about 200 MB for 581k rows)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from tidal.stream.synth import RandomRBF

    gen = RandomRBF(n_classes=7, n_features=54, n_centroids=50, seed_model=1, seed_sample=2)
    names = [f"x{j}" for j in range(54)] + ["y"]
    schema = pa.schema([(n, pa.float64()) for n in names[:-1]] + [("y", pa.int64())])
    with pacsv.CSVWriter(str(path), schema) as out:
        for block in gen.take(rows).blocks(50_000):
            cols = [pa.array(np.round(block.X[:, j], 3)) for j in range(54)]
            cols.append(pa.array(np.asarray(block.y, dtype=np.int64)))
            out.write_table(pa.Table.from_arrays(cols, schema=schema))


def run_compare(data: str, target: str | None, out: Path, cache: Path) -> dict[str, Any]:
    """One ``tidal compare`` in a child process; its wall time, peak RSS and results."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["TIDAL_NUMBA_CACHE_DIR"] = str(cache)
    cmd = [sys.executable, "-m", "tidal.cli._app", "compare", data, "--json", str(out)]
    if target is not None:
        cmd += ["--target", target]
    start = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert child.stdout is not None
    log = child.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        print(log[-3000:])
        raise SystemExit(f"tidal compare exited with {child.returncode}")
    results = json.loads(out.read_text())
    return {"wall": wall, "rss_mb": usage.ru_maxrss / 1024, "results": results, "log": log}


def show(stream: str, run: str, r: dict[str, Any]) -> None:
    meta = r["results"]["meta"]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{stream} {run}: wall {r['wall']:.1f} s (warm-up/compile {meta.get('warmup_s', 0):.1f} s, "
        f"later compile {meta.get('compile_cpu_s', 0):.1f} CPU s), peak RSS {r['rss_mb']:.0f} MB, "
        f"rows {meta['data']['rows']:,}, loadavg {load}"
    )
    for row in r["results"]["results"]:
        rate = row.get("rows_per_s") or float("nan")
        print(
            f"  {row['learner']:<12} {row.get('status', '?'):<8} CPU {row['cpu_s']:8.2f} s  "
            f"{rate:>12,.0f} rows/CPU s"
        )


def compare_cpu(stream: str, cold: dict[str, Any], warm: dict[str, Any]) -> None:
    c = {r["learner"]: r["cpu_s"] for r in cold["results"]["results"]}
    w = {r["learner"]: r["cpu_s"] for r in warm["results"]["results"]}
    print(f"{stream}: CPU charged, cold - warm (goal: under 5 % of warm)")
    for name in c:
        d = c[name] - w[name]
        rel = d / w[name] * 100 if w[name] > 0 else float("nan")
        print(
            f"  {name:<12} cold {c[name]:8.2f}  warm {w[name]:8.2f}  "
            f"diff {d:+7.2f} s ({rel:+.1f} %)"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", type=int, default=581_012)
    p.add_argument("--streams", default="rbf,elec2")
    p.add_argument("--runs", default="cold,warm")
    p.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    args = p.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="bench-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "numba-cache"
    print(f"cpus {os.cpu_count()}, loadavg {os.getloadavg()}, work {work}")
    for stream in args.streams.split(","):
        if stream == "rbf":
            data, target = work / f"rbf_{args.rows}.csv", "y"
            if not data.exists():
                t = time.perf_counter()
                write_rbf_csv(data, args.rows)
                size = data.stat().st_size / 1e6
                print(f"wrote {data} ({size:.0f} MB) in {time.perf_counter() - t:.0f} s")
            spec: tuple[str, str | None] = (str(data), target)
        else:
            spec = (stream, None)
        done = {}
        for run in args.runs.split(","):
            if run == "cold" and cache.exists():
                import shutil

                shutil.rmtree(cache)
            done[run] = run_compare(spec[0], spec[1], work / f"{stream}_{run}.json", cache)
            show(stream, run, done[run])
        if "cold" in done and "warm" in done:
            compare_cpu(stream, done["cold"], done["warm"])


if __name__ == "__main__":
    main()
