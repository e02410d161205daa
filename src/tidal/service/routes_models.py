"""Routes of the served models: predict, learn (also delayed labels), freeze, state.

Every learn, whatever the route (one item, many, the fast path), goes through
``Service.learn``; :func:`models_router` also returns the two functions the fast path calls, so
it answers exactly as these routes do.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from tidal.base import InputError, NotFittedError, TidalError, save_state
from tidal.guards import QuarantineError
from tidal.service.config import MODEL_NAME_PATTERN
from tidal.service.errors import ServiceError, input_error
from tidal.service.guarding import GuardedLearnResponse
from tidal.service.host import FrozenError, ModelHost
from tidal.service.items import UnknownPredictionError
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

__all__ = ["ModelRoutes", "models_router"]

ModelName = Path(pattern=MODEL_NAME_PATTERN, description="a configured model's name")


@dataclass
class ModelRoutes:
    """The router, and what the fast path calls to answer as the routes do."""

    router: APIRouter
    after_predict: Any
    serve_learn: Any


def models_router(svc: Service) -> ModelRoutes:
    """Predict, learn, freeze/unfreeze, list, info and state of ``svc``'s models."""
    router = APIRouter()
    metrics = svc.metrics

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

    @router.post("/v1/models/{name}/predict", response_model=PredictResponse, tags=["models"])
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
            raise input_error(e, "row" if body.row is not None else "rows", False) from e
        after_predict(name, h, rows, res)
        return vars(res)  # shallow: asdict's deep copy costs more than the prediction

    @router.post(
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
            raise input_error(e, "items" if many else "", True) from e
        except WalError as e:
            raise ServiceError(503, str(e), [], "unavailable") from e
        except FrozenError as e:
            raise ServiceError(409, str(e), ["path", "name"], "frozen") from e
        except QuarantineError as e:  # a guarded model cannot keep its rejected rows
            raise ServiceError(503, str(e), [], "unavailable") from e
        except ServiceError:
            raise
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

    @router.post("/v1/models/{name}/freeze", response_model=ModelInfo, tags=["models"])
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

    @router.post("/v1/models/{name}/unfreeze", response_model=ModelInfo, tags=["models"])
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

    @router.get("/v1/models", response_model=list[ModelInfo], tags=["models"])
    def list_models() -> Any:
        """Every served model and where it stands."""
        return [h.info() | {"shadows": svc.shadows.info(n)} for n, h in svc.hosts.items()]

    @router.get("/v1/models/{name}", response_model=ModelInfo, tags=["models"])
    def model_info(name: str = ModelName) -> Any:
        """One model: class, features, version, log and snapshot positions, and its shadows
        (challengers scored on the same traffic: rolling metric over their last labels)."""
        return host(name).info() | {"shadows": svc.shadows.info(name)}

    @router.get("/v1/models/{name}/state", tags=["models"], response_class=Response)
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

    return ModelRoutes(router, after_predict, serve_learn)
