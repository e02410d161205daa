"""Reading Elec2 (the bundled gzipped CSV, 45,312 x 8) into arrays: tidal vs pandas vs numpy.

The figure that used to be a timed test (`test_elec2_reads_fast_and_matches_numpy`, 0.5 s); a
timed test fails on a loaded machine, so the times are printed here with the load average.
That the numbers read are numpy's is checked by `tests/stream/test_stream_readers.py`.

    python benchmarks/bench_io.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import time
from importlib import resources

import numpy as np
import pandas as pd

from tidal.stream import read_csv

ELEC2 = str(resources.files("tidal.datasets") / "elec2.csv.gz")


def best_of(repeat: int, fn) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    tidal = best_of(args.repeat, lambda: read_csv(ELEC2, target="up").arrays())
    pandas = best_of(args.repeat, lambda: pd.read_csv(ELEC2).to_numpy())
    numpy = best_of(args.repeat, lambda: np.loadtxt(ELEC2, delimiter=",", skiprows=1))
    for name, t in (("tidal read_csv", tidal), ("pandas read_csv", pandas), ("np.loadtxt", numpy)):
        print(f"{name:16s} {t * 1000:8.1f} ms  {45_312 / t:12,.0f} rows/s  x{numpy / t:5.1f} numpy")
    print(f"[goal: tidal < 0.5 s]  load {load:.1f} -> {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
