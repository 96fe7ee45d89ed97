"""The `deliveries` table: each webhook delivery as the host sent it, and what became of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlmodel import Field, SQLModel

from app.db.models.base import utcnow
from app.work.states import Transitions

__all__ = ["MOVES", "UNFINISHED", "Delivery", "DeliveryStatus"]


class DeliveryStatus(StrEnum):
    RECEIVED = "received"  # stored; not yet handed to the queue
    QUEUED = "queued"  # handed to the queue
    PROCESSING = "processing"
    PROCESSED = "processed"
    IGNORED = "ignored"  # stored and acknowledged, nothing to do (a ping)
    FAILED = "failed"


UNFINISHED = (DeliveryStatus.RECEIVED, DeliveryStatus.QUEUED, DeliveryStatus.PROCESSING)

# The moves a delivery makes. Claiming (to processing) is its own UPDATE, with the lease.
MOVES: Transitions[DeliveryStatus] = Transitions(
    {
        DeliveryStatus.RECEIVED: [DeliveryStatus.QUEUED],
        DeliveryStatus.QUEUED: [DeliveryStatus.RECEIVED],  # the queue did not take it after all
        DeliveryStatus.PROCESSING: [
            DeliveryStatus.PROCESSED,
            DeliveryStatus.IGNORED,
            DeliveryStatus.FAILED,
            DeliveryStatus.QUEUED,  # a handler failed: tried again later
        ],
        DeliveryStatus.FAILED: [DeliveryStatus.QUEUED],  # retried by hand, or redelivered
    }
)


class Delivery(SQLModel, table=True):
    """One webhook delivery exactly as the host sent it, and what became of it."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("provider", "delivery_id", name="uq_deliveries_provider_delivery_id"),
        # A replayed body is a duplicate whatever its delivery id (NULL for rows stored before).
        UniqueConstraint("provider", "body_sha256", name="uq_deliveries_provider_body_sha256"),
        Index("ix_deliveries_status_received_at", "status", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=16)
    delivery_id: str = Field(max_length=200)
    event: str = Field(max_length=100)
    action: str | None = Field(default=None, max_length=100)
    received_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    headers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    body_sha256: str | None = Field(default=None, max_length=64)
    # False when accepted without a webhook secret (SHIPYARD_ALLOW_UNSIGNED_WEBHOOKS): such a
    # delivery is stored and normalised, and never acted on.
    signed: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=true())
    )
    status: str = Field(default=DeliveryStatus.RECEIVED, max_length=16)
    error: str | None = Field(default=None, sa_column=Column(Text))
    attempts: int = 0
    kind: str | None = Field(default=None, max_length=32)
    normalised: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    processed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # What the features made of it, by feature: {"pipelines": {"runs": [ids]}}.
    outcome: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # The handlers that finished (`feature.handler`): a retry runs only the others.
    handled: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default=text("'[]'")),
    )
    # When it was last handed to the queue: a sweep re-enqueues one whose job was lost.
    queued_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
