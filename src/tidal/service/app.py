"""The FastAPI application: ``create_app(config)`` and ``run(config)``.

``create_app`` composes small routers (``routes_models``: predict, learn, freeze, state;
``routes_ops``: guards and health; ``registry_routes``; the dashboard) around one
:class:`~tidal.service.runtime.Service`, plus two middlewares (the body limit, and the fast path
that answers plain predicts and learns with the models router's own functions).

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
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tidal.base import TidalError
from tidal.service.config import ServiceConfig
from tidal.service.errors import ErrorJSON, ServiceError
from tidal.service.fastpath import _FastPath, http_protocol
from tidal.service.routes_models import models_router
from tidal.service.routes_ops import guards_router, ops_router
from tidal.service.runtime import Service

__all__ = ["ServiceError", "create_app", "run"]


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


class _TooLarge(TidalError):
    pass


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
        return ErrorJSON({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = []
        for err in exc.errors():
            err = {k: v for k, v in err.items() if k in ("loc", "msg", "type")}
            if err["type"] == "json_invalid":  # say where, since there is no field to name
                err["msg"] = f"malformed JSON body at character {err['loc'][-1]}"
            detail.append(err)
        metrics.rejected.labels(route=_route_label(request), status=422).inc()
        return ErrorJSON({"detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        msg = f"{exc.detail}: {request.method} {request.url.path}"
        return ErrorJSON(
            {"detail": [{"loc": ["path"], "msg": msg, "type": "http"}]},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    from tidal.service.registry_routes import registry_router

    routes = models_router(svc)
    app.include_router(routes.router)
    app.include_router(guards_router(svc))
    app.include_router(ops_router(svc))

    app.include_router(registry_router(svc, ServiceError))
    from tidal.service.dashboard import mount_dashboard

    mount_dashboard(app, svc)

    def fast_error(exc: Exception) -> tuple[int, bytes, dict[str, str] | None] | None:
        if not isinstance(exc, ServiceError):
            return None
        metrics.rejected.labels(route="learn", status=exc.status).inc()
        return exc.status, ErrorJSON({"detail": exc.detail}).body, exc.headers

    app.add_middleware(
        _FastPath,
        service=svc,
        after_predict=routes.after_predict,
        learn=routes.serve_learn,
        error=fast_error,
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
