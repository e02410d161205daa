"""Hoeffding tree on Elec2: tidal vs River, prequential (test-then-train), one pass.

Runs are interleaved (River, tidal, River, tidal...) on the same stream; rows/s are medians.
Peak memory is measured in separate runs under tracemalloc (numpy arrays are traced too).
Baselines: no-change (previous label) and majority class. MOA (through capymoa) is run only
when capymoa imports in this interpreter; otherwise its published number on this file is shown.

    .venv/bin/python benchmarks/bench_trees.py [--rounds 2] [--block 4096]
        [--ensembles] [--seeds 5] [--river-rows 6000]

``--ensembles`` adds ARF (10 trees) and leveraging bagging (10 trees): tidal's accuracy is the
mean over ``--seeds`` seeds on the full stream, its rows/s the median over them; River's rows/s
is timed on the first ``--river-rows`` rows (a full River run takes minutes), and its accuracy
and MOA's are the reference numbers measured on this file (/work/shared/data/README.md).
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
# learner: (River accuracy, MOA accuracy) on this file, from /work/shared/data/README.md
ENSEMBLE_REFERENCE = {"ARF": (0.855, 0.876), "LeveragingBagging": (0.862, 0.862)}


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


def river_ensemble(name: str, X: pd.DataFrame, y: np.ndarray, rows: int) -> float:
    """River's rows/s on the first ``rows`` rows, prequential."""
    from river import ensemble, forest, tree

    if name == "ARF":
        model = forest.ARFClassifier(n_models=10, seed=42)
    else:
        model = ensemble.LeveragingBaggingClassifier(tree.HoeffdingTreeClassifier(), seed=42)
    data = X.iloc[:rows].to_dict(orient="records")
    t = time.perf_counter()
    for x, label in zip(data, y[:rows].tolist()):
        model.predict_one(x)
        model.learn_one(x, label)
    return rows / (time.perf_counter() - t)


def ensembles(Xf: pd.DataFrame, X: np.ndarray, y: np.ndarray, args: argparse.Namespace) -> None:
    from tidal.ensemble import ARFClassifier, LeveragingBaggingClassifier

    makers = {
        "ARF": lambda s: ARFClassifier(seed=s),
        "ARF max_features=4 (MOA's 60 %)": lambda s: ARFClassifier(max_features=4, seed=s),
        "LeveragingBagging": lambda s: LeveragingBaggingClassifier(seed=s),
    }
    for make in makers.values():
        make(0).learn_many(X[:10], y[:10])  # compile or load the kernels outside the timing
    print()
    print(f"Elec2, {len(y):,} rows, 10 members, tidal: mean over {args.seeds} seeds")
    head = f"{'learner':<34}{'rows/s':>10}{'River r/s':>11}{'ratio':>7}{'accuracy':>10}"
    print(head + f"{'River':>7}{'MOA':>7}{'peak MiB':>10}")
    river_rate: dict[str, float] = {}
    for name, make in makers.items():
        base = "ARF" if name.startswith("ARF") else name
        if base not in river_rate:
            river_rate[base] = river_ensemble(base, Xf, y, args.river_rows)
        runs = [run_tidal(make(seed), X, y, args.block) for seed in range(args.seeds)]
        rate = len(y) / statistics.median(dt for dt, _ in runs)
        acc = statistics.mean(a for _, a in runs)
        mem = peak_mib(lambda: run_tidal(make(0), X, y, args.block))  # noqa: B023
        r_acc, m_acc = ENSEMBLE_REFERENCE[base]
        print(
            f"{name:<34}{rate:>10,.0f}{river_rate[base]:>11,.0f}{rate / river_rate[base]:>6.1f}x"
            f"{acc:>10.4f}{r_acc:>7.3f}{m_acc:>7.3f}{mem:>10.1f}"
        )
    print(
        "claim: accuracy >= max(River, MOA) - 0.01; rows/s >= 20x River "
        f"(River timed on its first {args.river_rows:,} rows)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--block", type=int, default=4096)
    ap.add_argument("--ensembles", action="store_true", help="add ARF and leveraging bagging")
    ap.add_argument("--only-ensembles", action="store_true", help="skip the single tree")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--river-rows", type=int, default=6000)
    args = ap.parse_args()
    Xf, y = load()
    X = Xf.to_numpy()
    n = len(y)
    if args.only_ensembles:
        ensembles(Xf, X, y, args)
        return

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
    if args.ensembles:
        ensembles(Xf, X, y, args)


if __name__ == "__main__":
    main()
