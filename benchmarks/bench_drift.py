"""Drift detectors: detection quality and speed against River 0.26.1 (prints tables; not a test).

Quality (tidal's array form, default parameters, 20 seeds): streams of error bits with one
change at row 5,000 of 10,000 — abrupt (rate 0.1 -> 0.4) or gradual (linear ramp 0.1 -> 0.4 over
rows 5,000..6,000). Delay = first alarm at or after the change (mean over the detected seeds);
missed = seeds without an alarm after the change; false alarms = alarms before the change, per
100,000 rows.

Speed: updates/s of tidal's array form (``update_many``, one compiled call), tidal's one-value
``update(x)`` loop and River's ``update(x)`` loop, interleaved (A B C A B C ...) on the same stream,
best of ``--repeat``; both loops read ``drift_detected`` after each update. "same" says whether all
three gave the same alarm rows. Compile time (numba cache load or compile) is reported separately.

ADWIN also runs on a real-valued stream (unit-variance Gaussian values whose mean moves by 1
every 5,000 rows), the kind of signal it is meant for besides error bits.

Run: ``.venv/bin/python benchmarks/bench_drift.py [--rows 50000] [--repeat 3] [--only ADWIN]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from river import drift as rdrift

from tidal import drift

DETECTORS = [
    ("ADWIN", drift.ADWIN, rdrift.ADWIN, {}),
    ("DDM", drift.DDM, rdrift.binary.DDM, {}),
    ("EDDM", drift.EDDM, rdrift.binary.EDDM, {}),
    ("HDDM_A", drift.HDDM_A, rdrift.binary.HDDMA, {}),
    ("HDDM_W", drift.HDDM_W, rdrift.binary.HDDMW, {}),
    ("PageHinkley", drift.PageHinkley, rdrift.PageHinkley, {}),
    ("KSWIN", drift.KSWIN, rdrift.KSWIN, {"seed": 42}),
]
CHANGE, LENGTH, SEEDS = 5_000, 10_000, 20


def change_stream(seed: int, gradual: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = np.arange(LENGTH)
    if gradual:
        p = np.interp(rows, [CHANGE, CHANGE + 1_000], [0.1, 0.4])
    else:
        p = np.where(rows < CHANGE, 0.1, 0.4)
    return (rng.random(LENGTH) < p).astype(np.float64)


def switching_bits(n: int, period: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    rate = np.where(np.arange(n) % (2 * period) < period, 0.1, 0.4)
    return (rng.random(n) < rate).astype(np.float64)


def shifting_gaussian(n: int, period: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(np.arange(n) // period % 2, 1.0)


def quality(make) -> list[str]:  # type: ignore[no-untyped-def]
    cells = []
    for gradual in (False, True):
        delays, missed, false_alarms = [], 0, 0
        for seed in range(SEEDS):
            alarms = make().update_many(change_stream(seed, gradual))
            false_alarms += int((alarms < CHANGE).sum())
            after = alarms[alarms >= CHANGE]
            if after.size:
                delays.append(int(after[0]) - CHANGE)
            else:
                missed += 1
        delay = f"{np.mean(delays):.0f}" if delays else "-"
        rate = false_alarms / (SEEDS * CHANGE) * 100_000
        cells += [delay, f"{missed}/{SEEDS}", f"{rate:.1f}"]
    return cells


def river_loop(det, xs: list[float]) -> list[int]:  # type: ignore[no-untyped-def]
    alarms = []
    for i, x in enumerate(xs):
        det.update(x)
        if det.drift_detected:
            alarms.append(i)
    return alarms


def speed(ours, theirs, params: dict, xs: np.ndarray, repeat: int) -> list[str]:  # type: ignore[no-untyped-def]
    xl = xs.tolist()
    best = [np.inf, np.inf, np.inf]
    results: list[list[int]] = [[], [], []]
    for _ in range(repeat):
        det = ours(**params)
        t = time.perf_counter()
        a = det.update_many(xs)
        best[0] = min(best[0], time.perf_counter() - t)
        results[0] = a.tolist()
        det = ours(**params)
        t = time.perf_counter()
        results[1] = river_loop(det, xl)
        best[1] = min(best[1], time.perf_counter() - t)
        det = theirs(**params)
        t = time.perf_counter()
        results[2] = river_loop(det, xl)
        best[2] = min(best[2], time.perf_counter() - t)
    rates = [len(xs) / b for b in best]
    same = results[0] == results[1] == results[2]
    return [
        f"{rates[0]:,.0f}",
        f"{rates[1]:,.0f}",
        f"{rates[2]:,.0f}",
        f"{rates[0] / rates[2]:.1f}x",
        f"{rates[1] / rates[2]:.2f}x",
        "yes" if same else "NO",
        str(len(results[2])),
    ]


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(c.rjust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000, help="rows of the speed stream")
    ap.add_argument("--kswin-rows", type=int, default=3_000, help="KSWIN's (River is slow)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="detector names (default: all)")
    args = ap.parse_args()
    names = [d[0] for d in DETECTORS]
    if args.only and set(args.only) - set(names):
        ap.error(f"--only {' '.join(args.only)}: expected names among {', '.join(names)}")
    detectors = [d for d in DETECTORS if not args.only or d[0] in args.only]

    t = time.perf_counter()
    for _, ours, _, params in detectors:
        ours(**params).update_many([0.0, 1.0])
        ours(**params).update(1.0)
    print(f"numba kernels ready in {time.perf_counter() - t:.2f} s (cache load or compile)\n")

    rows = [
        [name, *quality(lambda o=ours, p=params: o(**p))] for name, ours, _, params in detectors
    ]
    print("Detection quality (tidal, defaults; change at row 5,000 of 10,000, 20 seeds)")
    print(
        table(
            [
                "detector",
                "abrupt delay",
                "missed",
                "FA/100k",
                "gradual delay",
                "missed",
                "FA/100k",
            ],
            rows,
        )
    )

    rows = []
    for name, ours, theirs, params in detectors:
        if name == "KSWIN":
            xs = switching_bits(args.kswin_rows, 1_000)
        else:
            xs = switching_bits(args.rows, 5_000)
        rows.append([name, str(len(xs)), *speed(ours, theirs, params, xs, args.repeat)])
        if name == "ADWIN":
            xs = shifting_gaussian(args.rows, 5_000)
            speed_row = speed(ours, theirs, params, xs, args.repeat)
            rows.append(["ADWIN (gaussian)", str(len(xs)), *speed_row])
    print(
        f"\nSpeed (updates/s, best of {args.repeat}, interleaved; error bits whose rate switches"
        " between 0.1 and 0.4 every 5,000 rows, every 1,000 for KSWIN; ADWIN (gaussian): values"
        " whose mean switches between 0 and 1 every 5,000 rows)"
    )
    print(
        table(
            [
                "detector",
                "rows",
                "tidal array",
                "tidal update(x)",
                "River update(x)",
                "array/River",
                "update/River",
                "same alarms",
                "alarms",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
