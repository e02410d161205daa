"""The live dashboard at ``/``: per-model time series, rates, alarms and the registry.

The page (``static/``) and Plotly's bundle (from the installed ``plotly`` package, never a CDN)
are open; the data is not. ``GET /v1/dashboard/state`` needs a read token like any other read;
the live stream ``GET /v1/dashboard/stream`` is an ``EventSource``, which cannot send headers,
so it takes a short-lived signed ticket (``GET /v1/dashboard/ticket``, read role) as a query
parameter instead of the token itself (tickets expire in a minute, so a leaked access log line is
worth little). Series are kept in bounded numpy buffers (:class:`Recorder`) and downsampled to
min/max buckets (:func:`downsample`) before they leave the server, so 10 models x 100,000 points
still render in a blink.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.staticfiles import StaticFiles

__all__ = [
    "Recorder",
    "TicketSigner",
    "downsample",
    "guard_panels",
    "mount_dashboard",
    "sample_shadows",
]

STATIC = Path(__file__).with_name("static")
MAX_POINTS = 1000


def downsample(t: np.ndarray, v: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` points that keep each bucket's min and max, in order.

    Min/max buckets keep every spike a line chart would show at that resolution (unlike taking
    every k-th point), at numpy speed.

    >>> v = np.zeros(10_000); v[1234] = 9.0
    >>> idx = downsample(np.arange(10_000.0), v, 100)
    >>> len(idx) <= 100, 1234 in idx, int(idx[0]), int(idx[-1]) >= 9_800  # every bucket kept
    (True, True, 0, True)
    """
    n = len(v)
    if n <= max_points:
        return np.arange(n)
    k = math.ceil(n / max(1, max_points // 2))
    nb = math.ceil(n / k)
    lo = np.full(nb * k, np.inf)
    hi = np.full(nb * k, -np.inf)
    lo[:n] = v
    hi[:n] = v
    base = np.arange(nb) * k
    idx = np.concatenate([base + lo.reshape(nb, k).argmin(1), base + hi.reshape(nb, k).argmax(1)])
    return np.unique(idx)


class _Series:
    """A growing (t, v) buffer that keeps the newest half when it reaches ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.t = np.empty(256)
        self.v = np.empty(256)
        self.n = 0

    def extend(self, t: np.ndarray, v: np.ndarray) -> None:
        if len(t) >= self.capacity:
            t, v, self.n = t[-self.capacity :], v[-self.capacity :], 0
        if self.n + len(t) > self.capacity:
            keep = max(0, min(self.n, self.capacity // 2, self.capacity - len(t)))
            self.t[:keep] = self.t[self.n - keep : self.n]
            self.v[:keep] = self.v[self.n - keep : self.n]
            self.n = keep
        need = self.n + len(t)
        if need > len(self.t):
            size = min(self.capacity, max(need, 2 * len(self.t)))
            self.t = np.resize(self.t, size)
            self.v = np.resize(self.v, size)
        self.t[self.n : need] = t
        self.v[self.n : need] = v
        self.n = need

    def put(self, t: float, v: float, resolution: float) -> None:
        """Append (t, v), or overwrite the last point if it is less than ``resolution`` older."""
        if self.n and resolution > 0 and t - self.t[self.n - 1] < resolution:
            self.v[self.n - 1] = v
        else:
            self.extend(np.array([t]), np.array([v]))

    def bump(self, t: float, dv: float) -> None:
        """Add ``dv`` to the last point if it is at ``t``, else append (t, dv)."""
        if self.n and self.t[self.n - 1] == t:
            self.v[self.n - 1] += dv
        else:
            self.extend(np.array([t]), np.array([dv]))

    def view(self, max_points: int) -> dict[str, list]:
        t, v = self.t[: self.n], self.v[: self.n]
        idx = downsample(t, v, max_points)
        return {"t": np.round(t[idx] * 1000).astype(np.int64).tolist(), "v": v[idx].tolist()}


class Recorder:
    """Per-model time series for the dashboard, thread-safe and bounded.

    Series are named ``metric:<family>`` (rolling metric; family online, batch or shadow) and
    ``rate:predict`` / ``rate:learn`` (rows per second); marks are drift alarms and guard
    rejections. ``snapshot()`` returns them downsampled to ``max_points`` per series.

    >>> rec = Recorder(window=2)
    >>> rec.score("m", [1, 0, 1], [1, 1, 1], t=10.0)  # rolling accuracy over the last 2 rows
    >>> rec.count("m", "learn", 3, t=10.2)
    >>> rec.mark("m", "drift", "ADWIN on x", t=10.5)
    >>> snap = rec.snapshot()["m"]
    >>> snap["series"]["metric:online"]["v"], snap["series"]["rate:learn"]["v"]
    ([0.5], [3.0])
    >>> snap["metric"], snap["marks"][0]["text"]
    ('accuracy', 'ADWIN on x')
    """

    def __init__(
        self,
        capacity: int = 100_000,
        window: int = 500,
        score_rows: int = 16,
        resolution: float = 0.1,
    ) -> None:
        self.capacity = capacity  # points kept per series (the newest)
        self.window = window  # scored rows in the rolling metric
        # seconds between two points of a rolling metric (0: one point per learn request), so
        # that a busy model's series covers hours, not seconds
        self.resolution = resolution
        self.score_rows = score_rows  # rows per learn request scored before learning (0: none)
        self.version = 0
        self._lock = threading.Lock()
        self._series: dict[str, dict[str, _Series]] = {}
        self._scores: dict[tuple[str, str], deque] = {}
        self._metric: dict[str, str] = {}
        self._marks: dict[str, deque] = {}
        self._rules: dict[str, dict[str, int]] = {}
        self._cache: tuple[int, int, dict] | None = None

    def _get(self, model: str, series: str) -> _Series:
        s = self._series.setdefault(model, {})
        if series not in s:
            s[series] = _Series(self.capacity)
        return s[series]

    def extend(self, model: str, series: str, t: Any, v: Any) -> None:
        """Append many points at once (unix seconds, values); non-finite values are dropped."""
        t, v = np.asarray(t, dtype=float), np.asarray(v, dtype=float)
        ok = np.isfinite(t) & np.isfinite(v)
        with self._lock:
            self._get(model, series).extend(t[ok], v[ok])
            self.version += 1

    def count(self, model: str, what: str, n: int, t: float | None = None) -> None:
        """Add ``n`` rows to the per-second ``rate:<what>`` series."""
        sec = float(math.floor(time.time() if t is None else t))
        with self._lock:
            self._get(model, f"rate:{what}").bump(sec, float(n))
            self.version += 1

    def score(
        self,
        model: str,
        predicted: list[Any],
        truth: list[Any],
        family: str = "online",
        t: float | None = None,
    ) -> None:
        """Score predictions made before learning; append the rolling metric (one point)."""
        if not truth:
            return
        numeric = all(isinstance(y, int | float) and not isinstance(y, bool) for y in truth)
        regression = numeric and any(isinstance(y, float) for y in truth)
        if regression:
            errs = [abs(float(p) - float(y)) for p, y in zip(predicted, truth) if p is not None]
            name = "mae"
        else:
            errs = [float(p == y) for p, y in zip(predicted, truth)]
            name = "accuracy"
        with self._lock:
            q = self._scores.setdefault((model, family), deque(maxlen=self.window))
            q.extend(e for e in errs if math.isfinite(e))
            self._metric.setdefault(model, name)
            if q:
                now = time.time() if t is None else t
                self._get(model, f"metric:{family}").put(now, sum(q) / len(q), self.resolution)
                self.version += 1

    def mark(self, model: str, kind: str, text: str, t: float | None = None) -> None:
        """Mark the timeline: ``kind`` "drift" (an alarm) or "guard" (``text`` names the rule)."""
        with self._lock:
            marks = self._marks.setdefault(model, deque(maxlen=200))
            marks.append(
                {"t": int((time.time() if t is None else t) * 1000), "kind": kind, "text": text}
            )
            if kind == "guard":
                rules = self._rules.setdefault(model, {})
                rules[text] = rules.get(text, 0) + 1
            self.version += 1

    def snapshot(self, max_points: int = MAX_POINTS) -> dict[str, Any]:
        """Every model's series (downsampled), metric name, marks and guard counts per rule."""
        with self._lock:
            if self._cache and self._cache[:2] == (self.version, max_points):
                return self._cache[2]
            out = {
                m: {
                    "series": {k: s.view(max_points) for k, s in series.items() if s.n},
                    "metric": self._metric.get(m, "metric"),
                    "marks": list(self._marks.get(m, ())),
                    "guard_rules": dict(self._rules.get(m, {})),
                }
                for m, series in self._series.items()
            }
            for m in set(self._marks) - set(out):
                out[m] = {
                    "series": {},
                    "metric": self._metric.get(m, "metric"),
                    "marks": list(self._marks[m]),
                    "guard_rules": dict(self._rules[m]),
                }
            self._cache = (self.version, max_points, out)
            return out

    def probe(self, host: Any, rows: list[Any], labels: list[Any]) -> tuple | None:
        """Predict (before learning) up to ``score_rows`` of a learn request's rows; None when
        nothing can be scored. Never raises: the dashboard must not break learning."""
        pairs = [(r, y) for r, y in zip(rows, labels) if r is not None][: self.score_rows]
        if not pairs:
            return None
        try:
            with host._lock:
                if not host.model.is_fitted:
                    return None
                pred = host.model.predict_many([r for r, _ in pairs])
            return [p.item() if hasattr(p, "item") else p for p in pred], [y for _, y in pairs]
        except Exception:
            return None


def sample_shadows(svc: Any, rec: Recorder, seen: dict[tuple[str, str], int]) -> int:
    """Record each shadow's rolling metric as ``metric:shadow <key>`` when it scored anything
    new since the last call (``seen`` remembers the counts); returns the points recorded.

    >>> from types import SimpleNamespace
    >>> info = [{"shadow": "v2", "value": 0.75, "scored": 4, "metric": "accuracy"}]
    >>> svc = SimpleNamespace(hosts={"m": None}, shadows=SimpleNamespace(info=lambda m: info))
    >>> rec, seen = Recorder(), {}
    >>> sample_shadows(svc, rec, seen), sample_shadows(svc, rec, seen)  # nothing new: no point
    (1, 0)
    >>> rec.snapshot()["m"]["series"]["metric:shadow v2"]["v"]
    [0.75]
    """
    shadows = getattr(svc, "shadows", None)
    if shadows is None:
        return 0
    now, n = time.time(), 0
    for name in list(svc.hosts):
        for s in shadows.info(name):
            key = (name, s["shadow"])
            if s["value"] is None or seen.get(key) == s["scored"]:
                continue
            seen[key] = s["scored"]
            rec.extend(name, f"metric:shadow {s['shadow']}", [now], [s["value"]])
            with rec._lock:
                rec._metric.setdefault(name, s["metric"])
            n += 1
    return n


def _shadow_sampler(svc: Any) -> None:
    seen: dict[tuple[str, str], int] = {}
    while not svc._stop.wait(1.0):  # ends with the service
        try:
            sample_shadows(svc, svc.recorder, seen)
        except Exception:  # a shadow swapped mid-read: the next second tries again
            continue


class TicketSigner:
    """Short-lived signed tickets that stand in for a token where no header can be sent.

    >>> s = TicketSigner(ttl=60)
    >>> s.check(s.issue("read", "ci")), s.check("forged.ticket")
    ({'role': 'read', 'name': 'ci'}, None)
    """

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._key = secrets.token_bytes(32)

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    def issue(self, role: str, name: str) -> str:
        body = json.dumps({"role": role, "name": name, "exp": time.time() + self.ttl}).encode()
        return base64.urlsafe_b64encode(body).decode() + "." + self._sign(body)

    def check(self, ticket: str) -> dict[str, str] | None:
        try:
            b64, sig = ticket.rsplit(".", 1)
            body = base64.urlsafe_b64decode(b64.encode())
        except Exception:
            return None
        if not hmac.compare_digest(self._sign(body), sig):
            return None
        data = json.loads(body)
        if data["exp"] < time.time():
            return None
        return {"role": data["role"], "name": data["name"]}


def _style() -> dict[str, Any]:
    from tidal.evaluate._style import CHANGE_COLOUR, PALETTES, layout

    return {"palettes": PALETTES, "change": CHANGE_COLOUR, "layout": layout("")}


def _registry_view(svc: Any, admin: bool) -> dict[str, Any]:
    reg = svc.registry
    models = sorted(set(svc.hosts))
    out: dict[str, Any] = {"metric": reg.policy.metric, "models": {}, "audit": None}
    for name in models:
        out["models"][name] = [
            {
                "version": v.version,
                "stage": v.stage,
                "kind": v.kind,
                "metrics": v.metrics,
                "approved_by": getattr(v, "approved_by", None),
                "created_at": v.created_at.isoformat(),
            }
            for v in reg.versions(name)
        ]
    if admin:  # the audit log is admin-only through the API too
        out["audit"] = [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "name": e.name,
                "version": e.version,
                "to_stage": e.to_stage,
                "reason": e.reason,
            }
            for e in reg.audit(None, 50)
        ]
    return out


def dashboard_state(svc: Any, role: str | None) -> dict[str, Any]:
    """What the page shows; ``role`` None means auth is off (everything visible)."""
    admin = role in (None, "admin")
    series = svc.recorder.snapshot()
    models = {
        name: series.get(name) or {"series": {}, "marks": [], "guard_rules": {}, "metric": "metric"}
        for name in svc.hosts
    }
    for name, host in svc.hosts.items():  # guarded models: drift scores, latest quarantined
        panels = guard_panels(svc, name, getattr(host, "guard", None))
        if panels:
            models[name] = {**models[name], **panels}
    return {"models": models, "registry": _registry_view(svc, admin), "role": role or "admin"}


def guard_panels(svc: Any, name: str, guard: Any, rows: int = 10) -> dict[str, Any]:
    """A guarded model's dashboard panels: ``drift`` (per feature: PSI and whether any test
    says drifted) and ``quarantine`` (its latest quarantined rows); {} when unguarded.

    >>> guard_panels(None, "m", None)
    {}
    """
    if guard is None:
        return {}
    drift: dict[str, dict[str, Any]] = {}
    for r in guard.drift()["features"]:
        d = drift.setdefault(r["feature"], {"feature": r["feature"], "psi": None, "drifted": False})
        if r["test"] == "psi":
            d["psi"] = r["score"]
        d["drifted"] = d["drifted"] or bool(r["drifted"])
    quarantine = getattr(svc, "quarantine", None)
    latest = quarantine.latest(name, rows) if quarantine is not None else []
    return {"drift": list(drift.values()), "quarantine": latest}


def mount_dashboard(
    app: FastAPI, svc: Any, interval: float = 1.0, max_stream: float = 300.0
) -> None:
    """Add the page, its assets, the state and ticket routes and the event stream to ``app``.

    The page and assets are plain Starlette routes: they hold no data, so the app's token check
    does not apply to them; the stream checks its ticket itself.
    """
    signer = TicketSigner()
    if hasattr(svc, "shadows") and hasattr(svc, "_stop"):
        threading.Thread(
            target=_shadow_sampler, args=(svc,), name="tidal-dash-shadows", daemon=True
        ).start()
    auth = bool(svc.config.auth)
    plotly_js: list[bytes] = []

    def role_of(request: Request) -> str | None:
        p = getattr(request.state, "principal", None)
        return p.role if p is not None else None

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def plotly(request: Request) -> Response:
        if not plotly_js:  # read and gzip once: 4.8 MB of JavaScript, ~1.4 MB on the wire
            import gzip

            import plotly as plotly_pkg
            from plotly.offline import get_plotlyjs

            raw = get_plotlyjs().encode()
            plotly_js.extend([raw, gzip.compress(raw, 6), f'"plotly-{plotly_pkg.__version__}"'])
        raw, packed, etag = plotly_js
        # revalidate (cheap 304) so an upgraded plotly is never served stale from a cache
        headers = {"Cache-Control": "no-cache", "ETag": etag, "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(packed, media_type="application/javascript", headers=headers)
        return Response(raw, media_type="application/javascript", headers=headers)

    async def style(request: Request) -> Response:
        from tidal.evaluate._style import CSS

        extra = (STATIC / "dashboard.css").read_text(encoding="utf-8")
        return Response(CSS + extra, media_type="text/css")

    async def config(request: Request) -> Response:
        # lets the page ask for a token before its first call instead of after a 401
        return JSONResponse({"auth": auth})

    app.add_route("/", index, include_in_schema=False)
    app.add_route("/dashboard/config", config, include_in_schema=False)
    app.add_route("/dashboard/plotly.js", plotly, include_in_schema=False)
    app.add_route("/dashboard/style.css", style, include_in_schema=False)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")

    @app.get("/v1/dashboard/state", tags=["dashboard"])
    def state(request: Request) -> Any:
        """Everything the dashboard shows: series (downsampled), marks, registry, audit log."""
        data = dashboard_state(svc, role_of(request))
        data["style"] = _style()
        return data

    @app.get("/v1/dashboard/ticket", tags=["dashboard"])
    def ticket(request: Request) -> Any:
        """A ticket for the event stream, valid for a minute (EventSource cannot send headers)."""
        p = getattr(request.state, "principal", None)
        role, name = (p.role, p.name) if p is not None else ("admin", "anonymous")
        return {"ticket": signer.issue(role, name), "expires_in": signer.ttl}

    async def stream(request: Request) -> Response:
        role: str | None = None
        if auth:
            info = signer.check(request.query_params.get("ticket", ""))
            if info is None:
                msg = "missing, forged or expired ticket: get one from GET /v1/dashboard/ticket"
                body = {
                    "detail": [{"loc": ["query", "ticket"], "msg": msg, "type": "unauthorized"}]
                }
                return JSONResponse(body, status_code=401)
            role = info["role"]

        def exiting() -> bool:
            # uvicorn waits for open responses before it shuts down: end the stream at once
            server = getattr(request.app.state, "uvicorn_server", None)
            return bool(server is not None and server.should_exit)

        async def events() -> Any:
            last, beat, end = "", time.monotonic(), time.monotonic() + max_stream
            yield "retry: 1000\n\n"
            while time.monotonic() < end and not await request.is_disconnected():
                if exiting():
                    return
                data = json.dumps(await run_in_threadpool(dashboard_state, svc, role))
                if data != last:
                    yield f"event: state\ndata: {data}\n\n"
                    last, beat = data, time.monotonic()
                elif time.monotonic() - beat > 15:
                    yield ": keep-alive\n\n"
                    beat = time.monotonic()
                for _ in range(max(1, round(interval / 0.1))):
                    if exiting():
                        return
                    await asyncio.sleep(min(interval, 0.1))
            yield "event: bye\ndata: {}\n\n"  # a planned end: the page reconnects at once

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    app.add_route("/v1/dashboard/stream", stream, include_in_schema=False)
