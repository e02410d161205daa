"""The registry's records and errors: stages and their transitions, a version's metadata, an audit
line, and the (de)serialisation of a state into the bytes the database keeps."""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row

from tidal.base import TidalError, read_state, save_state

__all__ = [
    "KINDS",
    "STAGES",
    "TRANSITIONS",
    "AuditEntry",
    "ModelVersion",
    "PromotionRefused",
    "RegistryError",
    "StageError",
    "VersionNotFound",
    "non_finite",
]

KINDS = ("online", "batch", "hybrid")
STAGES = ("candidate", "shadow", "production", "archived")
#: stage -> stages it may move to; archived -> production only through ``rollback``
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "candidate": ("shadow", "production", "archived"),
    "shadow": ("candidate", "production", "archived"),
    "production": ("archived",),
    "archived": ("candidate",),
}


class RegistryError(TidalError):
    """Base of the registry's errors.

    >>> issubclass(VersionNotFound, RegistryError) and issubclass(VersionNotFound, LookupError)
    True
    """


class VersionNotFound(RegistryError, LookupError):
    """No such model name or version.

    >>> str(VersionNotFound("model 'm' has no version 3"))
    "model 'm' has no version 3"
    """


class StageError(RegistryError):
    """A stage change the lifecycle does not allow (the message names the allowed ones).

    >>> TRANSITIONS["production"]
    ('archived',)
    """


class PromotionRefused(RegistryError):
    """The gate (or a missing approval) refused a promotion; ``reason`` says why.

    >>> PromotionRefused("only 3 labelled events").reason
    'only 3 labelled events'
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _finite(d: dict[str, Any]) -> dict[str, Any]:
    # JSON columns on PostgreSQL refuse NaN and infinities: say what they were instead
    return {
        k: repr(v) if isinstance(v, float) and not math.isfinite(v) else v for k, v in d.items()
    }


def non_finite(value: Any, path: str = "") -> str | None:
    """The path of the first non-finite number in a JSON-like value, or None.

    >>> non_finite({"acc": 0.9, "per_class": [1.0, float("nan")]}, "metrics")
    'metrics.per_class[1]'
    """
    if isinstance(value, float) and not math.isfinite(value):
        return path
    if isinstance(value, dict):
        items: Any = ((f"{path}.{k}", v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for sub, v in items:
        found = non_finite(v, sub)
        if found is not None:
            return found
    return None


def _json_safe(value: Any) -> Any:
    """``value`` with every non-finite number as None (rows stored before they were refused
    must not break a JSON answer)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(t: datetime | None) -> datetime | None:
    # SQLite hands datetimes back naive; everything stored is UTC
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


@dataclass(frozen=True)
class ModelVersion:
    """One registered version's metadata (the state itself: :meth:`Registry.load`).

    >>> ModelVersion("m", 1, "online", "candidate", {}, None, {}, None,
    ...              datetime(2026, 1, 1, tzinfo=UTC), "ci", None, "ab" * 32).stage
    'candidate'
    """

    name: str
    version: int
    kind: str
    stage: str
    params: dict[str, Any]
    data_range: Any
    metrics: dict[str, Any]
    parent_version: int | None
    created_at: datetime
    created_by: str
    promoted_at: datetime | None
    state_sha256: str
    approved_by: str | None = None
    approved_at: datetime | None = None
    approval_reason: str | None = None

    @classmethod
    def _from_row(cls, r: Row) -> ModelVersion:
        m = r._mapping
        return cls(
            **{k: m[k] for k in cls.__dataclass_fields__ if k in m}
            | {
                "created_at": _utc(m["created_at"]),
                "promoted_at": _utc(m["promoted_at"]),
                "approved_at": _utc(m["approved_at"]),
                "metrics": _json_safe(m["metrics"]),
                "params": _json_safe(m["params"]),
                "data_range": _json_safe(m["data_range"]),
            }
        )


@dataclass(frozen=True)
class AuditEntry:
    """One line of the append-only audit log: who did what, when, and why.

    >>> AuditEntry(1, datetime(2026, 1, 1, tzinfo=UTC), "ann", "promote", "m", 2,
    ...            "candidate", "production", "better", {}).action
    'promote'
    """

    id: int
    at: datetime
    actor: str
    action: str
    name: str | None
    version: int | None
    from_stage: str | None
    to_stage: str | None
    reason: str
    details: dict[str, Any]


def _state_bytes(state: dict[str, Any]) -> bytes:
    fd, tmp = tempfile.mkstemp(suffix=".npz")
    os.close(fd)
    try:
        save_state(state, tmp)
        return Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)


def _state_from_bytes(data: bytes) -> dict[str, Any]:
    fd, tmp = tempfile.mkstemp(suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return read_state(tmp)
    finally:
        os.unlink(tmp)
