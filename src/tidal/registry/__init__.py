"""The model registry: versions stored as ``state_dict`` arrays + JSON, their lifecycle
(candidate -> shadow -> production -> archived), a promotion gate, human approvals, one-call
rollback, an append-only audit log, and the service's API tokens. SQLite by default,
PostgreSQL by URL; the schema is migrated with Alembic when a registry is opened.

>>> import tempfile
>>> from tidal.dummy import RunningMeanRegressor
>>> from tidal.registry import Evidence, Registry
>>> reg = Registry(tempfile.mkdtemp() + "/registry.sqlite")
>>> _ = reg.register("m", RunningMeanRegressor(), by="ann", kind="online")
>>> reg.promote("m", 1, by="ann", evidence=Evidence(0.9, None, 500)).stage
'production'
>>> reg.close()
"""

from tidal.registry._db import HEAD, current_revision, migrate, normalize_url
from tidal.registry._records import (
    KINDS,
    STAGES,
    TRANSITIONS,
    AuditEntry,
    ModelVersion,
    PromotionRefused,
    RegistryError,
    StageError,
    VersionNotFound,
    non_finite,
)
from tidal.registry.gate import METRICS, Evidence, GateDecision, GatePolicy, promotion_gate, score
from tidal.registry.store import Registry
from tidal.registry.tokens import ROLES, TokenError, TokenInfo, TokenStore, role_allows

__all__ = [
    "HEAD",
    "KINDS",
    "METRICS",
    "ROLES",
    "STAGES",
    "TRANSITIONS",
    "AuditEntry",
    "Evidence",
    "GateDecision",
    "GatePolicy",
    "ModelVersion",
    "PromotionRefused",
    "Registry",
    "RegistryError",
    "StageError",
    "TokenError",
    "TokenInfo",
    "TokenStore",
    "VersionNotFound",
    "current_revision",
    "migrate",
    "non_finite",
    "normalize_url",
    "promotion_gate",
    "role_allows",
    "score",
]
