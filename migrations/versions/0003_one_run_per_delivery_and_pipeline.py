"""A delivery starts each pipeline at most once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_pipeline_runs_delivery_pipeline",
        "pipeline_runs",
        ["delivery_pk", "pipeline"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_pipeline_runs_delivery_pipeline", table_name="pipeline_runs")
