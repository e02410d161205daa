"""Corruption benchmark of the guards: do they keep every learner within a point of clean data?

For each stream (weather, Elec2), seed and burst position: the schema is inferred from the first
5,000 clean rows; then 5 % of the later rows get one damaged cell each (NaN, a value 100
standard deviations out, text in a numeric column, an empty field; a quarter each) and 1,000
consecutive labels are flipped. The damaged stream goes through a CSV file and is read as
``tidal compare --schema`` reads it (types from the schema, bad cells kept for the guards), then
``prequential`` runs every learner behind the default guard. The clean stream runs without a
guard. Printed per learner: accuracy against the TRUE labels on the rows the guarded run scored,
clean vs guarded; then quarantine recall and false positives per damage kind, burst detection
delay, and false alarms per 100k rows on the clean streams (guard on, nothing damaged).

    python benchmarks/bench_guards.py            # reduced: weather, one seed, one burst (~1 min)
    python benchmarks/bench_guards.py --full     # both streams, 2 seeds x 2 burst positions

One burst starts 40 rows before a checkpoint, so its alarm comes in the engine's next piece and
every learner is rolled back; the other is caught inside the piece it started in.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tidal import datasets, zoo
from tidal.evaluate import prequential
from tidal.guards import Guard, Quarantine, Schema
from tidal.stream import read_csv

KINDS = ("nan", "far_out", "text", "empty")
LEARNERS = ("lr", "ht", "hat", "arf", "batch-lr")
BURST = 1_000


def _frame(name: str) -> pd.DataFrame:
    src = getattr(datasets, name)()
    X, y = src.arrays()
    d = pd.DataFrame(X, columns=list(src.feature_names))
    d["y"] = np.asarray(y).astype(int)
    return d


def _damage(d: pd.DataFrame, seed: int, burst: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    feats = [c for c in d.columns if c != "y"]
    n = len(d)
    pool = np.setdiff1d(np.arange(5_000, n), np.arange(burst, burst + BURST))
    rows = np.sort(rng.choice(pool, int(0.05 * n), replace=False))
    kind = rng.integers(0, len(KINDS), len(rows))
    col = rng.integers(0, len(feats), len(rows))
    mean, std = d[feats].mean().to_numpy(), d[feats].std().to_numpy()
    bad = d.astype(object)
    for r, k, c in zip(rows.tolist(), kind.tolist(), col.tolist()):
        bad.iat[r, c] = {
            "nan": "NaN",
            "far_out": float(mean[c] + rng.choice([-1, 1]) * 100 * std[c]),
            "text": str(rng.choice(["n/a?", "abc", "#REF!"])),
            "empty": "",
        }[KINDS[k]]
    bad.loc[burst : burst + BURST - 1, "y"] = 1 - d["y"].to_numpy()[burst : burst + BURST]
    return bad, rows, kind


def _run(source, guard, names) -> tuple[dict[str, np.ndarray], dict]:
    """Per learner, the prediction made for each stream row (None: not scored)."""
    n = source.n_rows
    preds = {m: np.full(n, None, dtype=object) for m in names}

    def hook(e):
        if e.y_pred is None:
            return
        rows = e.block.ids if e.block.ids is not None else e.block.start + np.arange(len(e.block))
        preds[e.name][np.asarray(rows, dtype=np.int64)] = e.y_pred

    learners = {m: zoo.make(m) for m in names}
    res = prequential(source, learners, guard=guard, callbacks=[hook], fingerprint=False)
    return preds, res.meta.get("guard") or {}


def _csv_source(frame: pd.DataFrame, folder: Path, feats: list[str]):
    path = folder / "stream.csv"
    frame.to_csv(path, index=False)
    return read_csv(path, target="y", numeric=feats, keep_bad=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    names = ["weather", "elec2"] if args.full else ["weather"]
    seeds = (0, 1) if args.full else (0,)
    learners = list(LEARNERS)
    print(f"learners: {', '.join(learners)}; accuracy against the TRUE labels")
    fa_rows = fa = 0
    for name in names:
        d = _frame(name)
        feats = [c for c in d.columns if c != "y"]
        schema = Schema.infer(d.iloc[:5_000], "y")
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            clean, clean_meta = _run(_csv_source(d, Path(tmp), feats), Guard(schema), learners)
            fa += len(clean_meta.get("bursts", []))
            fa_rows += len(d)
            plain, _ = _run(_csv_source(d, Path(tmp), feats), None, learners)
            print(f"{name}: clean runs {time.perf_counter() - t0:.0f} s")
        # 40 rows before a checkpoint: the alarm comes in the engine's next piece, so the
        # learners are rolled back; the other position is met inside one piece
        mid = len(d) // 2 // 1000 * 1000 - 40
        positions = (mid, int(len(d) * 0.8)) if args.full else (mid,)
        truth = d["y"].to_numpy()
        for seed in seeds:
            for burst in positions:
                bad, rows, kind = _damage(d, seed, burst)
                with tempfile.TemporaryDirectory() as tmp:
                    q = Quarantine(Path(tmp) / "q.sqlite")
                    t0 = time.perf_counter()
                    src = _csv_source(bad, Path(tmp), feats)
                    guarded, meta = _run(src, Guard(schema, quarantine=q), learners)
                    wall = time.perf_counter() - t0
                    caught = np.array(sorted({r["row"] for r in q.list()}), dtype=np.int64)
                    q.close()
                print(f"{name} seed {seed} burst at {burst:,} ({wall:.0f} s):")
                scored = np.array([p is not None for p in guarded[learners[0]]])
                for m in learners:
                    ok = scored & np.array([p is not None for p in plain[m]])
                    a_clean = float(np.mean(plain[m][ok] == truth[ok]))
                    a_guard = float(np.mean(guarded[m][ok] == truth[ok]))
                    print(
                        f"  {m:9s} clean {a_clean:.4f}  guarded {a_guard:.4f}  "
                        f"diff {100 * (a_guard - a_clean):+.2f} pts"
                    )
                damaged = np.zeros(len(d), bool)
                damaged[rows] = True
                hit = np.zeros(len(d), bool)
                hit[caught] = True
                for k, kname in enumerate(KINDS):
                    r = rows[kind == k]
                    print(f"  quarantine {kname:8s} recall {hit[r].mean():.4f} ({len(r)} rows)")
                print(f"  quarantine false positives {hit[~damaged].mean():.4%} of clean rows")
                near = [
                    b for b in meta["bursts"] if b["alarm"] >= burst and b["start"] < burst + BURST
                ]
                other = len(meta["bursts"]) - len(near)
                fa += other
                fa_rows += len(d) - BURST
                for b in near:
                    print(
                        f"  burst: start est {b['start'] - burst:+d}, alarm after "
                        f"{b['alarm'] - burst} rows, end est {b['end'] - burst - BURST:+d} "
                        f"(rows after the true end), rolled back {b['rolled_back']} learners"
                    )
                if not near:
                    print("  burst: NOT DETECTED")
    print(f"false alarms: {fa} in {fa_rows:,} rows = {1e5 * fa / fa_rows:.2f} per 100k rows")


if __name__ == "__main__":
    main()
