"""The registry's HTTP routes under ``/v1`` (added to the service by ``create_app``).

``GET/POST /v1/models/{name}/versions``, ``GET /v1/models/{name}/versions/{v}``,
``POST .../versions/{v}/promote|approve|shadow``, ``POST /v1/models/{name}/rollback`` and
``GET /v1/audit``. Registering snapshots the running model's ``state_dict``; promoting (unless
``install`` is false) and rolling back load the version into the running model, which goes on
learning from there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tidal.registry import (
    KINDS,
    METRICS,
    AuditEntry,
    Evidence,
    GatePolicy,
    ModelVersion,
    PromotionRefused,
    RegistryError,
    StageError,
    VersionNotFound,
    non_finite,
)

__all__ = ["registry_router"]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"  # = tidal.service.config.MODEL_NAME_PATTERN


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    why: str = Field("", max_length=2000, description="the reason, kept in the audit log")
    by: str | None = Field(
        None, max_length=128, description="who (used only when auth is off: else the token)"
    )


class RegisterRequest(_Body):
    """Register the running model's current state as a new candidate version.

    >>> RegisterRequest(kind="batch", why="nightly").kind
    'batch'
    """

    kind: str = Field("online", pattern="^(" + "|".join(KINDS) + ")$")
    data_range: Any = Field(None, description="what it learned from (default: log positions)")
    metrics: dict[str, Any] = Field(default_factory=dict, description="finite numbers only")
    parent_version: int | None = Field(None, ge=1, description="default: the served version")

    @field_validator("metrics")
    @classmethod
    def _finite(cls, v: dict[str, Any]) -> dict[str, Any]:
        bad = non_finite(v, "metrics")
        if bad is not None:
            raise ValueError(f"{bad} is not a finite number (NaN and infinities are refused)")
        return v


class ScoredEvents(BaseModel):
    """The last labelled events with both models' predictions (the gate keeps the last N).

    >>> len(ScoredEvents(labels=[1, 0], challenger=[1, 1]).labels)
    2
    """

    model_config = ConfigDict(extra="forbid")
    labels: list[Any] = Field(max_length=1_000_000)
    challenger: list[Any] = Field(max_length=1_000_000)
    champion: list[Any] | None = Field(None, max_length=1_000_000)


class PromoteRequest(_Body):
    """Evidence for the gate: metric values, or scored events (give one of the two).

    >>> PromoteRequest(challenger_metric=0.9, n_events=500).install
    True
    """

    metric: str | None = Field(None, description=f"one of {sorted(METRICS)}; default: server's")
    challenger_metric: float | None = Field(None, allow_inf_nan=False)
    champion_metric: float | None = Field(None, allow_inf_nan=False)
    n_events: int | None = Field(None, ge=0)
    events: ScoredEvents | None = None
    install: bool = Field(True, description="load this version into the running model")


class RollbackRequest(_Body):
    """Which version to put back (default: the previous production) and why.

    >>> RollbackRequest(why="drift").to_version is None
    True
    """

    to_version: int | None = Field(None, ge=1, description="default: the previous production")
    force: bool = Field(
        False, description="roll back to a version that never passed the gate (needs why)"
    )


def _evidence(body: PromoteRequest, policy: GatePolicy) -> Evidence | None:
    if body.events is not None:
        ev = body.events
        if len(ev.challenger) != len(ev.labels) or (
            ev.champion is not None and len(ev.champion) != len(ev.labels)
        ):
            raise ValueError("events: labels, challenger and champion need the same length")
        try:
            return Evidence.from_events(ev.labels, ev.challenger, ev.champion, policy)
        except TypeError as e:  # e.g. a list where the metric needs numbers
            raise ValueError(f"events: cannot score them with {policy.metric}: {e}") from e
    if body.challenger_metric is None:
        return None
    return Evidence(body.challenger_metric, body.champion_metric, body.n_events or 0)


def registry_router(service: Any, error: Callable[..., Exception]) -> APIRouter:
    """The routes, bound to ``service`` (its ``registry``, ``hosts``, ``install``)."""
    router = APIRouter(prefix="/v1", tags=["registry"])
    name_p = Path(pattern=_NAME, description="a model's name")
    version_p = Path(ge=1, description="a version number")

    def actor(request: Request, body: _Body | None = None) -> str:
        principal = getattr(request.state, "principal", None)
        if principal is not None:
            return f"token:{principal.name}"
        return (body.by if body is not None and body.by else None) or "anonymous"

    def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except VersionNotFound as e:
            raise error(404, str(e), ["path"], "not_found") from e
        except PromotionRefused as e:
            raise error(409, e.reason, ["body"], "promotion_refused") from e
        except StageError as e:
            raise error(409, str(e), ["path", "version"], "stage") from e
        except (RegistryError, ValueError) as e:
            raise error(422, str(e), ["body"], "invalid") from e

    def _sync_shadows(name: str) -> None:
        """A version entered or left stage shadow: it joins or leaves the served traffic."""
        if name in service.hosts and getattr(service, "shadows", None) is not None:
            service.shadows.sync(name, service.registry)

    def known(name: str) -> None:
        if name not in service.hosts and not service.registry.versions(name):
            raise error(
                404,
                f"unknown model {name!r}: neither served nor registered",
                ["path", "name"],
                "not_found",
            )

    @router.get("/models/{name}/versions", response_model=list[ModelVersion])
    def list_versions(name: str = name_p) -> Any:
        """Every registered version of a model, oldest first."""
        known(name)
        return [v for v in service.registry.versions(name)]

    @router.post("/models/{name}/versions", response_model=ModelVersion, status_code=201)
    def register(body: RegisterRequest, request: Request, name: str = name_p) -> Any:
        """Snapshot the running model's ``state_dict`` into the registry as a candidate."""
        host = service.served(name, error)
        seq, state = host.state_at()
        parent = body.parent_version
        if parent is None and host.version is not None:
            parent = int(host.version)
        return call(
            service.registry.register,
            name,
            state,
            by=actor(request, body),
            why=body.why,
            kind=body.kind,
            metrics=body.metrics,
            parent_version=parent,
            data_range=body.data_range if body.data_range is not None else {"wal_seq_to": seq},
        )

    @router.get("/models/{name}/versions/{version}", response_model=ModelVersion)
    def inspect(name: str = name_p, version: int = version_p) -> Any:
        """One version's metadata (the state: ``GET /v1/models/{name}/state`` when served)."""
        return call(service.registry.get, name, version)

    @router.post(
        "/models/{name}/versions/{version}/promote",
        response_model=ModelVersion,
        responses={409: {"description": "refused by the gate or the lifecycle"}},
    )
    def promote(
        body: PromoteRequest, request: Request, name: str = name_p, version: int = version_p
    ) -> Any:
        """Move a version to production if it beats the champion by the configured margin on
        the last N labelled events (and is approved, for kinds that need it). 409 says why not.
        """
        policy = service.registry.policy
        if body.metric is not None:
            policy = call(
                GatePolicy,
                body.metric,
                policy.last_n,
                policy.min_events,
                policy.margin,
                policy.require_approval,
            )
        evidence = call(_evidence, body, policy)
        v = call(
            service.registry.promote,
            name,
            version,
            by=actor(request, body),
            why=body.why,
            evidence=evidence,
            policy=policy,
        )
        if body.install:
            service.install(name, version)
        _sync_shadows(name)
        return v

    @router.post("/models/{name}/versions/{version}/approve", response_model=ModelVersion)
    def approve(body: _Body, request: Request, name: str = name_p, version: int = version_p) -> Any:
        """Record a human approval (batch models need one before production)."""
        return call(service.registry.approve, name, version, by=actor(request, body), why=body.why)

    @router.post("/models/{name}/versions/{version}/shadow", response_model=ModelVersion)
    def shadow(body: _Body, request: Request, name: str = name_p, version: int = version_p) -> Any:
        """Put a candidate in shadow."""
        v = call(service.registry.shadow, name, version, by=actor(request, body), why=body.why)
        _sync_shadows(name)
        return v

    @router.post("/models/{name}/rollback", response_model=ModelVersion)
    def rollback(body: RollbackRequest, request: Request, name: str = name_p) -> Any:
        """Put an earlier version back in production now (default: the previous one) and
        load it into the running model."""
        v = call(
            service.registry.rollback,
            name,
            body.to_version,
            by=actor(request, body),
            why=body.why or "",
            force=body.force,
        )
        service.install(name, v.version)
        _sync_shadows(name)
        return v

    @router.get("/audit", response_model=list[AuditEntry])
    def audit(
        name: str | None = Query(None, pattern=_NAME),
        limit: int = Query(1000, ge=1, le=100_000),
    ) -> Any:
        """The audit log, oldest first: who changed what, when, and why."""
        return service.registry.audit(name, limit)

    return router
