"""The FastAPI application: ``create_app(config)`` and ``run(config)``.

Errors are 4xx with a ``detail`` list in FastAPI's shape (``loc`` names the field, down to the
item and the feature), and a rejected request leaves the model and its log unchanged:

* 404 unknown model or prediction id; 409 a prediction from a model that learned nothing yet,
  a learn by a frozen model (``type`` "frozen"), freezing a frozen model or unfreezing one
  that is not;
* 413 a body over ``max_body_bytes``; 422 malformed JSON, wrong types, bad model names,
  missing or extra features, non-finite values, bad labels; 503 a model whose log failed.
"""

from __future__ import annotations

import gc
import json
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from tidal.base import InputError, NotFittedError, TidalError, save_state
from tidal.guards import QuarantineError
from tidal.service.config import MODEL_NAME_PATTERN, ServiceConfig
from tidal.service.fastpath import _FastPath, http_protocol
from tidal.service.guarding import GuardedLearnResponse
from tidal.service.host import FrozenError, ModelHost, UnknownPredictionError
from tidal.service.runtime import Service
from tidal.service.schemas import (
    FreezeRequest,
    LearnRequest,
    ModelInfo,
    PredictRequest,
    PredictResponse,
    UnfreezeRequest,
)
from tidal.service.shadow import freeze
from tidal.service.wal import WalError

__all__ = ["ServiceError", "create_app", "run"]

ModelName = Path(pattern=MODEL_NAME_PATTERN, description="a configured model's name")


class ServiceError(Exception):
    """An HTTP error with a status and FastAPI-shaped details.

    >>> ServiceError(404, "unknown model 'x'", ["path", "name"], "not_found").detail[0]["loc"]
    ['path', 'name']
    """

    def __init__(
        self,
        status: int,
        msg: str,
        loc: list[Any] | None = None,
        kind: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(msg)
        self.status = status
        self.headers = headers
        self.detail = [{"loc": loc or [], "msg": msg, "type": kind or "error"}]


class _BodyLimit:
    """ASGI middleware: 413 for bodies over ``limit`` bytes, by header or as they stream in."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for key, value in scope.get("headers", []):
            if key == b"content-length" and value.isdigit() and int(value) > self.limit:
                return await self._reject(send)
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._reject(send)

    async def _reject(self, send: Callable) -> None:
        msg = f"request body over {self.limit} bytes (max_body_bytes); send smaller batches"
        body = json.dumps({"detail": [{"loc": ["body"], "msg": msg, "type": "too_large"}]})
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})


class _TooLarge(Exception):
    pass


class _ErrorJSON(JSONResponse):
    """Error bodies as ASCII JSON: a message may quote the client's text, and text with a lone
    surrogate (valid JSON, ``"\\ud800"``) cannot be encoded as UTF-8 (a 500 otherwise)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":"), default=str).encode("ascii")


def _input_error(e: InputError, where: str, learn: bool) -> ServiceError:
    """A 422 whose ``loc`` names the item (or row) and the feature or label at fault.

    ``where`` is the body field holding the rows: "items"/"rows" (a list) or ""/"row" (one).
    """
    loc: list[Any] = ["body"] + ([where] if where else [])
    if where in ("items", "rows") and e.row is not None:
        loc.append(e.row)
    if "label row" in str(e):
        loc.append("label")
    elif e.column is not None:
        loc += ["features", e.column] if learn else [e.column]
    return ServiceError(422, str(e), loc, "input_error")


def _route_label(request: Request) -> str:
    """The ``route`` label of a rejected request: the last segment of the matched route's
    template ("predict", "learn"; the whole template when that segment is a parameter), never
    of the URL. URL segments are the client's text: one label value per unknown model name or
    version asked for would grow the metrics (and every scrape) without bound."""
    path = getattr(request.scope.get("route"), "path", None)
    if path is None:
        return "unmatched"
    last = path.rsplit("/", 1)[-1]
    return path if last.startswith("{") else last


def create_app(config: ServiceConfig | None = None, service: Service | None = None) -> FastAPI:
    """The service as an ASGI app. Locks ``config.data`` and recovers every model now.

    >>> import tempfile
    >>> from fastapi.testclient import TestClient
    >>> from tidal.service import ServiceConfig, create_app
    >>> app = create_app(ServiceConfig(data=tempfile.mkdtemp(), models={"m": "mean"}))
    >>> with TestClient(app) as client:
    ...     r = client.post("/v1/models/m/learn", json={"features": {"x": 1.0}, "label": 4.0})
    ...     client.post("/v1/models/m/predict", json={"row": {"x": 0.0}}).json()["predictions"]
    [4.0]
    """
    svc = service or Service(config or ServiceConfig())
    dependencies = []
    if svc.config.auth:  # tokens live in the registry: open it now, print the first token once
        from fastapi import Depends

        from tidal.service.auth import announce_first_token, auth_dependency

        try:
            announce_first_token(svc.registry.tokens, svc.config.data)
        except BaseException:
            svc.close()
            raise
        dependencies.append(Depends(auth_dependency(lambda: svc.registry.tokens, ServiceError)))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        svc.close()  # SIGTERM ends here: flush, snapshot, release the folder

    app = FastAPI(
        title="tidal",
        summary="Online models that predict and learn in place, durably.",
        version="1",
        lifespan=lifespan,
        dependencies=dependencies,
    )
    app.state.service = svc
    metrics = svc.metrics

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        metrics.rejected.labels(route=_route_label(request), status=exc.status).inc()
        return _ErrorJSON({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = []
        for err in exc.errors():
            err = {k: v for k, v in err.items() if k in ("loc", "msg", "type")}
            if err["type"] == "json_invalid":  # say where, since there is no field to name
                err["msg"] = f"malformed JSON body at character {err['loc'][-1]}"
            detail.append(err)
        metrics.rejected.labels(route=_route_label(request), status=422).inc()
        return _ErrorJSON({"detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        msg = f"{exc.detail}: {request.method} {request.url.path}"
        return _ErrorJSON(
            {"detail": [{"loc": ["path"], "msg": msg, "type": "http"}]},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    def host(name: str) -> ModelHost:
        return svc.served(name, ServiceError)

    def check_size(n: int, field: str) -> None:
        if n > svc.config.max_rows:
            msg = f"{n} {field}, at most {svc.config.max_rows} (max_rows) per request"
            raise ServiceError(413, msg, ["body", field], "too_large")

    def after_predict(name: str, h: ModelHost, rows: list[dict[str, Any]], res: Any) -> None:
        metrics.predictions.labels(model=name).inc(len(rows))
        svc.recorder.count(name, "predict", len(rows))
        svc.shadows.observe(name, res.prediction_ids, rows)  # never in the response
        if svc.config.freeze_floor > 0 and res.probabilities is not None:
            svc.shadows.watch(name, h.model).keep(res.prediction_ids, res.predictions)

    @app.post("/v1/models/{name}/predict", response_model=PredictResponse, tags=["models"])
    def predict(body: PredictRequest, name: str = ModelName) -> Any:
        """Predict one row or many with one consistent model version."""
        h = host(name)
        rows = body.all_rows()
        check_size(len(rows), "rows")
        try:
            res = h.predict(rows)
        except NotFittedError as e:
            raise ServiceError(409, f"model {name!r}: {e}", ["path", "name"], "not_fitted") from e
        except InputError as e:
            raise _input_error(e, "row" if body.row is not None else "rows", False) from e
        after_predict(name, h, rows, res)
        return vars(res)  # shallow: asdict's deep copy costs more than the prediction

    @app.post(
        "/v1/models/{name}/learn",
        response_model=GuardedLearnResponse,
        response_model_exclude_unset=True,  # unguarded models answer exactly as before
        tags=["models"],
    )
    def learn(body: LearnRequest, name: str = ModelName) -> Any:
        """Learn labelled rows, or labels for earlier predictions. Answers once on disk.

        A guarded model (one with a schema) checks the rows first: ``verdicts`` says per item
        whether it was learned (maybe repaired) or quarantined (kept, not learned), and why."""
        h = host(name)
        items = body.all_items()
        check_size(len(items), "items")
        return serve_learn(
            name,
            h,
            [it.features for it in items],
            [it.label for it in items],
            [it.prediction_id for it in items],
            body.items is not None,
            [it.event_id for it in items],
        )

    def serve_learn(
        name: str,
        h: ModelHost,
        rows: list[Any],
        labels: list[Any],
        pids: list[str | None],
        many: bool,
        eids: list[str | None] | None = None,
    ) -> dict[str, Any]:
        """The learn route's work on validated items (``many``: they came as ``items``)."""
        try:
            res = svc.learn(name, rows, labels, pids, eids)
        except UnknownPredictionError as e:
            loc = ["body", "items", e.index, "prediction_id"] if many else ["body", "prediction_id"]
            raise ServiceError(404, str(e), loc, "not_found") from e
        except InputError as e:
            raise _input_error(e, "items" if many else "", True) from e
        except WalError as e:
            raise ServiceError(503, str(e), [], "unavailable") from e
        except FrozenError as e:
            raise ServiceError(409, str(e), ["path", "name"], "frozen") from e
        except QuarantineError as e:  # a guarded model cannot keep its rejected rows
            raise ServiceError(503, str(e), [], "unavailable") from e
        except TidalError as e:
            raise ServiceError(422, f"model {name!r}: {e}", ["body"], "invalid") from e
        out: dict[str, Any] = {
            "learned": res.learned,
            "first_seq": res.first_seq,
            "last_seq": res.last_seq,
            "already_learned": res.already_learned,
        }
        if eids is not None and any(e is not None for e in eids):
            out["seqs"] = res.seqs  # the original answer of each item, retried or not
        out["version"] = res.version
        if res.verdicts is not None:
            out["quarantined"], out["verdicts"] = res.quarantined, res.verdicts
        return out

    def actor(request: Request, by: str | None) -> str:
        principal = getattr(request.state, "principal", None)
        return f"token:{principal.name}" if principal is not None else by or "anonymous"

    @app.post("/v1/models/{name}/freeze", response_model=ModelInfo, tags=["models"])
    def freeze_model(body: FreezeRequest, request: Request, name: str = ModelName) -> Any:
        """Pause a model's learning (admin): learns answer 409 until an unfreeze, a promote or
        a rollback. The freeze is on disk before this answers: it survives restarts."""
        h = host(name)
        if h.frozen is not None:
            msg = f"model {name!r} is already frozen: {h.frozen}; unfreeze it first"
            raise ServiceError(409, msg, ["path", "name"], "frozen")
        by = actor(request, body.by)
        reason = f"frozen by {by}: {body.reason}"
        freeze(svc, h, 0.0, 0.0, reason=reason, details={"admin": body.reason}, by=by)
        return h.info() | {"shadows": svc.shadows.info(name)}

    @app.post("/v1/models/{name}/unfreeze", response_model=ModelInfo, tags=["models"])
    def unfreeze_model(body: UnfreezeRequest, request: Request, name: str = ModelName) -> Any:
        """Let a frozen model learn again (admin); its rolling metric starts again."""
        h = host(name)
        if h.frozen is None:
            raise ServiceError(409, f"model {name!r} is not frozen", ["path", "name"], "not_frozen")
        was = h.frozen
        h.unfreeze()
        svc.shadows.reset_watch(name)
        reg = svc.registry
        version = int(h.version) if h.version is not None else None
        reg.note(
            actor(request, body.by),
            "unfreeze",
            body.why or "",
            name=name,
            version=version,
            details={"was": was},
        )
        return h.info() | {"shadows": svc.shadows.info(name)}

    def guard_of(name: str) -> Any:
        h = host(name)
        if h.guard is None:
            msg = (
                f'model {name!r} has no guards: give it a schema (schema = "schema.json" in '
                "its [models] table) to monitor its features"
            )
            raise ServiceError(404, msg, ["path", "name"], "not_guarded")
        return h.guard

    @app.get("/v1/models/{name}/drift", tags=["guards"])
    def drift(name: str = ModelName) -> Any:
        """Per-feature drift of a guarded model's learned rows: one row per feature and test
        (PSI, Kolmogorov-Smirnov, Wasserstein; chi-square for categorical features)."""
        return guard_of(name).drift()

    @app.get("/v1/quarantine", tags=["guards"])
    def quarantine(
        model: str | None = Query(None, pattern=MODEL_NAME_PATTERN, description="one model"),
        limit: int = Query(50, ge=1, le=1000, description="rows, newest first"),
    ) -> Any:
        """The latest quarantined rows (newest first) with rule, reason and original record."""
        if model is not None:
            host(model)
        if svc.quarantine is None:
            return []
        return svc.quarantine.latest(model, limit)

    @app.get("/v1/models", response_model=list[ModelInfo], tags=["models"])
    def list_models() -> Any:
        """Every served model and where it stands."""
        return [h.info() | {"shadows": svc.shadows.info(n)} for n, h in svc.hosts.items()]

    @app.get("/v1/models/{name}", response_model=ModelInfo, tags=["models"])
    def model_info(name: str = ModelName) -> Any:
        """One model: class, features, version, log and snapshot positions, and its shadows
        (challengers scored on the same traffic: rolling metric over their last labels)."""
        return host(name).info() | {"shadows": svc.shadows.info(name)}

    @app.get("/v1/models/{name}/state", tags=["models"], response_class=Response)
    def model_state(name: str = ModelName) -> Response:
        """The model's ``state_dict`` as an ``.npz`` file (read with ``tidal.base.read_state``)."""
        seq, model = host(name).state_at()
        fd, tmp = tempfile.mkstemp(suffix=".npz")
        os.close(fd)
        try:
            save_state({"format": "tidal.state.export", "seq": seq, "model": model}, tmp)
            with open(tmp, "rb") as fh:
                data = fh.read()
        finally:
            os.unlink(tmp)
        return Response(data, media_type="application/octet-stream")

    @app.get("/healthz", response_class=PlainTextResponse, tags=["ops"])
    def healthz() -> str:
        """The process answers."""
        return "ok"

    @app.get("/readyz", response_class=PlainTextResponse, tags=["ops"])
    def readyz() -> Response:
        """Every model is recovered, ran a probe learn and predict (kernels loaded), and can
        learn."""
        if svc.ready:
            return PlainTextResponse("ready")
        broken = {n: h.broken for n, h in svc.hosts.items() if h.broken}
        if not broken and not svc.warmed.is_set():
            why = "warming up (a probe learn and predict per model: kernels loading)"
        else:
            why = str(broken or "shutting down")
        return PlainTextResponse(f"not ready: {why}", status_code=503)

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    def prometheus() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    from tidal.service.registry_routes import registry_router

    app.include_router(registry_router(svc, ServiceError))
    from tidal.service.dashboard import mount_dashboard

    mount_dashboard(app, svc)

    def fast_error(exc: Exception) -> tuple[int, bytes, dict[str, str] | None] | None:
        if not isinstance(exc, ServiceError):
            return None
        metrics.rejected.labels(route="learn", status=exc.status).inc()
        return exc.status, _ErrorJSON({"detail": exc.detail}).body, exc.headers

    app.add_middleware(
        _FastPath, service=svc, after_predict=after_predict, learn=serve_learn, error=fast_error
    )
    app.add_middleware(_BodyLimit, limit=svc.config.max_body_bytes)
    return app


def run(config: ServiceConfig) -> None:
    """Serve ``config`` with uvicorn until SIGINT/SIGTERM (which flush and snapshot first)."""
    import uvicorn

    if config.workers != 1:
        raise ValueError(
            f"workers == {config.workers}: tidal serve runs exactly one worker process, because "
            "the process that learns must own the model's log and state; run more replicas "
            "for predictions behind a load balancer instead"
        )
    os.umask(0o077)  # the data folder's files (rows, token hashes) are the owner's alone
    app = create_app(config)  # fails now (lock held, bad model) before uvicorn binds the port
    # the ~200,000 objects of the imports and the recovered models live as long as the process:
    # out of the collector's sight, a full collection scans only what serving made since,
    # instead of pausing every request for tens to hundreds of milliseconds (issue 6's p99)
    gc.collect()
    gc.freeze()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            workers=1,
            log_level=config.log_level,
            http=http_protocol(),
        )
    )
    app.state.uvicorn_server = server  # open dashboard streams end when it should exit
    server.run()
