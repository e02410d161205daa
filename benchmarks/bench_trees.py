"""Trees, forests and kNN: tidal vs River vs MOA (CapyMOA), prequential, in one run.

Streams: Elec2 and NOAA weather (the full files), and 100,000 rows of Agrawal (function 1 -> 3)
and SEA (threshold 8 -> 7, 10 % label noise), each with a concept drift in the middle (MOA's
sigmoid, width 1,000). Learners: Hoeffding tree, Hoeffding adaptive tree, adaptive random forest
(10 trees), leveraging bagging (10 trees), StandardScaler + kNN (window 1,000, 5 neighbours),
with the no-change and majority baselines beside them.

For each stream and learner the three libraries run interleaved (River, tidal, MOA, River,
tidal, MOA...) on exactly the same rows: learners that draw random numbers run once per seed
(``--seeds``, accuracy = mean, rows/s = median), the others ``--rounds`` times. Every run is a
fresh model, test-then-train on every row, one pass.

- tidal: ``step_many`` on blocks of ``--block`` rows (each row predicted before it is learned);
  numba kernels are compiled or loaded from the cache before any timing. Peak memory is a
  separate run under tracemalloc; model bytes are the arrays of its ``state_dict()``.
- River 0.26.1: ``predict_one`` then ``learn_one``, rows as prepared dicts. River's ARF and
  bagging run ~1,000 rows/s, so by default River runs the real files in full and only the
  first ``--river-rows`` rows of the synthetic streams; its accuracy there is compared with
  tidal's and MOA's on the same first rows. Model bytes: River's own ``_raw_memory_usage``.
- MOA: CapyMOA 0.15.1 in its own venv (its pins clash with tidal's; created on first use
  under ``~/.cache/tidal/moa-venv``), driven through ``benchmarks/_moa_runner.py``: MOA's
  Java-side prequential loop over rows held in memory, timed around that one call (no
  per-row Python <-> Java bridging, no JVM start, after an untimed JIT warm-up). Without
  Java or the venv the benchmark says why and leaves the MOA columns empty.

    .venv/bin/python benchmarks/bench_trees.py [--quick] [--seeds 5] [--json out.json]
        [--streams elec2,weather,agrawal,sea] [--learners ht,hat,arf,lbag,knn]
        [--river-rows 20000] [--river-seeds 1] [--no-moa] [--moa-config capymoa|moa]
        [--threads N] [--clock wall|cpu]
    .venv/bin/python benchmarks/bench_trees.py --from-json out.json [--clock cpu]

rows/s are per wall-clock second by default; ``--clock cpu`` divides by the process's CPU time
instead (all its threads: numba's for tidal's ensembles, the JIT and GC threads for MOA), which
is steadier on a shared machine. Both are in the JSON; ``--from-json`` re-prints a saved run.
A full default run takes ~15-25 minutes on 2 busy cores (River's bagging dominates); ``--quick``
(2 seeds, 20,000 synthetic rows, River on 5,000 rows of every stream) ~5.

Targets (issue 3): rows/s >= 20x River and >= 2x MOA; accuracy >= max(River, MOA) - 0.01.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
MOA_VENV = Path(os.environ.get("TIDAL_MOA_VENV", Path.home() / ".cache/tidal/moa-venv"))
CAPYMOA = "capymoa==0.15.1"
RANDOM = {"hat", "arf", "lbag"}  # learners that draw random numbers: mean over seeds
MOA_NAME = {"ht": "HT", "hat": "HAT", "arf": "ARF", "lbag": "LB", "knn": "KNN"}
LABEL = {
    "ht": "HT",
    "hat": "HAT",
    "arf": "ARF(10)",
    "lbag": "LB(10)",
    "knn": "kNN(w1000)",
    "nochange": "no-change",
    "majority": "majority",
}


# ---------------------------------------------------------------------------------- streams
@dataclass
class Stream:
    name: str
    X: np.ndarray
    y: np.ndarray
    features: tuple[str, ...]
    synthetic: bool
    about: str
    arff: Path | None = None
    dicts: list[dict] = field(default_factory=list)


def load_streams(names: list[str], n_synth: int) -> list[Stream]:
    from tidal import datasets
    from tidal.stream.synth import SEA, Agrawal, ConceptDrift

    out = []
    for name in names:
        if name in ("elec2", "weather"):
            src = getattr(datasets, name)()
            X, y = src.arrays()
            out.append(Stream(name, X, y, tuple(src.feature_names), False, f"{name}.csv, full"))
            continue
        mid = n_synth // 2
        if name == "agrawal":
            gen = ConceptDrift(
                Agrawal(classification_function=0, perturbation=0.05, seed=1),
                Agrawal(classification_function=2, perturbation=0.05, seed=2),
                position=mid,
                width=1000,
                seed=3,
            )
            about = f"Agrawal F1 -> F3 at {mid:,} (width 1,000), perturbation 0.05"
        elif name == "sea":
            gen = ConceptDrift(
                SEA(variant=0, noise=0.1, seed=1),
                SEA(variant=2, noise=0.1, seed=2),
                position=mid,
                width=1000,
                seed=3,
            )
            about = f"SEA threshold 8 -> 7 at {mid:,} (width 1,000), 10 % noise"
        else:
            raise SystemExit(
                f"--streams: unknown stream {name!r}; expected elec2, weather, agrawal or sea"
            )
        X, y = gen.take(n_synth).arrays()
        out.append(Stream(name, X, y.astype(np.int64), tuple(gen.feature_names), True, about))
    return out


def write_arff(s: Stream, folder: Path) -> Path:
    """The stream as ARFF (17 significant digits: MOA reads back the same doubles)."""
    path = folder / f"{s.name}.arff"
    with path.open("w") as f:
        f.write(f"@relation {s.name}\n")
        for c in s.features:
            f.write(f"@attribute {c} numeric\n")
        f.write("@attribute class {0,1}\n@data\n")
        table = np.column_stack([s.X, s.y])
        np.savetxt(f, table, fmt=["%.17g"] * s.X.shape[1] + ["%d"], delimiter=",")
    return path


# ---------------------------------------------------------------------------------- learners
def tidal_model(name: str, seed: int) -> Any:
    from tidal import zoo

    if name == "knn":  # the zoo's knn has no scaler in front; River's reference has one
        from tidal.neighbors import KNNClassifier
        from tidal.preprocessing import StandardScaler

        return StandardScaler() | KNNClassifier(n_neighbors=5, window_size=1000)
    return zoo.make(f"{name}:seed={seed}" if name in RANDOM else name)


def river_model(name: str, seed: int) -> Any:
    from river import ensemble, forest, neighbors, preprocessing, tree

    if name == "ht":
        return tree.HoeffdingTreeClassifier()
    if name == "hat":
        return tree.HoeffdingAdaptiveTreeClassifier(seed=seed)
    if name == "arf":
        return forest.ARFClassifier(n_models=10, seed=seed)
    if name == "lbag":
        return ensemble.LeveragingBaggingClassifier(
            model=tree.HoeffdingTreeClassifier(), n_models=10, seed=seed
        )
    if name == "knn":  # exact search, the same model as tidal's (River's default is SWINN)
        engine = neighbors.LazySearch(window_size=1000)
        return preprocessing.StandardScaler() | neighbors.KNNClassifier(5, engine=engine)
    raise ValueError(name)


def array_bytes(obj: Any) -> int:
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, dict):
        return sum(array_bytes(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return sum(array_bytes(v) for v in obj)
    return 0


# ---------------------------------------------------------------------------------- runners
@dataclass
class Run:
    system: str
    seed: int
    rows: int
    seconds: float
    cpu_seconds: float
    correct: np.ndarray  # 1 where the prediction made before learning the row was right
    model_bytes: int | None = None

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean())

    def prefix(self, n: int) -> float:
        return float(self.correct[:n].mean())


def run_tidal(name: str, s: Stream, seed: int, block: int) -> Run:
    model = tidal_model(name, seed)
    X, y = s.X, s.y
    correct = np.empty(len(y), dtype=bool)
    t, c = time.perf_counter(), time.process_time()
    for i in range(0, len(y), block):
        # the first rows may be predicted as None (no class seen yet): an object array
        correct[i : i + block] = (
            model.step_many(X[i : i + block], y[i : i + block]) == y[i : i + block]
        )
    dt, dc = time.perf_counter() - t, time.process_time() - c
    size = array_bytes(model.state_dict()["state"])
    return Run("tidal", seed, len(y), dt, dc, correct, size)


def run_river(name: str, s: Stream, seed: int, rows: int) -> Run:
    model = river_model(name, seed)
    labels = s.y[:rows].tolist()
    pred = []
    t, c = time.perf_counter(), time.process_time()
    for x, label in zip(s.dicts[:rows], labels):
        pred.append(model.predict_one(x))
        model.learn_one(x, label)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    correct = np.array([p == q for p, q in zip(pred, labels)])
    return Run("River", seed, rows, dt, dc, correct, int(model._raw_memory_usage))


def peak_mib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


class Moa:
    """The MOA runner subprocess (one JVM for the whole benchmark)."""

    def __init__(self, config: str, folder: Path) -> None:
        self.config, self.folder, self.proc = config, folder, None
        self.why_not = ""
        self.info: dict[str, Any] = {}

    def start(self) -> bool:
        if shutil.which("java") is None:
            self.why_not = "no `java` on PATH (MOA needs Java 11+)"
            return False
        python = MOA_VENV / "bin" / "python"
        if not python.exists() and not self._create_venv(python):
            return False
        log = (self.folder / "moa-stderr.log").open("w")
        self.proc = subprocess.Popen(
            [str(python), str(HERE / "_moa_runner.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        self.info = self._reply()
        if not self.info.get("ready"):
            self.why_not = f"the MOA runner did not start: {self.info.get('error')}; see {log.name}"
            self.proc = None
            return False
        return True

    def _reply(self) -> dict[str, Any]:
        """The next JSON line of the runner (the JVM may print other lines on stdout)."""
        while line := self.proc.stdout.readline():
            if line.startswith("{"):
                return json.loads(line)
        return {"error": "the MOA runner exited"}

    def _create_venv(self, python: Path) -> bool:
        base = shutil.which("python3.11") or sys.executable
        print(f"creating the MOA venv {MOA_VENV} ({CAPYMOA}); once, ~1 min", flush=True)
        try:
            subprocess.run([base, "-m", "venv", str(MOA_VENV)], check=True, timeout=300)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", CAPYMOA],
                check=True,
                timeout=900,
                capture_output=True,
                text=True,
            )
        except (subprocess.SubprocessError, OSError) as err:
            tail = getattr(err, "stderr", "") or ""
            self.why_not = f"could not create the MOA venv at {MOA_VENV}: {err} {tail[-300:]}"
            shutil.rmtree(MOA_VENV, ignore_errors=True)
            return False
        return True

    def run(self, name: str, s: Stream, seed: int) -> Run | None:
        if self.proc is None:
            return None
        out = self.folder / f"moa-pred-{s.name}-{name}-{seed}.npy"
        req = {
            "arff": str(s.arff),
            "learner": MOA_NAME[name],
            "seed": seed,
            "config": self.config,
            "predictions": str(out),
        }
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
        except OSError as err:  # the runner died: carry on without MOA
            print(f"  MOA runner gone ({err}); the remaining rows have no MOA columns")
            self.proc = None
            return None
        reply = self._reply()
        if "error" in reply:
            print(f"  MOA {name} on {s.name}: {reply['error']}", flush=True)
            return None
        self.info.setdefault("cli", {})[name] = reply["cli"]
        correct = np.load(out) == s.y
        if abs(correct.mean() - reply["accuracy"]) > 1e-12:  # MOA read other labels than ours
            raise SystemExit(f"MOA's labels of {s.arff} differ from the stream's")
        return Run(
            "MOA",
            seed,
            reply["rows"],
            reply["seconds"],
            reply["cpu_seconds"],
            correct,
            reply.get("model_bytes"),
        )

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.write('{"quit": true}\n')
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


# ---------------------------------------------------------------------------------- bench
def bench_one(
    name: str, s: Stream, args: argparse.Namespace, moa: Moa, river_rows: int
) -> dict[str, Any]:
    random = name in RANDOM
    seeds = list(range(args.seeds)) if random else list(range(args.rounds))
    runs: dict[str, list[Run]] = {"tidal": [], "River": [], "MOA": []}
    baseline = name in ("nochange", "majority")
    for i, seed in enumerate(seeds):
        if not baseline and i < args.river_seeds:  # River is slow: fewer runs
            runs["River"].append(run_river(name, s, seed, river_rows))
        runs["tidal"].append(run_tidal(name, s, seed, args.block))
        if not baseline and (m := moa.run(name, s, seed)) is not None:
            runs["MOA"].append(m)
    row: dict[str, Any] = {
        "stream": s.name,
        "learner": name,
        "rows": len(s.y),
        "river_rows": river_rows,
        "seeds": len(seeds) if random else 1,
    }
    for system, rs in runs.items():
        if not rs:
            continue
        row[system] = {
            "rows_per_s": statistics.median(r.rows / r.seconds for r in rs),
            "rows_per_cpu_s": statistics.median(r.rows / r.cpu_seconds for r in rs),
            "accuracy": statistics.mean(r.accuracy for r in rs),
            "accuracy_first_river_rows": statistics.mean(r.prefix(river_rows) for r in rs),
            "runs": len(rs),
            "model_bytes": rs[0].model_bytes,
        }
    if not baseline:
        row["tidal"]["peak_mib"] = peak_mib(lambda: run_tidal(name, s, 0, args.block))
    return row


def gap(row: dict[str, Any]) -> float | None:
    """tidal's accuracy minus the better of River's and MOA's, each on the rows it was run on."""
    t = row["tidal"]
    gaps = []
    if "River" in row:
        gaps.append(t["accuracy_first_river_rows"] - row["River"]["accuracy_first_river_rows"])
    if "MOA" in row:
        gaps.append(t["accuracy"] - row["MOA"]["accuracy"])
    return min(gaps) if gaps else None


def fmt(v: float | None, spec: str, width: int) -> str:
    return f"{'-' if v is None else format(v, spec):>{width}}"


def print_table(rows: list[dict[str, Any]], rate: str = "rows_per_s") -> None:
    head = (
        f"{'stream':<8}{'learner':<11}{'tidal r/s':>11}{'River r/s':>10}{'MOA r/s':>10}"
        f"{'xRiver':>8}{'xMOA':>7}{'acc tidal':>10}{'t@Riv':>8}{'River':>7}{'MOA':>8}{'gap':>6}"
        f"{'tidal MiB':>10}{'model KiB':>10}{'River KiB':>10}{'MOA KiB':>9}  targets"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        t, r, m = row["tidal"], row.get("River"), row.get("MOA")
        x_r = t[rate] / r[rate] if r else None
        x_m = t[rate] / m[rate] if m else None
        capped = r is not None and row["river_rows"] < row["rows"]
        g = gap(row)
        flags = []
        if x_r is not None:
            flags.append("R" + ("+" if x_r >= 20 else "-"))
        if x_m is not None:
            flags.append("M" + ("+" if x_m >= 2 else "-"))
        if g is not None:
            flags.append("A" + ("+" if g >= -0.01 else "-"))
        print(
            f"{row['stream']:<8}{LABEL[row['learner']]:<11}{t[rate]:>11,.0f}"
            f"{fmt(r and r[rate], ',.0f', 10)}{fmt(m and m[rate], ',.0f', 10)}"
            f"{fmt(x_r, '.1f', 7)}x{fmt(x_m, '.1f', 6)}x{t['accuracy']:>10.4f}"
            f"{fmt(t['accuracy_first_river_rows'] if capped else None, '.4f', 8)}"
            f"{fmt(r and r['accuracy'], '.4f', 7)}{'*' if capped else ' '}"
            f"{fmt(m and m['accuracy'], '.4f', 7)}{fmt(g and 100 * g, '+.1f', 6)}"
            f"{fmt(t.get('peak_mib'), '.1f', 10)}{fmt(t['model_bytes'] / 1024, ',.0f', 10)}"
            f"{fmt(r and r['model_bytes'] / 1024, ',.0f', 10)}"
            f"{fmt(m and m.get('model_bytes') and m['model_bytes'] / 1024, ',.0f', 9)}"
            f"  {' '.join(flags)}"
        )


def report(meta: dict[str, Any], rows: list[dict[str, Any]], clock: str = "wall") -> None:
    a = meta["args"]
    random = ", ".join(LABEL[x] for x in sorted(RANDOM & {r["learner"] for r in rows}))
    print(
        f"prequential, one pass; random learners ({random or 'none'}): tidal and MOA mean over "
        f"{a['seeds']} seeds, River over {a['river_seeds']}; others: median of {a['rounds']} runs"
    )
    rate = "rows_per_s" if clock == "wall" else "rows_per_cpu_s"
    print_table(rows, rate)
    print(
        f"r/s: rows per {clock}-clock second (median; cpu: the process's CPU time, all its "
        "threads); xRiver, xMOA: tidal's rows/s over theirs; "
        "gap: tidal minus the better of River and MOA, in accuracy points, on the same rows"
    )
    capped = {r["stream"]: r["river_rows"] for r in rows if r["river_rows"] < r["rows"]}
    if capped:
        print(
            "*: River ran only the first rows ("
            + ", ".join(f"{k} {v:,}" for k, v in capped.items())
            + "): its rows/s and accuracy are on those; t@Riv is tidal's accuracy on the same rows"
        )
    print("targets: R+ >= 20x River, M+ >= 2x MOA, A+ accuracy >= best of River/MOA - 1 point")
    met = {"R": [0, 0], "M": [0, 0], "A": [0, 0]}
    for row in rows:
        t, g = row["tidal"], gap(row)
        for key, ok in (
            ("R", "River" in row and t[rate] >= 20 * row["River"][rate]),
            ("M", "MOA" in row and t[rate] >= 2 * row["MOA"][rate]),
            ("A", g is not None and g >= -0.01),
        ):
            known = {"R": "River" in row, "M": "MOA" in row, "A": g is not None}[key]
            met[key][0] += bool(ok)
            met[key][1] += known
    print(
        "targets met: "
        + ", ".join(
            f"{name} {met[k][0]}/{met[k][1]}"
            for k, name in (("R", "20x River"), ("M", "2x MOA"), ("A", "accuracy"))
        )
    )
    print(
        "tidal MiB: peak traced by tracemalloc over a full run (seed 0); model KiB: the bytes "
        "of tidal's state arrays at the end (their capacity, not only the rows in use); River "
        "KiB: River's _raw_memory_usage at the end (it does not see inside River's Rust ADWIN); "
        "MOA KiB: the learner's Java serialization at the end"
    )
    print(
        "memory bounds: trees stop growing at max_size (River's estimate, per tree), HAT drops "
        "replaced branches, kNN holds its window; each HAT node's ADWIN is a fixed 6.6 KiB"
    )
    print(
        "kNN: tidal and River StandardScaler | exact kNN (River LazySearch, 5 neighbours), "
        "MOA kNN (5 neighbours, no scaler in front: its Euclidean distance scales each feature "
        "by its min-max range over the window); River's HAT bootstraps like tidal's"
    )
    print(
        f"threads: tidal {meta.get('numba_threads', '?')} numba threads on {meta.get('cpus', '?')}"
        " CPUs (the ensembles update their members in parallel); River and MOA one thread"
    )
    moa = meta["moa"]
    if moa.get("ready"):
        print(
            f"MOA: CapyMOA {moa['capymoa']}, Java {moa['java']}, {a['moa_config']} defaults; "
            "loop: EfficientEvaluationLoops.PrequentialEvaluation (Java-side, rows in memory), "
            "timed around that one call, after an untimed JIT warm-up"
        )
        for name, cli in moa.get("cli", {}).items():
            print(f"  MOA {name}: {cli}")
    else:
        print(f"MOA: not run ({meta['moa_not_run']})")
    print(
        "first call (numba compile or cache load), s: "
        + ", ".join(f"{k} {v:.2f}" for k, v in meta["first_call_s"].items())
    )
    lo, l1 = meta["load_start"], meta["load_end"]
    print(
        f"load average: start {lo[0]:.2f} {lo[1]:.2f} {lo[2]:.2f}, "
        f"end {l1[0]:.2f} {l1[1]:.2f} {l1[2]:.2f}; {meta['time']}, "
        f"{meta.get('minutes', float('nan')):.1f} min"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", default="elec2,weather,agrawal,sea")
    ap.add_argument("--learners", default="ht,hat,arf,lbag,knn")
    ap.add_argument("--seeds", type=int, default=5, help="runs of the random learners")
    ap.add_argument("--river-seeds", type=int, default=1, help="River's runs of each learner")
    ap.add_argument("--rounds", type=int, default=2, help="runs of the deterministic learners")
    ap.add_argument("--synth-rows", type=int, default=100_000)
    ap.add_argument("--river-rows", type=int, default=20_000, help="River's rows, synthetic")
    ap.add_argument("--river-real-rows", type=int, default=0, help="River's rows, real (0: all)")
    ap.add_argument("--block", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=0, help="numba threads for tidal (0: default)")
    ap.add_argument("--no-moa", action="store_true")
    ap.add_argument(
        "--moa-config",
        choices=["capymoa", "moa"],
        default="capymoa",
        help="capymoa's wrapper defaults (the reference numbers) or MOA's own",
    )
    ap.add_argument("--quick", action="store_true", help="2 seeds, 20k synthetic, River 5k rows")
    ap.add_argument("--json", type=Path, help="write the table and the settings here")
    ap.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall", help="rows/s per wall or CPU second"
    )
    ap.add_argument("--from-json", type=Path, help="only print the table of an earlier --json")
    args = ap.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        report(saved["meta"], saved["rows"], args.clock)
        return
    t0 = time.perf_counter()
    if args.quick:
        args.seeds, args.rounds, args.synth_rows = 2, 1, 20_000
        args.river_rows = args.river_real_rows = 5_000
    for opt in ("seeds", "river_seeds", "rounds", "synth_rows", "river_rows", "block"):
        if getattr(args, opt) < 1:
            raise SystemExit(f"--{opt.replace('_', '-')} == {getattr(args, opt)}, must be >= 1")
    learners = [x.strip() for x in args.learners.split(",")]
    bad = [x for x in learners if x not in MOA_NAME]
    if bad:
        raise SystemExit(f"--learners: unknown {bad[0]!r}; expected some of {', '.join(MOA_NAME)}")
    import numba

    if args.threads:
        numba.set_num_threads(args.threads)
    load0 = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="bench_trees_"))
    streams = load_streams([x.strip() for x in args.streams.split(",")], args.synth_rows)
    moa = Moa(args.moa_config, folder)
    if args.no_moa:
        moa.why_not = "--no-moa"
    elif moa.start():
        for s in streams:
            s.arff = write_arff(s, folder)
    print(f"load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    print("MOA: " + ("running" if moa.proc else f"not run ({moa.why_not})"), flush=True)

    compile_s = {}
    for name in learners + ["nochange", "majority"]:
        t = time.perf_counter()
        tidal_model(name, 0).learn_many(streams[0].X[:50], streams[0].y[:50])
        compile_s[name] = time.perf_counter() - t  # numba: compile, or load the on-disk cache
    rows = []
    for s in streams:
        s.dicts = [dict(zip(s.features, r)) for r in s.X.tolist()]
        cap = args.river_rows if s.synthetic else (args.river_real_rows or len(s.y))
        cap = min(cap, len(s.y))
        print(f"{s.name}: {len(s.y):,} rows ({s.about}); River on {cap:,}", flush=True)
        for name in learners + ["nochange", "majority"]:
            rows.append(bench_one(name, s, args, moa, cap))
            t = rows[-1]["tidal"]
            print(
                f"  {name:<9} tidal {t['rows_per_s']:>10,.0f} r/s  acc {t['accuracy']:.4f}",
                flush=True,
            )
    moa.close()
    load1 = os.getloadavg()
    meta = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "moa": moa.info,
        "moa_not_run": moa.why_not,
        "load_start": load0,
        "load_end": load1,
        "first_call_s": compile_s,
        "numba_threads": numba.get_num_threads(),
        "cpus": os.cpu_count(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "minutes": (time.perf_counter() - t0) / 60,
    }
    for row in rows:
        row["gap"] = gap(row)
    print()
    report(meta, rows, args.clock)
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
        print(f"wrote {args.json}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
