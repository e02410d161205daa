"""Hoeffding tree on Elec2: tidal vs River, prequential (test-then-train), one pass.

Runs are interleaved (River, tidal, River, tidal...) on the same stream; rows/s are medians.
Peak memory is measured in separate runs under tracemalloc (numpy arrays are traced too).
Baselines: no-change (previous label) and majority class. MOA (through capymoa) is run only
when capymoa imports in this interpreter; otherwise its published number on this file is shown.

    .venv/bin/python benchmarks/bench_trees.py [--rounds 2] [--block 4096]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from tidal.dummy import MajorityClassifier, NoChangeClassifier
from tidal.tree import HoeffdingTreeClassifier

SHARED = Path("/work/shared/data/elec2.csv")
MOA_REFERENCE = 0.789  # CapyMOA 0.15.1 on this file (/work/shared/data/README.md)


def load() -> tuple[pd.DataFrame, np.ndarray]:
    import tidal

    for path in (SHARED, Path(tidal.__file__).parent / "datasets" / "elec2.csv.gz"):
        if path.exists():
            df = pd.read_csv(path)
            return df.drop(columns="up"), df["up"].to_numpy()
    raise SystemExit("Elec2 not found")


def run_river(X: pd.DataFrame, y: np.ndarray) -> tuple[float, float]:
    from river import tree

    rows = X.to_dict(orient="records")
    model = tree.HoeffdingTreeClassifier()
    t = time.perf_counter()
    correct = 0
    for x, label in zip(rows, y.tolist()):
        correct += model.predict_one(x) == label
        model.learn_one(x, label)
    return time.perf_counter() - t, correct / len(y)


def run_tidal(model, X: np.ndarray, y: np.ndarray, block: int) -> tuple[float, float]:  # noqa: ANN001
    t = time.perf_counter()
    correct = 0
    for s in range(0, len(y), block):
        pred = model.step_many(X[s : s + block], y[s : s + block])
        correct += int((pred == y[s : s + block]).sum())
    return time.perf_counter() - t, correct / len(y)


def peak_mib(fn) -> float:  # noqa: ANN001
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def run_moa(X: pd.DataFrame, y: np.ndarray) -> float | None:
    try:
        from capymoa.classifier import HoeffdingTree
        from capymoa.stream import NumpyStream
    except Exception:
        return None
    stream = NumpyStream(X.to_numpy(), y.astype(int), target_type="categorical")
    learner = HoeffdingTree(schema=stream.get_schema())
    correct = 0
    while stream.has_more_instances():
        inst = stream.next_instance()
        correct += learner.predict(inst) == inst.y_index
        learner.train(inst)
    return correct / len(y)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--block", type=int, default=4096)
    args = ap.parse_args()
    Xf, y = load()
    X = Xf.to_numpy()
    n = len(y)

    t = time.perf_counter()
    HoeffdingTreeClassifier().learn_many(X[:10], y[:10])
    first_call = time.perf_counter() - t  # numba: compile, or load from the on-disk cache

    river_t, tidal_t = [], []
    river_acc = tidal_acc = float("nan")
    for _ in range(args.rounds):
        dt, river_acc = run_river(Xf, y)
        river_t.append(dt)
        dt, tidal_acc = run_tidal(HoeffdingTreeClassifier(), X, y, args.block)
        tidal_t.append(dt)
    river_rate = n / statistics.median(river_t)
    tidal_rate = n / statistics.median(tidal_t)

    river_mem = peak_mib(lambda: run_river(Xf, y))
    tidal_mem = peak_mib(lambda: run_tidal(HoeffdingTreeClassifier(), X, y, args.block))
    _, nochange = run_tidal(NoChangeClassifier(), X, y, args.block)
    _, majority = run_tidal(MajorityClassifier(), X, y, args.block)
    moa = run_moa(Xf, y)

    print(f"Elec2, {n:,} rows, prequential, HoeffdingTreeClassifier defaults, block {args.block}")
    print(f"{'learner':<28}{'rows/s':>12}{'accuracy':>10}{'peak MiB':>10}")
    print(f"{'River 0.26.1':<28}{river_rate:>12,.0f}{river_acc:>10.4f}{river_mem:>10.1f}")
    print(f"{'tidal':<28}{tidal_rate:>12,.0f}{tidal_acc:>10.4f}{tidal_mem:>10.1f}")
    moa_txt = f"{moa:.4f}" if moa is not None else f"{MOA_REFERENCE:.3f} (published, not run)"
    print(f"{'MOA (capymoa)':<28}{'':>12}{moa_txt:>10}")
    print(f"{'no-change baseline':<28}{'':>12}{nochange:>10.4f}")
    print(f"{'majority baseline':<28}{'':>12}{majority:>10.4f}")
    print(f"speed ratio tidal / River: {tidal_rate / river_rate:.1f}x")
    print(f"accuracy difference tidal - River: {tidal_acc - river_acc:+.4f}")
    print(f"first call (numba compile or cache load): {first_call:.2f} s")


if __name__ == "__main__":
    main()
