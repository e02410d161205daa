"""The registry's tables (SQLAlchemy Core), at the newest schema revision.

The migrations in ``tidal/registry/migrations`` create exactly these; the code reads and writes
through these objects only.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = ["api_tokens", "audit_log", "metadata", "model_versions"]

metadata = MetaData()

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("params", JSON, nullable=False),
    Column("data_range", JSON, nullable=True),
    Column("metrics", JSON, nullable=False),
    Column("parent_version", Integer, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("promoted_at", DateTime(timezone=True), nullable=True),
    Column("state", LargeBinary, nullable=False),
    Column("state_sha256", String(64), nullable=False),
    # revision 2
    Column("approved_by", String(128), nullable=True),
    Column("approved_at", DateTime(timezone=True), nullable=True),
    Column("approval_reason", Text, nullable=True),
    UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("name", String(64), nullable=True),
    Column("version", Integer, nullable=True),
    Column("from_stage", String(16), nullable=True),
    Column("to_stage", String(16), nullable=True),
    Column("reason", Text, nullable=False),
    Column("details", JSON, nullable=False),
)

# revision 2
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("salt", LargeBinary, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("rotated_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)
