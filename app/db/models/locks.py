"""The environment locks' table: who holds an environment (or every environment of a
repository), why, until when, and who let it go."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db.models.base import utcnow

__all__ = ["DeploymentLock"]


def _when(nullable: bool = True) -> Any:
    return Column(DateTime(timezone=True), nullable=nullable)


class DeploymentLock(SQLModel, table=True):
    """A lock on one environment of a repository (`environment` None: on all of them), held
    by a person, a service account or the operator until it is released or expires.

    While the lock is held, `slot` names what it holds (`provider:repository:environment`,
    `*` for every environment); the unique index lets one lock at a time hold it, so taking a
    lock is one INSERT whatever the number of processes (NULLs never collide). Releasing it
    sets `slot` back to NULL; the row stays, as the record of who held it."""

    __tablename__ = "deployment_locks"
    __table_args__ = (
        UniqueConstraint("slot", name="uq_deployment_locks_slot"),
        Index("ix_deployment_locks_repository", "provider", "repository"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=16)
    repository: str = Field(max_length=300)
    environment: str | None = Field(default=None, max_length=100)  # None: every environment
    holder: str = Field(max_length=200)  # a Requester's name: github:alice, cli:root, …
    reason: str | None = Field(default=None, sa_column=Column(Text))
    pr_number: int | None = None
    sticky: bool = True  # released when its PR closes
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when(nullable=False))
    expires_at: datetime = Field(sa_column=_when(nullable=False))
    released_at: datetime | None = Field(default=None, sa_column=_when())
    released_by: str | None = Field(default=None, max_length=200)  # who, or "expired"
    forced: bool = False  # released by an admin's --force
    slot: str | None = Field(default=None, max_length=450)
