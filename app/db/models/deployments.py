"""The deployments feature's tables: deploy targets (server-side, credentials as references),
deployment jobs, their tasks (durable work), the artifacts a job generated and its approvals."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Text,
    UniqueConstraint,
    false,
)
from sqlmodel import Field, SQLModel

from app.db.models.base import utcnow

__all__ = [
    "ACTIVE_JOB_STATES",
    "FINISHED_JOB_STATES",
    "WAITING_JOB_STATES",
    "DeploymentApproval",
    "DeploymentArtifact",
    "DeploymentJob",
    "DeploymentTask",
    "JobKind",
    "JobState",
    "Target",
    "TaskKind",
    "TaskState",
]


class JobState(StrEnum):
    """A deployment job's life: waiting (for CI, its requester's confirmation, approvals, then
    its turn), then the seed's machine
    pending → preparing → running → completing → completed, or failed, or rolling_back →
    rolled_back; cancelled by a person at any point before it ends."""

    AWAITING_CHECKS = "awaiting_checks"  # a pull request's deploy: its commit's CI is pending
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # its requester is asked to /confirm
    AWAITING_APPROVAL = "awaiting_approval"
    QUEUED = "queued"  # approved; waits its turn for the environment (FIFO)
    PENDING = "pending"  # holds the environment; about to start
    PREPARING = "preparing"  # generating artifacts, planning tasks
    RUNNING = "running"  # tasks, wave by wave
    COMPLETING = "completing"  # every wave done: recording and reporting the outcome
    COMPLETED = "completed"
    FAILED = "failed"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    CANCELLED = "cancelled"


# The states in which a job waits before its turn (FIFO once queued).
WAITING_JOB_STATES = (
    JobState.AWAITING_CHECKS,
    JobState.AWAITING_CONFIRMATION,
    JobState.AWAITING_APPROVAL,
    JobState.QUEUED,
)
# The states in which a job holds its environment: one such job per environment at a time.
ACTIVE_JOB_STATES = (
    JobState.PENDING,
    JobState.PREPARING,
    JobState.RUNNING,
    JobState.COMPLETING,
    JobState.ROLLING_BACK,
)
FINISHED_JOB_STATES = (
    JobState.COMPLETED,
    JobState.FAILED,
    JobState.ROLLED_BACK,
    JobState.CANCELLED,
)


class JobKind(StrEnum):
    DEPLOY = "deploy"  # a release promoted into the environment
    ROLLBACK = "rollback"  # the environment put back on an earlier release


class TaskState(StrEnum):
    PENDING = "pending"  # its wave has not begun
    QUEUED = "queued"  # ready: handed to the queue (or kept by the job that made it ready)
    DISPATCHED = "dispatched"  # claimed by an attempt that has not acted yet
    RUNNING = "running"  # the executor is acting on the target
    VERIFYING = "verifying"  # deployed; health checks run
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRYING = "retrying"  # an attempt failed; the next waits for its back-off
    CANCELLED = "cancelled"  # never ran: its job was cancelled or stopped before its wave


class TaskKind(StrEnum):
    DEPLOY = "deploy"  # a component onto a target
    BAKE = "bake"  # a canary's bake: health checks repeated on its targets for a while
    SWITCH = "switch"  # blue-green: traffic to the colour just deployed
    ROLLBACK = "rollback"  # a target back on the digest its deploy task replaced


def _when(nullable: bool = True) -> Any:
    return Column(DateTime(timezone=True), nullable=nullable)


def _json() -> Any:
    return Column(JSON, nullable=False)


class Target(SQLModel, table=True):
    """What a deploy may touch, registered on the server: its type and connection, the
    credential's reference (never its value), labels, and the repositories allowed to use it."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("name", name="uq_targets_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    type: str = Field(max_length=16)
    connection: dict[str, Any] = Field(default_factory=dict, sa_column=_json())
    credential: str | None = Field(default=None, max_length=500)
    labels: dict[str, str] = Field(default_factory=dict, sa_column=_json())
    repositories: list[str] = Field(default_factory=list, sa_column=_json())
    idempotent: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_when(nullable=False))


class DeploymentJob(SQLModel, table=True):
    """One release moving into one environment (or the environment put back on an earlier
    one): who asked and how, what the gate decided, the plan, and where it is."""

    __tablename__ = "deployment_jobs"
    __table_args__ = (
        # While a job holds its environment, `env_slot` names it; the unique index lets one
        # job at a time hold it, whatever the number of workers (NULLs never collide).
        UniqueConstraint("env_slot", name="uq_deployment_jobs_env_slot"),
        Index("ix_deployment_jobs_environment", "provider", "repository", "environment", "id"),
        Index("ix_deployment_jobs_state", "state", "updated_at"),
        Index("ix_deployment_jobs_release", "release_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=16)
    repository: str = Field(max_length=300)
    installation_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    environment: str = Field(max_length=100)
    release_id: int = Field(foreign_key="releases.id")
    kind: str = Field(default=JobKind.DEPLOY, max_length=16)
    state: str = Field(default=JobState.QUEUED, max_length=24)
    env_slot: str | None = Field(default=None, max_length=450)
    requested_by_kind: str = Field(max_length=32)  # person, service_account, operator, …
    requested_by: str = Field(max_length=200)  # github:alice, the account's name, cli:root
    via: str = Field(max_length=32)  # api, cli, auto_deploy, step, page
    approvals_required: int = 0
    params: dict[str, str] = Field(default_factory=dict, sa_column=_json())
    # The environment and its targets as the gate saw them: the job runs what was decided.
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=_json())
    plan: list[dict[str, Any]] = Field(default_factory=list, sa_column=_json())
    previous_release_id: int | None = None  # what ran in the environment before
    rollback_of: int | None = None  # a rollback job: the job whose release it replaces
    live_colour: str | None = Field(default=None, max_length=16)  # blue-green, once switched
    host_deployment: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reported: list[str] = Field(default_factory=list, sa_column=_json())
    pr_number: int | None = None
    cancel_requested: bool = False
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_when(nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=_when())
    finished_at: datetime | None = Field(default=None, sa_column=_when())


class DeploymentTask(SQLModel, table=True):
    """One piece of a job's plan — a component onto a target, a bake, a switch, a rollback —
    as durable work (`app.work.lease`): claimed with a lease, beating, taken over."""

    __tablename__ = "deployment_tasks"
    __table_args__ = (
        Index("ix_deployment_tasks_job", "job_id", "position"),
        Index("ix_deployment_tasks_state_heartbeat", "state", "heartbeat_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="deployment_jobs.id")
    position: int
    wave: int
    kind: str = Field(default=TaskKind.DEPLOY, max_length=16)
    target: str | None = Field(default=None, max_length=100)
    targets: list[str] = Field(default_factory=list, sa_column=_json())  # bake, switch
    component: str | None = Field(default=None, max_length=100)
    state: str = Field(default=TaskState.PENDING, max_length=16)
    attempts: int = 0
    max_attempts: int = 1
    digest: str | None = Field(default=None, max_length=100)  # what it deploys
    replaced_digest: str | None = Field(default=None, max_length=100)  # what ran there before
    resumed_from: str | None = Field(default=None, max_length=16)  # state a take-over found
    recorded: dict[str, Any] = Field(default_factory=dict, sa_column=_json())
    log: str = Field(default="", sa_column=Column(Text, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text))
    started_at: datetime | None = Field(default=None, sa_column=_when())
    finished_at: datetime | None = Field(default=None, sa_column=_when())
    heartbeat_at: datetime | None = Field(default=None, sa_column=_when())
    owner: str | None = Field(default=None, max_length=200)


class DeploymentArtifact(SQLModel, table=True):
    """A file a job generated (compose lock, env file, …): its bytes as stored (secrets as
    references only) and their sha256. `purpose` is deploy, or rollback for the files that
    put the previous release back."""

    __tablename__ = "deployment_artifacts"
    __table_args__ = (
        UniqueConstraint("job_id", "purpose", "name", name="uq_deployment_artifacts_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="deployment_jobs.id")
    purpose: str = Field(default="deploy", max_length=16)
    name: str = Field(max_length=50)
    filename: str = Field(max_length=200)
    content: str = Field(sa_column=Column(Text, nullable=False))
    sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when(nullable=False))


class DeploymentApproval(SQLModel, table=True):
    """A person's approval of a job, once per person."""

    __tablename__ = "deployment_approvals"
    __table_args__ = (
        UniqueConstraint("job_id", "host", "login", name="uq_deployment_approvals_person"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="deployment_jobs.id")
    host: str = Field(max_length=16)
    login: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when(nullable=False))
