"""The live dashboard at ``/``: per-model time series, rates, alarms and the registry.

The page and its assets (``static/``: the page's own files and plotly.js's basic bundle, vendored
at 1.2 MB instead of the ``plotly`` package's 4.8 MB, never a CDN) are open; the data is not.
Assets are gzipped once and linked under content-named URLs, so a browser caches them for
good. ``GET /v1/dashboard/state`` needs a read token like any other read; the live stream
``GET /v1/dashboard/stream`` is an ``EventSource``, which cannot send headers, so it takes a
short-lived signed ticket (``GET /v1/dashboard/ticket``, read role) as a query parameter instead
of the token itself (tickets expire in a minute, so a leaked access log line is worth little).
Series are kept in bounded numpy buffers (:class:`Recorder`) and downsampled to min/max buckets
(:func:`downsample`) before they leave the server, so 10 models x 100,000 points still render in
a blink. Guarded models add per-feature drift, rows quarantined per rule and the latest
quarantined rows; a sampler thread marks a drift alarm on the timeline whenever a feature starts
drifting.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response, StreamingResponse

from tidal.service.recorder import (  # re-exported: the dashboard's public names
    _DRIFT_LOCK,
    Recorder,
    _drift_report,
    _sampler,
    downsample,
    sample_drift,
    sample_shadows,
)

__all__ = [
    "Recorder",
    "TicketSigner",
    "downsample",
    "guard_panels",
    "mount_dashboard",
    "sample_drift",
    "sample_shadows",
]

STATIC = Path(__file__).with_name("static")
#: URL -> (file in ``static/``, media type); the plotly.js bundle is vendored (static/README.md)
ASSETS = {
    "/dashboard/plotly.js": ("plotly-basic.min.js", "application/javascript"),
    "/dashboard/dashboard.js": ("dashboard.js", "application/javascript"),
}
STYLE_URL = "/dashboard/style.css"


class _Rejections:
    """Rows quarantined per model and rule, read from the quarantine file: every row at the
    first call, then only the rows added since (ids only grow, AUTOINCREMENT), so that a call
    stays cheap however large the quarantine is. Rows purged later stay counted.

    >>> import os, tempfile
    >>> from tidal.guards import Guard, Schema
    >>> from tidal.service.guarding import GuardQuarantine
    >>> q = GuardQuarantine(os.path.join(tempfile.mkdtemp(), "q.sqlite"))
    >>> guard = Guard(Schema.infer({"x": [1.0, 2.0], "y": [0, 1]}, "y"))
    >>> count = _Rejections(q.path)
    >>> _ = q.add(guard.check({"x": [None, 1.5, 1e9], "y": [0, 1, 0]}, source="m"))
    >>> count()
    {'m': {'missing': 1, 'out_of_range': 1}}
    >>> _ = q.add(guard.check({"x": [None], "y": [0]}, source="m"))
    >>> count()["m"]["missing"]
    2
    >>> q.close()
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._last = 0
        self._counts: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, dict[str, int]]:
        with self._lock:
            try:
                if self._conn is None:  # read-only, its own connection: never blocks learning
                    uri = Path(self.path).resolve().as_uri() + "?mode=ro"
                    self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
                rows = self._conn.execute(
                    "SELECT source, rule, COUNT(*), MAX(id) FROM quarantine WHERE id > ? "
                    "GROUP BY source, rule",
                    (self._last,),
                ).fetchall()
            except sqlite3.Error:  # busy or not there yet: the last counts; the next call reads
                rows = []
            for source, rule, n, top in rows:
                per_rule = self._counts.setdefault(source, {})
                per_rule[rule] = per_rule.get(rule, 0) + n
                self._last = max(self._last, top)
            return {k: dict(v) for k, v in self._counts.items()}


_REJECTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _rejections(quarantine: Any) -> dict[str, dict[str, int]]:
    path = getattr(quarantine, "path", None)
    if path is None:
        return {}
    with _DRIFT_LOCK:
        count = _REJECTIONS.get(quarantine)
        if count is None:
            count = _REJECTIONS[quarantine] = _Rejections(path)
    return count()


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
    from tidal.evaluate.style import CHANGE_COLOUR, PALETTES, layout

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
    says drifted), ``rejections`` (rows quarantined per rule) and ``quarantine`` (its latest
    quarantined rows); {} when unguarded.

    >>> guard_panels(None, "m", None)
    {}
    """
    if guard is None:
        return {}
    drift: dict[str, dict[str, Any]] = {}
    for r in _drift_report(guard)["features"]:
        d = drift.setdefault(r["feature"], {"feature": r["feature"], "psi": None, "drifted": False})
        if r["test"] == "psi":
            d["psi"] = r["score"]
        d["drifted"] = d["drifted"] or bool(r["drifted"])
    quarantine = getattr(svc, "quarantine", None)
    latest = quarantine.latest(name, rows) if quarantine is not None else []
    rejections = _rejections(quarantine).get(name, {})
    return {"drift": list(drift.values()), "quarantine": latest, "rejections": rejections}


class _Asset:
    """A file held in memory, gzipped once, served with a strong ETag.

    >>> from starlette.requests import Request
    >>> js = _Asset(b"let x = 1;" * 100, "application/javascript")
    >>> def get(**h):
    ...     headers = [(k.replace("_", "-").encode(), v.encode()) for k, v in h.items()]
    ...     return js.response(Request({"type": "http", "query_string": b"", "headers": headers}))
    >>> r = get(accept_encoding="gzip, br")
    >>> r.headers["content-encoding"], int(r.headers["content-length"]) < 100
    ('gzip', True)
    >>> get(if_none_match=js.etag).status_code, get().headers["cache-control"]
    (304, 'no-cache')
    """

    def __init__(self, body: bytes, media_type: str) -> None:
        self.body, self.media_type = body, media_type
        self.packed = gzip.compress(body, 9)
        self.tag = hashlib.sha256(body).hexdigest()[:16]
        self.etag = f'"{self.tag}"'

    def response(self, request: Request) -> Response:
        # under its content-named URL (?v=<tag>, as the page links it) a copy never goes stale,
        # so the browser keeps it for good; anywhere else it revalidates (a cheap 304)
        fresh = request.query_params.get("v") == self.tag
        cache = "public, max-age=31536000, immutable" if fresh else "no-cache"
        headers = {"ETag": self.etag, "Cache-Control": cache, "Vary": "Accept-Encoding"}
        match = request.headers.get("if-none-match", "")
        if self.etag in (t.strip().removeprefix("W/") for t in match.split(",")):
            return Response(status_code=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", "") and len(self.packed) < len(
            self.body
        ):
            headers["Content-Encoding"] = "gzip"
            return Response(self.packed, media_type=self.media_type, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


_ASSETS: dict[str, _Asset] = {}
_ASSETS_LOCK = threading.RLock()


def _asset(url: str) -> _Asset:
    """The asset served at ``url``, read and gzipped once per process (edits to ``static/``
    show after a restart)."""
    with _ASSETS_LOCK:  # one build, however many requests (and the warm-up) ask at once
        if url not in _ASSETS:
            if url == "/":  # each asset's URL made content-named: ?v=<tag>
                page = (STATIC / "index.html").read_text(encoding="utf-8")
                for link in (STYLE_URL, *ASSETS):
                    page = page.replace(f'"{link}"', f'"{link}?v={_asset(link).tag}"')
                _ASSETS[url] = _Asset(page.encode(), "text/html; charset=utf-8")
            elif url == STYLE_URL:
                from tidal.evaluate.style import CSS  # the compare report's style, then ours

                css = CSS + (STATIC / "dashboard.css").read_text(encoding="utf-8")
                _ASSETS[url] = _Asset(css.encode(), "text/css; charset=utf-8")
            else:
                name, media = ASSETS[url]
                _ASSETS[url] = _Asset((STATIC / name).read_bytes(), media)
        return _ASSETS[url]


def _warm_up() -> None:
    """Build the assets and import the style before the first visit asks (~0.3 s, once per
    process), so that the first page load does not wait for them."""
    try:
        _asset("/")
        _style()
    except Exception:  # a broken install: the first request reports it
        pass


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
            target=_sampler, args=(svc,), name="tidal-dash-sampler", daemon=True
        ).start()
    auth = bool(svc.config.auth)
    if "/" not in _ASSETS:
        threading.Thread(target=_warm_up, name="tidal-dash-warm-up", daemon=True).start()

    def role_of(request: Request) -> str | None:
        p = getattr(request.state, "principal", None)
        return p.role if p is not None else None

    def serve(url: str) -> Any:
        def asset(request: Request) -> Response:  # sync: Starlette runs it in a thread
            return _asset(url).response(request)

        return asset

    async def config(request: Request) -> Response:
        # lets the page ask for a token before its first call instead of after a 401
        return JSONResponse({"auth": auth})

    app.add_route("/dashboard/config", config, include_in_schema=False)
    for url in ("/", STYLE_URL, *ASSETS):
        app.add_route(url, serve(url), include_in_schema=False)

    @app.get("/v1/dashboard/state", tags=["dashboard"])
    def state(request: Request) -> Any:
        """Everything the dashboard shows: series (downsampled), marks, registry, audit log."""
        data = dashboard_state(svc, role_of(request))
        data["style"] = _style()
        return JSONResponse(data)  # 40,000 points: skip FastAPI's slow jsonable_encoder

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

        def changed(last: Any) -> tuple[Any, str | None]:
            # only a changed state is encoded (~1 MB of JSON for 10 x 4 x 1,000 points): the
            # recorder's version says whether its series changed, and the rest is small to compare
            version = svc.recorder.version  # read first: a change meanwhile is sent next time
            now = dashboard_state(svc, role)
            if last is not None and last[0] == version and last[1] == now:
                return last, None
            return (version, now), json.dumps(now)

        async def events() -> Any:
            last, beat, end = None, time.monotonic(), time.monotonic() + max_stream
            yield "retry: 1000\n\n"
            while time.monotonic() < end and not await request.is_disconnected():
                if exiting():
                    return
                last, data = await run_in_threadpool(changed, last)  # off the event loop
                if data is not None:
                    yield f"event: state\ndata: {data}\n\n"
                    beat = time.monotonic()
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
