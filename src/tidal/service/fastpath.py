"""The request timing middleware, and the fast path of predicts and learns.

A single-row predict is about 50 microseconds of model work, but FastAPI's way to it (body
validation, dependency solving, two thread-pool hops for a sync endpoint and its response
model, a ``BaseHTTPMiddleware`` task group) costs over ten times that, which at 500 requests/s
fills a core of a 2-core machine; and validating a 1,000-item learn body into pydantic models
costs more than learning and logging it (measured in the report of issue 6). :class:`_FastPath`
serves the plain cases itself: a JSON body of scalar features (``{"row": ...}``, ``{"rows":
[...]}``; ``{"features": ..., "label": ...}``, ``{"prediction_id": ..., "label": ...}``,
``{"items": [...]}``), to a known model, with a valid token (when auth is on). Anything else --
malformed or unusual JSON, an unknown model, a missing or weak token -- goes, body replayed, to
the FastAPI route, whose validation and errors stay the one source of truth. A predict the
model refuses (not fitted, bad input) goes to the route too, before anything is kept; a learn
is never tried twice: the route's own function does the work and its errors are answered here
as the route would.

A prediction runs on the event loop only when the model's lock is free and the batch is small;
otherwise it goes to the thread pool, like a sync endpoint would, and so does every learn (it
waits for an fsync), so the event loop never waits on a learn or an fsync.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from tidal.base import TidalError
from tidal.service.config import MODEL_NAME_PATTERN
from tidal.service.ids import EVENT_ID

__all__: list[str] = []

_PATH = re.compile("/v1/models/(" + MODEL_NAME_PATTERN.strip("^$") + ")/(predict|learn)")
ROUTES = {"predict": "/v1/models/{name}/predict", "learn": "/v1/models/{name}/learn"}
#: rows predicted on the event loop; a bigger batch goes to the thread pool (it would hold the
#: loop for milliseconds)
INLINE_ROWS = 64
_HEADERS = [(b"content-type", b"application/json")]


class _GiveUp(TidalError):
    """The fast path does not serve this request: the FastAPI route will."""


def _reject_constant(name: str) -> Any:
    raise _GiveUp(name)  # NaN / Infinity: the route says what is wrong with them


def _plain(k: Any, v: Any) -> bool:
    """True for what the route's ``Row`` validation keeps unchanged (so both paths agree)."""
    t = type(v)
    if t is float or v is None or t is bool:
        ok = True
    elif t is int:
        ok = -1e308 < v < 1e308  # beyond: the route names the integer too large for a float
    elif t is str:
        ok = v.isascii()  # non-ASCII text may hold a lone surrogate: the route checks it
    else:
        return False
    return ok and type(k) is str and k.isascii()


def parse_rows(body: bytes) -> list[dict[str, Any]] | None:
    """The rows of a plain predict body, or None when the route must judge it.

    >>> parse_rows(b'{"row": {"x": 1.5, "c": "red"}}')
    [{'x': 1.5, 'c': 'red'}]
    >>> parse_rows(b'{"rows": [{"x": 1}, {"x": null}]}')
    [{'x': 1}, {'x': None}]
    >>> [parse_rows(b) for b in (b'{"row": {"x": NaN}}', b'{"rows": []}', b'{"row": 1}', b"{")]
    [None, None, None, None]
    """
    try:
        obj = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError, _GiveUp):
        return None
    if type(obj) is not dict or len(obj) != 1:
        return None
    if "row" in obj:
        rows = [obj["row"]]
    else:
        rows = obj.get("rows")
        if type(rows) is not list or not rows:
            return None
    for r in rows:
        if type(r) is not dict:
            return None
        for k, v in r.items():
            if not _plain(k, v):
                return None
    return rows


_ITEM_KEYS = tuple(
    frozenset({first, "label", *extra})
    for first in ("features", "prediction_id")
    for extra in ((), ("event_id",))
)


def _item(obj: dict[str, Any]) -> tuple[Any, Any, Any, Any] | None:
    """(features, label, prediction_id, event_id) of a plain learn item, or None."""
    if obj.keys() not in _ITEM_KEYS:
        return None
    label = obj["label"]
    if label is None or not _plain("", label):
        return None
    eid = obj.get("event_id")
    if eid is not None and (type(eid) is not str or not EVENT_ID.fullmatch(eid)):
        return None
    pid = obj.get("prediction_id")
    if pid is not None:
        if type(pid) is not str or len(pid) > 64 or not pid.isascii():
            return None
        return None, label, pid, eid
    row = obj["features"]
    if type(row) is not dict:
        return None
    for k, v in row.items():
        if not _plain(k, v):
            return None
    return row, label, None, eid


def parse_items(body: bytes) -> tuple[list[Any], list[Any], list[Any], bool, list[Any]] | None:
    """(rows, labels, prediction ids, came as ``items``, event ids) of a plain learn body, or
    None when the route must judge it.

    >>> parse_items(b'{"features": {"x": 1.0}, "label": 0}')
    ([{'x': 1.0}], [0], [None], False, [None])
    >>> parse_items(b'{"items": [{"prediction_id": "a1", "label": "yes", "event_id": "e7"}]}')
    ([None], ['yes'], ['a1'], True, ['e7'])
    >>> [parse_items(b) for b in (b'{"label": 1}', b'{"items": []}', b'{"items": [{"label": 1}]}')]
    [None, None, None]
    """
    try:
        obj = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError, _GiveUp):
        return None
    if type(obj) is not dict:
        return None
    many = obj.keys() == {"items"}
    objs = obj["items"] if many else [obj]
    if type(objs) is not list or not objs:
        return None
    rows, labels, pids, eids = [], [], [], []
    for o in objs:
        item = _item(o) if type(o) is dict else None
        if item is None:
            return None
        rows.append(item[0])
        labels.append(item[1])
        pids.append(item[2])
        eids.append(item[3])
    return rows, labels, pids, many, eids


def _json_content(headers: list[tuple[bytes, bytes]]) -> bool:
    for k, v in headers:
        if k == b"content-type":
            return v.split(b";", 1)[0].strip().lower() == b"application/json"
    return False


class _FastPath:
    """ASGI middleware: times every request (``tidal_request_seconds{route}``) and serves plain
    predicts and learns itself (see the module's docstring).

    ``after_predict(name, host, rows, result)`` does the predict route's bookkeeping (metrics,
    dashboard, shadows); ``learn(name, host, rows, labels, ids, many)`` is the learn route's
    work, raising errors that ``error(exc)`` turns into ``(status, body, headers)`` (None: not
    an error the route answers, so it propagates).
    """

    def __init__(
        self,
        app: Any,
        service: Any,
        after_predict: Callable[..., None],
        learn: Callable[..., dict[str, Any]],
        error: Callable[[Exception], tuple[int, bytes, dict[str, str] | None] | None],
    ) -> None:
        self.app = app
        self.svc = service
        self.after_predict = after_predict
        self.learn = learn
        self.error = error
        self.latency = service.metrics.latency
        self.fast_latency = {k: self.latency.labels(route=r) for k, r in ROUTES.items()}
        self.max_rows = service.config.max_rows
        self.auth = bool(service.config.auth)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        if scope["method"] == "POST" and (m := _PATH.fullmatch(scope["path"])) is not None:
            name, what = m.group(1), m.group(2)
            served = await self._fast(name, what, scope, receive, send)
            if served is True:
                self.fast_latency[what].observe(time.perf_counter() - t0)
                return
            receive = served  # the body, replayed for the route
        started: float | None = None

        async def timed(message: dict) -> None:
            nonlocal started
            if started is None and message["type"] == "http.response.start":
                started = time.perf_counter()  # until the answer starts (a stream goes on)
            await send(message)

        try:
            await self.app(scope, receive, timed)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.latency.labels(route=path).observe((started or time.perf_counter()) - t0)

    async def _fast(
        self, name: str, what: str, scope: dict, receive: Callable, send: Callable
    ) -> Any:
        """True when served here; otherwise a ``receive`` that replays the body to the route."""
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left: let the route see it
                return _replay(b"".join(chunks), receive, message)
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        h = self.svc.hosts.get(name)
        if h is None or not _json_content(scope["headers"]):
            return _replay(body, receive)
        if what == "predict":
            answer = await self._predict(name, h, body, scope["headers"])
        else:
            answer = await self._learn(name, h, body, scope["headers"])
        if answer is None:
            return _replay(body, receive)
        status, out, extra = answer
        headers = [*_HEADERS, (b"content-length", str(len(out)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": out})
        return True

    async def _predict(self, name: str, h: Any, body: bytes, headers: list) -> Any:
        rows = parse_rows(body)
        if rows is None or len(rows) > self.max_rows:
            return None
        if self.auth and not await self._authorized(headers, "predict"):
            return None
        inline = len(rows) <= INLINE_ROWS
        try:
            res = h.predict(rows, wait=False, blocking=False) if inline else None
            if res is None:
                res = await run_in_threadpool(h.predict, rows, wait=False)
        except Exception:  # noqa: BLE001 - not fitted, bad input...: the route says what
            return None
        if h.durable_wait_needed(res.version):
            await run_in_threadpool(h.wal.wait, res.version["seq"])
        if inline:
            self.after_predict(name, h, rows, res)
        else:
            await run_in_threadpool(self.after_predict, name, h, rows, res)
        out = {
            "predictions": res.predictions,
            "prediction_ids": res.prediction_ids,
            "probabilities": res.probabilities,
            "version": res.version,
        }
        return 200, _dump(out, "PredictResponse"), None

    async def _learn(self, name: str, h: Any, body: bytes, headers: list) -> Any:
        parsed = parse_items(body)
        if parsed is None or len(parsed[1]) > self.max_rows:
            return None
        if self.auth and not await self._authorized(headers, "learn"):
            return None
        try:
            out = await run_in_threadpool(self.learn, name, h, *parsed)
        except Exception as e:
            answer = self.error(e)
            if answer is None:
                raise
            return answer
        return 200, _dump(out, "GuardedLearnResponse"), None

    async def _authorized(self, headers: list[tuple[bytes, bytes]], role: str) -> bool:
        """A valid bearer token whose role allows ``role`` (anything else: the route answers)."""
        from tidal.registry.tokens import role_allows

        for k, v in headers:
            if k == b"authorization":
                scheme, _, token = v.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not token:
                    return False
                # verify is cached, but a first sight of a token runs scrypt: not on the loop
                info = await run_in_threadpool(self.svc.registry.tokens.verify, token.strip())
                return info is not None and role_allows(info.role, role)
        return False


def _dump(out: dict[str, Any], model: str) -> bytes:
    """The bytes Starlette's JSONResponse writes for the route (its response model's fields,
    in order); pydantic's when plain JSON cannot say it (a non-finite float: null)."""
    try:
        return json.dumps(out, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    except (ValueError, TypeError, UnicodeEncodeError):
        from tidal.service import schemas

        if model == "GuardedLearnResponse":
            from tidal.service.guarding import GuardedLearnResponse as cls
        else:
            cls = getattr(schemas, model)
        return cls.model_validate(out).model_dump_json(exclude_unset=True).encode()


def _replay(body: bytes, receive: Callable, last: dict | None = None) -> Callable:
    """A ``receive`` that gives ``body`` (and then ``last``, if any) before the real one."""
    queue = [{"type": "http.request", "body": body, "more_body": False}]
    if last is not None:
        queue.append(last)

    async def replayed() -> dict:
        if queue:
            return queue.pop(0)
        return await receive()

    return replayed


class _CoalescingTransport:
    """A transport whose writes of one event-loop step leave in one ``send``: h11 writes a
    response's head and body separately, and on loopback each write is a packet, a wake-up of
    the client and a syscall (about a fifth of a small predict's server CPU, measured)."""

    def __init__(self, transport: Any, loop: Any) -> None:
        self._transport = transport
        self._loop = loop
        self._buffer: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._buffer:
            self._loop.call_soon(self._flush)
        self._buffer.append(bytes(data))

    def _flush(self) -> None:
        if self._buffer:
            data = b"".join(self._buffer)
            self._buffer.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._buffer))

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()  # what was written goes before the end
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def http_protocol() -> type:
    """uvicorn's h11 protocol, writing each response in one piece (see _CoalescingTransport)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class CoalescingH11Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(_CoalescingTransport(transport, self.loop))

    return CoalescingH11Protocol
