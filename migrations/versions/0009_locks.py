"""Environment locks: who holds an environment (or all of a repository's), until when.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "deployment_locks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("repository", sa.String(length=300), nullable=False),
        sa.Column("environment", sa.String(length=100), nullable=True),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column("sticky", sa.Boolean(), nullable=False),
        _when("created_at", nullable=False),
        _when("expires_at", nullable=False),
        _when("released_at"),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("slot", sa.String(length=450), nullable=True),
        sa.UniqueConstraint("slot", name="uq_deployment_locks_slot"),
    )
    op.create_index(
        "ix_deployment_locks_repository", "deployment_locks", ["provider", "repository"]
    )


def downgrade() -> None:
    op.drop_table("deployment_locks")
