"""Pipeline runs and their steps; what routing made of a delivery.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("outcome", sa.JSON(), nullable=True))
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("repository", sa.String(300), nullable=False),
        sa.Column("pipeline", sa.String(100), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("sha", sa.String(64), nullable=True),
        sa.Column("ref", sa.String(300), nullable=True),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column("installation_id", sa.Integer(), nullable=True),
        sa.Column("delivery_pk", sa.Integer(), sa.ForeignKey("deliveries.id"), nullable=True),
        sa.Column("concurrency_group", sa.String(300), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("status_context", sa.String(200), nullable=False),
        sa.Column("event", sa.JSON(), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("started_at", _WHEN, nullable=True),
        sa.Column("finished_at", _WHEN, nullable=True),
    )
    op.create_index("ix_pipeline_runs_group_state", "pipeline_runs", ["concurrency_group", "state"])
    op.create_index(
        "ix_pipeline_runs_repository", "pipeline_runs", ["provider", "repository", "created_at"]
    )
    op.create_table(
        "step_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("pipeline_runs.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("recorded", sa.JSON(), nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", _WHEN, nullable=True),
        sa.Column("finished_at", _WHEN, nullable=True),
        sa.Column("heartbeat_at", _WHEN, nullable=True),
        sa.UniqueConstraint("run_id", "name", name="uq_step_runs_run_id_name"),
    )
    op.create_index("ix_step_runs_run_id", "step_runs", ["run_id"])
    op.create_index("ix_step_runs_state_heartbeat", "step_runs", ["state", "heartbeat_at"])


def downgrade() -> None:
    op.drop_table("step_runs")
    op.drop_table("pipeline_runs")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("outcome")
