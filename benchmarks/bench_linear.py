"""StandardScaler + LogisticRegression: tidal vs River vs scikit-learn, test-then-train.

Stream: 200,000 x 20 rotating hyperplane (two weights drift a little every row, 5% label noise)
with an abrupt concept change at row 100,000 (new weights), generated here with numpy.

* Throughput of tidal over the whole stream in blocks of 4,096 rows (``step_many``: predicted
  labels, as the issue measures it), best of a few passes, StandardScaler | LogisticRegression
  and LogisticRegression alone, with the load average at the time (the rows per CPU-second are
  the fairer number on a shared machine).
* The three libraries on the same window around the change (4,096 rows centred on it by
  default: scikit-learn's per-row ``partial_fit`` runs at a few hundred rows/s),
  interleaved chunk by chunk (tidal, River, sklearn, tidal, ...): samples/s, ratio to River,
  prequential accuracy before and after the change, and whether tidal's probabilities equal
  River's. scikit-learn runs ``SGDClassifier.partial_fit`` one row at a time after a
  ``StandardScaler.partial_fit`` (the closest it has to an online pipeline).
* Peak memory (tracemalloc) of each library on the window, measured in a separate untimed pass.
* numba compile time: the first tidal call on a 10-row array, before any timing. The kernels are
  compiled into a fresh cache directory unless ``--warm`` is given.

Run: ``.venv/bin/python benchmarks/bench_linear.py`` (about a minute on a quiet machine).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc

import numpy as np

MEMORY_ROWS = 512


def make_stream(n: int, d: int, change: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Rotating hyperplane (Hulten et al. 2001) with an abrupt change of weights at ``change``."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = np.empty(n, dtype=np.int64)
    for start, stop in [(0, change), (change, n)]:
        w = rng.random(d)
        m = stop - start
        # the first two weights drift by 0.001 a row; each direction flips with probability 0.1
        flips = np.where(rng.random((m, 2)) < 0.1, -1.0, 1.0)
        direction = np.cumprod(flips, axis=0)
        offset = 0.001 * (np.cumsum(direction, axis=0) - direction)  # weights before the move
        Xs = X[start:stop]
        score = Xs @ w + (Xs[:, :2] * offset).sum(axis=1)
        total = w.sum() + offset.sum(axis=1)
        y[start:stop] = score >= total / 2
    noise = rng.random(n) < 0.05
    y[noise] = 1 - y[noise]
    return X, y


class Tidal:
    name = "tidal"

    def __init__(self, scaler: bool = True):
        from tidal.linear_model import LogisticRegression

        if scaler:
            from tidal.preprocessing import StandardScaler

            self.model = StandardScaler() | LogisticRegression()
        else:
            self.model = LogisticRegression()

    def step(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.model.step_proba_many(X, y)[:, -1]

    def step_labels(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.model.step_many(X, y)


class River:
    name = "river"

    def __init__(self):
        from river import linear_model, preprocessing

        self.model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
        self.names = None

    def step(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        names = self.names or [f"x{j}" for j in range(X.shape[1])]
        self.names = names
        out = np.empty(len(y))
        model = self.model
        for i, (row, yi) in enumerate(zip(X.tolist(), y.tolist())):
            x = dict(zip(names, row))
            out[i] = model.predict_proba_one(x).get(True, 0.0)
            model.learn_one(x, bool(yi))
        return out


class Sklearn:
    name = "sklearn"

    def __init__(self):
        from sklearn.linear_model import SGDClassifier
        from sklearn.preprocessing import StandardScaler

        self.scaler = StandardScaler()
        self.clf = SGDClassifier(
            loss="log_loss", penalty=None, learning_rate="constant", eta0=0.01, random_state=0
        )
        self.fitted = False

    def step(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.empty(len(y))
        for i in range(len(y)):
            x = X[i : i + 1]
            if self.fitted:
                out[i] = self.clf.predict_proba(self.scaler.transform(x))[0, 1]
            else:
                out[i] = 0.5
            self.scaler.partial_fit(x)
            if self.fitted:
                self.clf.partial_fit(self.scaler.transform(x), y[i : i + 1])
            else:  # classes are required on the first call only
                self.clf.partial_fit(self.scaler.transform(x), y[i : i + 1], classes=[0, 1])
                self.fitted = True
        return out


def clock() -> np.ndarray:
    """Wall and CPU seconds: on a shared machine the CPU time of this process is the fairer
    measure of one core's throughput; both are printed."""
    return np.array([time.perf_counter(), time.process_time()])


def label_accuracy(labels: np.ndarray, y: np.ndarray) -> float:
    return float((labels == y).mean())


def accuracy(p: np.ndarray, y: np.ndarray) -> float:
    return float(((p > 0.5) == (y == 1)).mean())


def baselines(y: np.ndarray) -> tuple[float, float]:
    """Prequential accuracy of the majority class so far and of the previous label."""
    ones = np.cumsum(y) - y
    seen = np.arange(len(y))
    majority = np.where(ones * 2 > seen, 1, 0)
    previous = np.concatenate([[0], y[:-1]])
    return float((majority == y).mean()), float((previous == y).mean())


def peak_memory(make, X: np.ndarray, y: np.ndarray, block: int) -> float:
    system = make()
    tracemalloc.start()
    for a in range(0, len(y), block):
        system.step(X[a : a + block], y[a : a + block])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--block", type=int, default=4096)
    ap.add_argument(
        "--window", type=int, default=4096, help="rows around the change all three run on"
    )
    ap.add_argument("--chunk", type=int, default=1024, help="interleaving chunk in the window")
    ap.add_argument("--passes", type=int, default=3, help="tidal full-stream passes (best)")
    ap.add_argument("--warm", action="store_true", help="use the normal numba cache")
    args = ap.parse_args()
    if not args.warm:
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="tidal-bench-numba-")
    change = args.rows // 2
    X, y = make_stream(args.rows, args.features, change)

    t = time.perf_counter()
    Tidal().step(X[:10], y[:10])
    Tidal(scaler=False).step(X[:10], y[:10])
    compile_s = time.perf_counter() - t
    cache = "warm cache" if args.warm else "cold cache"
    print(f"numba: first calls (compile, {cache}) {compile_s:.2f} s")
    print(f"stream: {args.rows:,} x {args.features}, abrupt change at row {change:,}")

    # tidal on the whole stream ------------------------------------------------------------
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\n== tidal step_many over the whole stream, {args.block:,}-row blocks (load {load})")
    for label, scaler in [
        ("StandardScaler | LogisticRegression", True),
        ("LogisticRegression alone", False),
    ]:
        best, labels = np.array([np.inf, np.inf]), None
        for _ in range(args.passes):
            system = Tidal(scaler)
            t = clock()
            parts = [
                system.step_labels(X[a : a + args.block], y[a : a + args.block])
                for a in range(0, args.rows, args.block)
            ]
            best = np.minimum(best, clock() - t)
            labels = np.concatenate(parts)
        wall, cpu = args.rows / best / 1e6
        print(
            f"{label:36s} {wall:5.2f} M rows/s wall, {cpu:5.2f} M rows/CPU-s   accuracy "
            f"before {label_accuracy(labels[:change], y[:change]):.4f} after "
            f"{label_accuracy(labels[change:], y[change:]):.4f}"
        )
        if scaler:
            full_rate = args.rows / best
    maj, prev = baselines(y)
    print(f"{'baselines: majority / no-change':36s} {'':41s} accuracy {maj:.4f} / {prev:.4f}")

    # the three libraries on one window, interleaved ---------------------------------------
    lo = max(0, change - args.window // 2)
    hi = min(args.rows, lo + args.window)
    Xw, yw = X[lo:hi], y[lo:hi]
    makers = [Tidal, River, Sklearn]
    systems = [m() for m in makers]
    seconds = {s.name: np.zeros(2) for s in systems}
    probs = {s.name: [] for s in systems}
    for a in range(0, hi - lo, args.chunk):
        for s in systems:
            t = clock()
            p = s.step(Xw[a : a + args.chunk], yw[a : a + args.chunk])
            seconds[s.name] += clock() - t
            probs[s.name].append(p)
    probs = {k: np.concatenate(v) for k, v in probs.items()}
    mid = change - lo
    print(
        f"\n== rows {lo:,}-{hi:,} (change at {change:,}), fresh models, interleaved "
        f"by chunks of {args.chunk:,} rows"
    )
    river_rate = (hi - lo) / seconds["river"]
    header = f"{'library':8s} {'rows/s wall':>12s} {'rows/CPU-s':>12s} {'vs River':>9s} "
    print(header + f"{'acc before':>11s} {'acc after':>10s} {'peak MB':>8s}")
    for make in makers:
        name = make.name
        rate = (hi - lo) / seconds[name]
        mem = peak_memory(make, Xw[:MEMORY_ROWS], yw[:MEMORY_ROWS], args.block)
        print(
            f"{name:8s} {rate[0]:12,.0f} {rate[1]:12,.0f} {rate[1] / river_rate[1]:8.3g}x "
            f"{accuracy(probs[name][:mid], yw[:mid]):11.4f} "
            f"{accuracy(probs[name][mid:], yw[mid:]):10.4f} {mem:8.2f}"
        )
    diff = np.abs(probs["tidal"] - probs["river"]).max()
    same = int(((probs["tidal"] > 0.5) == (probs["river"] > 0.5)).sum())
    print(
        f"\ntidal vs River on the window: max |p_tidal - p_river| = {diff:.3g}, "
        f"same predicted label on {same:,}/{hi - lo:,} rows"
    )
    ratio = full_rate / river_rate
    print(
        f"tidal whole-stream pipeline rate / River window rate: {ratio[0]:,.0f}x wall, "
        f"{ratio[1]:,.0f}x CPU"
    )
    print(f"peak memory: tracemalloc over the first {MEMORY_ROWS} rows of the window")


if __name__ == "__main__":
    sys.exit(main())
