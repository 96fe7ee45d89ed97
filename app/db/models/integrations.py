"""The `integrations` table: each connection to the outside world the server registered — its
provider, config and a credential reference (never the credential), labels and last health —
and `integration_checks`: when each of its health checks is next due (the monitor's schedule)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db.models.base import utcnow

__all__ = ["IntegrationCheck", "IntegrationRow"]


def _when(nullable: bool = False) -> Any:
    return Column(DateTime(timezone=True), nullable=nullable)


class IntegrationRow(SQLModel, table=True):
    __tablename__ = "integrations"
    __table_args__ = (UniqueConstraint("name", name="uq_integrations_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    type: str = Field(max_length=16)
    provider: str = Field(max_length=40)
    description: str = Field(default="", max_length=500)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    credential_ref: str | None = Field(default=None, max_length=500)
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The repositories whose config may name it (`acme/*`, `gitlab:group/**`); none: only the
    # server's own uses (the monitor, the CLI and API, registries matched by host, targets).
    repositories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    health: str = Field(default="unknown", max_length=16)
    health_checked_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    health_latency_ms: float | None = None
    health_message: str | None = Field(default=None, max_length=500)
    # The last result of each check level: {level: {ok, latency_ms, message, checked_at}}.
    checks: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class IntegrationCheck(SQLModel, table=True):
    """One health check of an integration (a level) and when it is next due; the monitor's
    claim moves `due_at` on, so a check is run once per interval whichever worker claims it."""

    __tablename__ = "integration_checks"
    __table_args__ = (
        UniqueConstraint("integration_id", "level", name="uq_integration_checks_level"),
        Index("ix_integration_checks_due", "level", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    integration_id: int = Field(
        sa_column=Column(Integer, ForeignKey("integrations.id", ondelete="CASCADE"), nullable=False)
    )
    level: str = Field(max_length=16)
    due_at: datetime = Field(default_factory=utcnow, sa_column=_when())
