"""The `service_accounts` table: who may call the REST API. A token is stored as its SHA-256
only; the token itself is shown once, when the account is made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db.models.base import utcnow

__all__ = ["ServiceAccount"]


class ServiceAccount(SQLModel, table=True):
    __tablename__ = "service_accounts"
    __table_args__ = (
        UniqueConstraint("name", name="uq_service_accounts_name"),
        UniqueConstraint("token_sha256", name="uq_service_accounts_token_sha256"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Beyond the roles': [{"resource": "releases", "action": "create"}, …]
    permissions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    repositories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    token_sha256: str = Field(max_length=64)
    created_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    expires_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    last_used_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
