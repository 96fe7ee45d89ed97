"""The `pipeline_runs` and `step_runs` tables: runs of pipelines, and their steps."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db.models.base import utcnow

__all__ = ["PipelineRun", "RunState", "StepRun", "StepState"]


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class PipelineRun(SQLModel, table=True):
    """One run of one pipeline for one event (or a manual start)."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (
        # A delivery starts a pipeline once, however often its routing job runs.
        Index("uq_pipeline_runs_delivery_pipeline", "delivery_pk", "pipeline", unique=True),
        Index("ix_pipeline_runs_group_state", "concurrency_group", "state"),
        Index("ix_pipeline_runs_repository", "provider", "repository", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=16)
    repository: str = Field(max_length=300)
    pipeline: str = Field(max_length=100)
    trigger: str = Field(max_length=32)
    state: str = Field(default=RunState.QUEUED, max_length=16)
    sha: str | None = Field(default=None, max_length=64)
    ref: str | None = Field(default=None, max_length=300)
    pr_number: int | None = None
    # GitHub's ids pass 2**31; a pull request number does not (normalisation refuses one that does).
    installation_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    delivery_pk: int | None = Field(default=None, foreign_key="deliveries.id")
    concurrency_group: str | None = Field(default=None, max_length=300)
    cancel_requested: bool = False
    status_context: str = Field(max_length=200)
    event: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class StepRun(SQLModel, table=True):
    """One step of a run: its state, attempts, outputs, log and recorded side effects."""

    __tablename__ = "step_runs"
    __table_args__ = (
        UniqueConstraint("run_id", "name", name="uq_step_runs_run_id_name"),
        Index("ix_step_runs_state_heartbeat", "state", "heartbeat_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="pipeline_runs.id", index=True)
    name: str = Field(max_length=100)
    type: str = Field(max_length=50)
    position: int
    needs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = Field(default=StepState.PENDING, max_length=16)
    attempts: int = 0
    outputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    recorded: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    log: str = Field(default="", sa_column=Column(Text, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    heartbeat_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # The worker process running the current attempt (`host:pid`), for a take-over to check.
    owner: str | None = Field(default=None, max_length=200)
