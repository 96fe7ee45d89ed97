"""Deploy targets, deployment jobs and their tasks, artifacts and approvals.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("connection", sa.JSON(), nullable=False),
        sa.Column("credential", sa.String(length=500), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("repositories", sa.JSON(), nullable=False),
        sa.Column("idempotent", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        sa.UniqueConstraint("name", name="uq_targets_name"),
    )
    op.create_table(
        "deployment_jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("repository", sa.String(length=300), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("environment", sa.String(length=100), nullable=False),
        sa.Column("release_id", sa.Integer(), sa.ForeignKey("releases.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("env_slot", sa.String(length=450), nullable=True),
        sa.Column("requested_by_kind", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("via", sa.String(length=32), nullable=False),
        sa.Column("approvals_required", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("previous_release_id", sa.Integer(), nullable=True),
        sa.Column("rollback_of", sa.Integer(), nullable=True),
        sa.Column("live_colour", sa.String(length=16), nullable=True),
        sa.Column("host_deployment", sa.JSON(), nullable=True),
        sa.Column("reported", sa.JSON(), nullable=False),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        _when("started_at"),
        _when("finished_at"),
        sa.UniqueConstraint("env_slot", name="uq_deployment_jobs_env_slot"),
    )
    op.create_index(
        "ix_deployment_jobs_environment",
        "deployment_jobs",
        ["provider", "repository", "environment", "id"],
    )
    op.create_index("ix_deployment_jobs_state", "deployment_jobs", ["state", "updated_at"])
    op.create_index("ix_deployment_jobs_release", "deployment_jobs", ["release_id"])
    op.create_table(
        "deployment_tasks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("deployment_jobs.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=True),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("component", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=100), nullable=True),
        sa.Column("replaced_digest", sa.String(length=100), nullable=True),
        sa.Column("resumed_from", sa.String(length=16), nullable=True),
        sa.Column("recorded", sa.JSON(), nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _when("started_at"),
        _when("finished_at"),
        _when("heartbeat_at"),
        sa.Column("owner", sa.String(length=200), nullable=True),
    )
    op.create_index("ix_deployment_tasks_job", "deployment_tasks", ["job_id", "position"])
    op.create_index(
        "ix_deployment_tasks_state_heartbeat", "deployment_tasks", ["state", "heartbeat_at"]
    )
    op.create_table(
        "deployment_artifacts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("deployment_jobs.id"), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        _when("created_at", nullable=False),
        sa.UniqueConstraint("job_id", "purpose", "name", name="uq_deployment_artifacts_name"),
    )
    op.create_table(
        "deployment_approvals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("deployment_jobs.id"), nullable=False),
        sa.Column("host", sa.String(length=16), nullable=False),
        sa.Column("login", sa.String(length=200), nullable=False),
        _when("created_at", nullable=False),
        sa.UniqueConstraint("job_id", "host", "login", name="uq_deployment_approvals_person"),
    )


def downgrade() -> None:
    for table in (
        "deployment_approvals",
        "deployment_artifacts",
        "deployment_tasks",
        "deployment_jobs",
        "targets",
    ):
        op.drop_table(table)
