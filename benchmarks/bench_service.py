"""Benchmark the HTTP service on loopback: latency at a constant rate, batched throughput,
durable learning, and memory under a steady soak.

    .venv/bin/python benchmarks/bench_service.py              # 10-minute soak (issue 6)
    .venv/bin/python benchmarks/bench_service.py --minutes 1  # quick run

The service runs as ``python -m tidal.service`` in a subprocess (127.0.0.1, no auth, one model
``m`` = ``lr``). Load generators:

* constant rate (latency, soak): an open-loop asyncio generator in this process, over raw
  keep-alive HTTP/1.1 connections (:class:`RawClient`; httpx's per-request CPU would be taken
  from the server it measures). Request
  ``i`` is scheduled at ``t0 + i / rate`` whatever happened to earlier ones, and its latency is
  measured from that scheduled time, so a stalled server shows up in the tail instead of slowing
  the generator down (no coordinated omission; wrk cannot hold a constant rate, wrk2 is not in
  Debian). The latency includes the generator's own client-side time. The soak is one such
  loop for its whole length, mixing predicts, delayed labels and learns (see :func:`soak`);
  its latencies include predicts that wait for a learn's fsync (``durable_reads``);
* closed loop (batched predicts, learns): a few httpx clients back to back (its cost is
  spread over 1,000 rows per request);
* ``wrk`` (Debian package, with a Lua script for the POST body), if on PATH: the closed-loop
  ceiling of single-row predicts, for comparison.

Every line ends with the 1-minute load average: the 2 cores are shared with other work, and a
loaded machine shows in the tail first.

Targets (issues 6 and 12): p99 < 5 ms at 500 requests/s; >= 20,000 rows/s predicted in
batches; >= 30,000 durable learn events/s in batches (every item with an event id, as a
retrying client sends them); a wrong token secret under 1 ms of server CPU; start-to-ready
(the probe learn and predict included); RSS at the end within 20 % of RSS after the first
minute, with bounded models and retention bounds (pending_max, learned_ids_max, snapshots and
log compaction) set. ``--malloc-arena-max N`` starts the server with ``MALLOC_ARENA_MAX=N``
(glibc: fewer per-thread arenas, less fragmentation under the thread pool) to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

import httpx
import numpy as np

FEATURES = ("a", "b", "c", "d")
PREDICT = "/v1/models/m/predict"
LEARN = "/v1/models/m/learn"
CONFIG = """
[service]
auth = false
snapshot_every = 200000
snapshot_seconds = 5.0
pending_max = {pending_max}
pending_ttl = 120.0
learned_ids_max = {pending_max}
wal_segment_bytes = 4194304
max_rows = 10000
log_level = "warning"

[models]
m = "lr"
"""


def _rows(n: int, seed: int) -> tuple[list[dict[str, float]], list[int]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(FEATURES))).round(6)
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    return [dict(zip(FEATURES, map(float, r))) for r in X], y.tolist()


def _body(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _rss_kb(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load() -> str:
    """The 1-minute load average, printed next to every measurement: the cores are shared."""
    return f"[load {os.getloadavg()[0]:.1f}]"


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) * 1e3 if values else float("nan")


HEADERS = {"content-type": "application/json"}


# ---------------------------------------------------------------------- generators
class RawClient:
    """Keep-alive HTTP/1.1 connections to ``host:port``, one request at a time each, as many as
    are in flight. Raw asyncio streams cost the shared cores a fraction of what httpx does per
    request (about 1 ms of CPU), which would otherwise be taken from the server being measured."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, body: bytes) -> int:
        return (await self.request(path, body))[0]

    async def request(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST ``body`` to ``path``: (status, response body)."""
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        while self._idle:  # the server closes connections idle past its keep-alive timeout
            conn = self._idle.pop()
            try:
                return await self._exchange(conn, request)
            except (ConnectionError, asyncio.IncompleteReadError):
                conn[1].close()
        return await self._exchange(await asyncio.open_connection(self.host, self.port), request)

    async def _exchange(self, conn: Any, request: bytes) -> tuple[int, bytes]:
        reader, writer = conn
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
        body = await reader.readexactly(length)
        self._idle.append(conn)
        return status, body

    async def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


async def open_loop(
    client: RawClient, plan: list[tuple[str, bytes]], rate: float
) -> tuple[list[float], Counter[str], float]:
    """Send ``plan`` (path, body) at ``rate`` per second, open loop. Returns the latencies
    from each request's scheduled time, the errors by kind and the achieved send rate."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors: Counter[str] = Counter()

    async def send(path: str, body: bytes, scheduled: float) -> None:
        try:
            status = await client.post(path, body)
            if status != 200:
                errors[f"{path.rsplit('/', 1)[-1]} {status}"] += 1
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            errors[type(e).__name__] += 1
        latencies.append(loop.time() - scheduled)

    tasks = []
    start = loop.time() + 0.05
    for i, (path, body) in enumerate(plan):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(path, body, scheduled)))
    sent_rate = len(plan) / max(loop.time() - start, 1e-9)
    await asyncio.gather(*tasks)
    return latencies, errors, sent_rate


async def closed_loop(
    client: httpx.AsyncClient, path: str, body: Any, workers: int, seconds: float
) -> tuple[float, list[float]]:
    """``workers`` clients posting ``body`` (bytes, or an iterator of bodies: one each) back to
    back for ``seconds``: (requests per second, latencies), over the time until the last
    request came back."""
    t_start = time.perf_counter()
    deadline = t_start + seconds
    latencies: list[float] = []

    async def worker() -> None:
        while time.perf_counter() < deadline:
            content = body if isinstance(body, bytes) else next(body)
            t0 = time.perf_counter()
            r = await client.post(path, content=content, headers=HEADERS)
            r.raise_for_status()
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return len(latencies) / (time.perf_counter() - t_start), latencies


def server_p99(metrics_before: str, metrics_after: str, route: str) -> float:
    """The server-side p99 (ms, bucket upper bound) of ``route`` between two /metrics scrapes."""
    from prometheus_client.parser import text_string_to_metric_families

    def buckets(text: str) -> dict[float, float]:
        out: dict[float, float] = {}
        for fam in text_string_to_metric_families(text):
            if fam.name != "tidal_request_seconds":
                continue
            for s in fam.samples:
                if s.name.endswith("_bucket") and s.labels.get("route") == route:
                    out[float(s.labels["le"])] = s.value
        return out

    a, b = buckets(metrics_before), buckets(metrics_after)
    diff = sorted((le, b[le] - a.get(le, 0.0)) for le in b)
    if not diff or diff[-1][1] == 0:
        return float("nan")
    total = diff[-1][1]
    return next(le for le, c in diff if c >= 0.99 * total) * 1e3


def run_wrk(url: str, body: bytes, seconds: int) -> str | None:
    if shutil.which("wrk") is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = {json.dumps(body.decode())}\n"
        )
    try:
        out = subprocess.run(
            ["wrk", "-t1", "-c8", f"-d{seconds}s", "-s", fh.name, url],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
        ).stdout
    finally:
        os.unlink(fh.name)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    lat = re.search(r"Latency\s+(\S+)", out)
    return f"{float(rps.group(1)):,.0f} req/s, mean latency {lat.group(1)}" if rps and lat else out


# ---------------------------------------------------------------------- phases
async def bench(args: argparse.Namespace, base: str, port: int, pid: int) -> None:
    rows, labels = _rows(20_000, seed=1)
    raw = RawClient("127.0.0.1", port)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        items = [{"features": r, "label": y} for r, y in zip(rows[:2000], labels[:2000])]
        (
            await client.post(LEARN, content=_body({"items": items}), headers=HEADERS)
        ).raise_for_status()

        # 1. latency at constant rates, single-row predicts
        for rate in (float(r) for r in args.rate.split(",")):
            n = int(rate * args.latency_seconds)
            plan = [(PREDICT, _body({"row": rows[i % len(rows)]})) for i in range(n)]
            await open_loop(raw, plan[: int(rate)], rate)  # warm up, 1 s
            before = (await client.get("/metrics")).text
            cpu0, own0 = _cpu_seconds(pid), time.process_time()
            lat, errors, sent = await open_loop(raw, plan, rate)
            cpu = (_cpu_seconds(pid) - cpu0) / n * 1e3
            own = (time.process_time() - own0) / n * 1e3
            after = (await client.get("/metrics")).text
            server = server_p99(before, after, "/v1/models/{name}/predict")
            print(
                f"predict, 1 row, open loop at {rate:.0f} req/s for {args.latency_seconds:.0f} s "
                f"(sent at {sent:.0f}/s, errors {dict(errors)}): p50 {_pct(lat, 50):.2f} ms, "
                f"p90 {_pct(lat, 90):.2f} ms, p99 {_pct(lat, 99):.2f} ms, max "
                f"{_pct(lat, 100):.1f} ms; server-side p99 <= {server:.2f} ms (histogram bucket); "
                f"CPU per request: server {cpu:.2f} ms, generator {own:.2f} ms"
                + ("  [target p99 < 5 ms]" if rate == 500 else "")
                + f" {_load()}"
            )
        wrk = run_wrk(base + PREDICT, _body({"row": rows[0]}), args.wrk_seconds)
        if wrk:
            print(
                f"predict, 1 row, wrk closed loop (-t1 -c8, {args.wrk_seconds} s): {wrk} {_load()}"
            )

        # 2. batched predicts
        body = _body({"rows": rows[: args.batch]})
        per_s, lat = await closed_loop(client, PREDICT, body, args.workers, args.batch_seconds)
        rate = per_s * args.batch
        print(
            f"predict, {args.batch} rows/request, {args.workers} clients: {rate:,.0f} rows/s "
            f"(p50 {_pct(lat, 50):.1f} ms per request)  [target >= 20,000 rows/s] {_load()}"
        )

        # 3. durable learns in batches, each item with its own event id (a new one per request:
        # a repeated id would be answered without learning)
        seq0 = (await client.get("/v1/models/m")).json()["version"]["seq"]
        pairs = list(zip(rows[: args.batch], labels, strict=False))
        bodies = iter(
            [
                _body({"items": [{**it, "event_id": f"b{k}-{j}"} for j, it in enumerate(items)]})
                for k in range(600)  # built before the clock starts: 600,000 distinct events
                for items in [[{"features": r, "label": y} for r, y in pairs]]
            ]
        )
        t0 = time.perf_counter()
        _, lat = await closed_loop(client, LEARN, bodies, args.workers, args.batch_seconds)
        elapsed = time.perf_counter() - t0
        seq1 = (await client.get("/v1/models/m")).json()["durable_seq"]
        rate = (seq1 - seq0) / elapsed
        print(
            f"learn, {args.batch} items/request, {args.workers} clients, acknowledged after "
            f"fsync: {rate:,.0f} events/s ({seq1 - seq0:,} events on disk, p50 "
            f"{_pct(lat, 50):.1f} ms per request)  [target >= 30,000 events/s] {_load()}"
        )

        # 4. soak: steady mixed load at a constant rate, RSS sampled from /proc
        await soak(client, raw, args, pid, rows, labels)
    await raw.close()


async def soak(
    client: httpx.AsyncClient,
    raw: RawClient,
    args: argparse.Namespace,
    pid: int,
    rows: list,
    labels: list,
) -> None:
    """One open loop for the whole soak at ``soak_rate``: single-row predicts (every one kept
    for delayed labels, up to pending_max), the delayed label of every 20th prediction, and a
    100-event learn every second; RSS sampled from /proc every 5 s."""
    loop = asyncio.get_running_loop()
    seconds = args.minutes * 60
    reference_at = min(60.0, seconds / 2)
    rate = args.soak_rate
    every_second = max(1, int(rate))
    learn_items = [{"features": r, "label": y} for r, y in zip(rows[:100], labels[:100])]
    ids: deque[tuple[str, int]] = deque()  # predictions whose label is due
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    samples: list[tuple[float, int]] = []
    tasks: set[asyncio.Task] = set()

    async def send(i: int, scheduled: float) -> None:
        k = i % len(rows)
        if i % every_second == 0:  # every event with its own id: the id store fills its bound
            items = [{**it, "event_id": f"s{i}-{j}"} for j, it in enumerate(learn_items)]
            path, body, keep = LEARN, _body({"items": items}), False
        elif i % 20 == 10 and ids:
            pid_, y = ids.popleft()
            label = {"prediction_id": pid_, "label": y, "event_id": f"l{i}"}
            path, body, keep = LEARN, _body(label), False
        else:
            path, body, keep = PREDICT, _body({"row": rows[k]}), i % 20 == 1
        try:
            status, answer = await raw.request(path, body)
            if status != 200:
                errors[f"{path.rsplit('/', 1)[-1]} {status}"] += 1
            elif keep:
                ids.append((json.loads(answer)["prediction_ids"][0], labels[k]))
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            errors[type(e).__name__] += 1
        latencies.append(loop.time() - scheduled)

    before = (await client.get("/metrics")).text
    start = loop.time() + 0.05
    samples.append((0.0, _rss_kb(pid)))
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(send(i, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        if scheduled - start - samples[-1][0] >= 5:
            samples.append((scheduled - start, _rss_kb(pid)))
    sent_rate = int(rate * seconds) / max(loop.time() - start, 1e-9)
    await asyncio.gather(*tasks)
    samples.append((loop.time() - start, _rss_kb(pid)))
    ref = next(kb for t, kb in samples if t >= reference_at)
    end = samples[-1][1]
    info = (await client.get("/v1/models/m")).json()
    after = (await client.get("/metrics")).text
    server = {
        r: server_p99(before, after, f"/v1/models/{{name}}/{r}") for r in ("predict", "learn")
    }
    print(
        f"soak {args.minutes:g} min, open loop at {rate:.0f} req/s (sent at {sent_rate:.0f}/s; "
        f"predicts kept for delayed labels, a delayed label per 20 requests, a 100-event learn "
        f"per second): {len(latencies):,} requests, errors {dict(errors)}, p50 "
        f"{_pct(latencies, 50):.2f} ms, p90 {_pct(latencies, 90):.2f} ms, p99 "
        f"{_pct(latencies, 99):.2f} ms (server-side p99 <= {server['predict']:.2f} ms predict, "
        f"<= {server['learn']:.2f} ms learn incl. fsync); pending predictions "
        f"{info['pending_predictions']:,} (bound {args.pending_max:,}), learned ids "
        f"{info['learned_ids']:,} (bound {args.pending_max:,}); log seq "
        f"{info['durable_seq']:,}, snapshot at {info['snapshot_seq']:,} {_load()}"
    )
    print(
        f"RSS: {samples[0][1] / 1024:.1f} MiB at start of soak, {ref / 1024:.1f} MiB at "
        f"{reference_at:.0f} s, {end / 1024:.1f} MiB at the end ({samples[-1][0]:.0f} s): "
        f"{100 * (end - ref) / ref:+.1f} %  [target within 20 %] {_load()}"
    )
    print("RSS samples (s, MiB): " + ", ".join(f"{t:.0f}:{kb / 1024:.1f}" for t, kb in samples))


def wrong_secret_cost(n: int = 2000) -> None:
    """CPU per token check of a real token id with a wrong secret (what an attacker sends)."""
    from tidal.registry import Registry

    with tempfile.TemporaryDirectory() as d:
        reg = Registry(f"sqlite:///{d}/r.sqlite")
        token = reg.tokens.create("read", "bench")
        wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        assert reg.tokens.verify(wrong) is None
        t0 = time.process_time()
        for _ in range(n):
            reg.tokens.verify(wrong)
        per = (time.process_time() - t0) / n * 1e3
        reg.close()
    print(
        f"wrong token secret (real id, database lookup + keyed hash + constant-time compare): "
        f"{per:.3f} ms CPU per check  [target < 1 ms] {_load()}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="soak length (issue 6: 10)")
    p.add_argument(
        "--rate", default="500", help="constant predict rate(s), req/s: 500 or 100,200,500"
    )
    p.add_argument("--latency-seconds", type=float, default=10.0)
    p.add_argument("--batch", type=int, default=1000, help="rows or items per batch request")
    p.add_argument("--batch-seconds", type=float, default=5.0)
    p.add_argument("--workers", type=int, default=4, help="closed-loop clients")
    p.add_argument("--wrk-seconds", type=int, default=5)
    p.add_argument("--soak-rate", type=float, default=200.0, help="soak request rate, req/s")
    p.add_argument("--pending-max", type=int, default=5000, help="retention bound of the soak")
    p.add_argument("--malloc-arena-max", type=int, default=None, help="MALLOC_ARENA_MAX")
    args = p.parse_args()
    wrong_secret_cost()

    folder = Path(tempfile.mkdtemp(prefix="tidal-bench-"))
    (folder / "tidal.toml").write_text(CONFIG.format(pending_max=args.pending_max))
    port = _free_port()
    cmd = [sys.executable, "-m", "tidal.service", "--config", str(folder / "tidal.toml")]
    cmd += ["--data", str(folder / "data"), "--port", str(port)]
    env = dict(os.environ)
    if args.malloc_arena_max is not None:
        env["MALLOC_ARENA_MAX"] = str(args.malloc_arena_max)
    started = time.perf_counter()
    server = subprocess.Popen(cmd, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the service did not start")
            time.sleep(0.05)
        print(
            f"start to ready (process start, recovery, probe learn and predict; /readyz 200): "
            f"{time.perf_counter() - started:.2f} s; MALLOC_ARENA_MAX="
            f"{env.get('MALLOC_ARENA_MAX', 'unset')} {_load()}"
        )
        load = os.getloadavg()
        print(
            f"tidal service pid {server.pid} on {base}; {os.cpu_count()} cores shared by the "
            f"server AND the load generators (same machine, loopback): constant rate by this "
            f"script's open-loop asyncio generator over raw keep-alive HTTP/1.1, batches by "
            f"httpx clients, closed loop by wrk; load average "
            f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at start"
        )
        asyncio.run(bench(args, base, port, server.pid))
    finally:
        server.terminate()
        server.wait(60)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
