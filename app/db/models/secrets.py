"""The `secret_definitions` table: secrets the server defines — where each value lives (a
reference, never the value) and which repositories may use it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db.models.base import utcnow

__all__ = ["SecretDefinition"]


class SecretDefinition(SQLModel, table=True):
    """`secret://NAME` in a repository's config resolves through one of these."""

    __tablename__ = "secret_definitions"
    __table_args__ = (UniqueConstraint("name", name="uq_secret_definitions_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    source: str = Field(max_length=500)  # env://VAR, file:///path, vault://…
    repositories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
