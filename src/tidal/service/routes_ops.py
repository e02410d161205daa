"""Routes for operators: guards (drift, quarantine) and health (healthz, readyz, metrics)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tidal.service.config import MODEL_NAME_PATTERN
from tidal.service.errors import ServiceError
from tidal.service.runtime import Service

__all__ = ["guards_router", "ops_router"]

ModelName = Path(pattern=MODEL_NAME_PATTERN, description="a configured model's name")


def guards_router(svc: Service) -> APIRouter:
    """Feature drift of a guarded model, and the latest quarantined rows."""
    router = APIRouter()

    def host(name: str) -> Any:
        return svc.served(name, ServiceError)

    def guard_of(name: str) -> Any:
        h = host(name)
        if h.guard is None:
            msg = (
                f'model {name!r} has no guards: give it a schema (schema = "schema.json" in '
                "its [models] table) to monitor its features"
            )
            raise ServiceError(404, msg, ["path", "name"], "not_guarded")
        return h.guard

    @router.get("/v1/models/{name}/drift", tags=["guards"])
    def drift(name: str = ModelName) -> Any:
        """Per-feature drift of a guarded model's learned rows: one row per feature and test
        (PSI, Kolmogorov-Smirnov, Wasserstein; chi-square for categorical features)."""
        return guard_of(name).drift()

    @router.get("/v1/quarantine", tags=["guards"])
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

    return router


def ops_router(svc: Service) -> APIRouter:
    """Liveness, readiness (models recovered and warmed) and Prometheus metrics."""
    router = APIRouter()
    metrics = svc.metrics

    @router.get("/healthz", response_class=PlainTextResponse, tags=["ops"])
    def healthz() -> str:
        """The process answers."""
        return "ok"

    @router.get("/readyz", response_class=PlainTextResponse, tags=["ops"])
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

    @router.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    def prometheus() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
