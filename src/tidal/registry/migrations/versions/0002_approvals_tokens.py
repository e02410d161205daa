"""Revision 2: human approvals on versions, and API tokens.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("approved_by", sa.String(128), nullable=True))
        batch.add_column(sa.Column("approved_at", tz, nullable=True))
        batch.add_column(sa.Column("approval_reason", sa.Text, nullable=True))
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("salt", sa.LargeBinary, nullable=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("rotated_at", tz, nullable=True),
        sa.Column("revoked_at", tz, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("approval_reason")
        batch.drop_column("approved_at")
        batch.drop_column("approved_by")
