"""Predict latency through the service while a batch model refits, per refit backend.

    .venv/bin/python benchmarks/bench_refit.py                  # process and thread backends
    .venv/bin/python benchmarks/bench_refit.py --seconds 30 --backends process

Each backend gets its own ``python -m tidal.service`` subprocess (loopback, no auth) with two
models: ``m``, a batch model (LightGBM by default, retrained every ``--every`` rows on a window
of ``--window`` rows), and ``side``, an online logistic regression. After ``m``'s first fit is
live, phases alternate (A B A B ...), each ``--seconds`` long:

* **no refits**: single-row predicts of ``m`` at a constant rate, and learns of ``--learn-rate``
  rows/s into ``side`` (the same HTTP learn load, no fit);
* **refits**: the same predicts, and the same learns into ``m`` itself, whose policy then
  refits continuously.

Predicts are sent open loop (request ``i`` at ``t0 + i / rate``, its latency measured from that
scheduled time, so a stalled server shows in the tail rather than slowing the generator). The
goal of issue 14: p99 during refits within 1.2x of p99 without, with ``refit = "process"``;
``refit = "thread"`` is the old in-process path (the learn that triggers a fit holds the
model's lock until the fit is live), shown for contrast. Every line ends with the load average.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

FEATURES = ("a", "b", "c", "d")
CONFIG = """
[service]
auth = false
refit = "{refit}"
snapshot_every = 1000000
snapshot_seconds = 3600.0
max_rows = 10000
log_level = "warning"

[models]
m = "{model}"
side = "lr"
"""


def _rows(n: int, seed: int) -> tuple[list[dict[str, float]], list[int]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(FEATURES))).round(6)
    y = (X[:, 0] - X[:, 1] + 0.5 * X[:, 2] * X[:, 3] > 0).astype(int)
    return [dict(zip(FEATURES, map(float, r))) for r in X], y.tolist()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def _refits(base: str) -> float:
    text = httpx.get(base + "/metrics", timeout=10).text
    m = re.search(r'^tidal_refits_total\{outcome="ok"\} ([0-9.e+]+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


class Server:
    def __init__(self, refit: str, model: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="tidal-bench-refit-"))
        (self.folder / "tidal.toml").write_text(CONFIG.format(refit=refit, model=model))
        port = _port()
        self.base = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "tidal.service", "--config", str(self.folder / "tidal.toml")]
        cmd += ["--data", str(self.folder / "data"), "--port", str(port)]
        self.proc = subprocess.Popen(cmd)
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the service did not start")
            time.sleep(0.1)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        shutil.rmtree(self.folder, ignore_errors=True)


def _learner(base: str, model: str, rate: float, stop: Any, sent: Any) -> None:
    """Send labelled rows to ``model`` at ``rate`` rows/s in batches of 200 (bodies encoded
    before the clock starts); count them in ``sent``. Runs in its own process, so that the
    predict loop's latency is not the learner's GIL wait."""
    batch = 200
    rows, labels = _rows(50 * batch, 1)
    bodies = [
        json.dumps({"items": [{"features": r, "label": y} for r, y in zip(rows[s:s + batch],
                                                                           labels[s:s + batch])]})
        for s in range(0, len(rows), batch)
    ]  # fmt: skip
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=base, timeout=600) as client:
        t0, i = time.perf_counter(), 0
        while not stop.is_set():
            wait = t0 + i * batch / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            r = client.post(f"/v1/models/{model}/learn", content=bodies[i % 50], headers=headers)
            r.raise_for_status()
            sent.value += batch
            i += 1


def phase(base: str, learn_into: str, seconds: float, rate: float, learn_rate: float) -> dict:
    ctx = multiprocessing.get_context("spawn")
    stop, sent = ctx.Event(), ctx.Value("q", 0)
    learner = ctx.Process(target=_learner, args=(base, learn_into, learn_rate, stop, sent))
    before = _refits(base)
    learner.start()
    probe = [json.dumps({"row": r}).encode() for r in _rows(1000, 99)[0]]
    headers = {"content-type": "application/json"}
    lat = []
    with httpx.Client(base_url=base, timeout=600) as client:
        t0 = time.perf_counter()
        for i in range(int(seconds * rate)):
            at = t0 + i / rate
            wait = at - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            r = client.post("/v1/models/m/predict", content=probe[i % 1000], headers=headers)
            r.raise_for_status()
            lat.append(time.perf_counter() - at)
        wall = time.perf_counter() - t0
    stop.set()
    learner.join()
    lat_ms = np.array(lat) * 1e3
    return {
        "p50": float(np.percentile(lat_ms, 50)),
        "p99": float(np.percentile(lat_ms, 99)),
        "max": float(lat_ms.max()),
        "predicts_s": len(lat) / wall,
        "learn_rows_s": sent.value / wall,
        "refits": _refits(base) - before,
    }


def run(args: argparse.Namespace, refit: str) -> dict[str, list[dict]]:
    server = Server(refit, args.model)
    try:
        rows, labels = _rows(args.every, 7)
        with httpx.Client(base_url=server.base, timeout=600) as c:
            items = [{"features": r, "label": y} for r, y in zip(rows, labels)]
            c.post("/v1/models/m/learn", json={"items": items}).raise_for_status()
            deadline = time.monotonic() + 300
            while refit != "thread" and _refits(server.base) < 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            c.post("/v1/models/m/predict", json={"row": rows[0]})  # puts the first fit live
        results: dict[str, list[dict]] = {"no refits": [], "refits": []}
        for _ in range(args.rounds):
            for name, into in (("no refits", "side"), ("refits", "m")):
                r = phase(server.base, into, args.seconds, args.rate, args.learn_rate)
                results[name].append(r)
                print(
                    f"  refit={refit:<7} {name:<9}: predict p50 {r['p50']:7.2f} ms  p99 "
                    f"{r['p99']:8.2f} ms  max {r['max']:8.1f} ms  {r['predicts_s']:6.1f} "
                    f"predicts/s  {r['learn_rows_s']:7.0f} learned rows/s  refits "
                    f"{r['refits']:.0f}  {_load()}",
                    flush=True,
                )
        return results
    finally:
        server.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backends", default="process,thread")
    p.add_argument("--model", default="", help="m's zoo spec (default: batch-lgbm, see --every)")
    p.add_argument("--every", type=int, default=2000)
    p.add_argument("--window", type=int, default=20000)
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--rate", type=float, default=100.0, help="predicts per second")
    p.add_argument("--learn-rate", type=float, default=2000.0, help="learned rows per second")
    args = p.parse_args()
    args.model = args.model or f"batch-lgbm:every={args.every}:window={args.window}"
    print(
        f"m = {args.model!r}; predicts {args.rate:g}/s single rows, learns "
        f"{args.learn_rate:g} rows/s; {args.rounds} x {args.seconds:g} s per phase; "
        f"{os.cpu_count()} cores shared by server, fits and load generators; {_load()}"
    )
    summary = []
    for refit in args.backends.split(","):
        res = run(args, refit)
        p99 = {k: float(np.median([r["p99"] for r in v])) for k, v in res.items()}
        refits = sum(r["refits"] for r in res["refits"])
        summary.append((refit, p99["no refits"], p99["refits"], refits))
    print("\nmedian p99 over rounds (goal with refit=process: refits / no refits <= 1.2):")
    for refit, base, during, refits in summary:
        done = f"{refits:.0f} refits counted" if refit != "thread" else "refits not counted"
        print(
            f"  refit={refit:<7} no refits {base:8.2f} ms  refits {during:8.2f} ms  ratio "
            f"{during / base:5.2f}x  ({done})"
        )


if __name__ == "__main__":
    main()
