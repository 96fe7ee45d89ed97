"""Claiming durable work with a lease, beating, and finding work whose beats stopped.

A row of durable work has `id`, `state`, `attempts`, `started_at` and `heartbeat_at`. Claiming
is one conditional UPDATE: the row is taken if it is pending, or running with a heartbeat older
than the lease (its worker died). Whoever's UPDATE matched holds it; a job id never decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, or_, update
from sqlmodel import SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

__all__ = ["LeasedWork"]


@dataclass(frozen=True)
class LeasedWork:
    """A table of durable work, and the names of its pending and running states."""

    table: type[SQLModel]
    pending: str
    running: str

    def _column(self, name: str) -> Any:
        return col(getattr(self.table, name))

    def claim(self, pk: int, *, lease: timedelta, now: datetime) -> Update:
        """Take row `pk` to run it (pending, or running but unbeaten for `lease`)."""
        state, heartbeat = self._column("state"), self._column("heartbeat_at")
        return (
            update(self.table)
            .where(
                self._column("id") == pk,
                or_(state == self.pending, (state == self.running) & (heartbeat < now - lease)),
            )
            .values(
                state=self.running,
                attempts=self._column("attempts") + 1,
                started_at=now,
                heartbeat_at=now,
            )
        )

    def beat(self, pk: int, *, now: datetime, **values: Any) -> Update:
        """Row `pk` is alive (and anything else to store with the beat)."""
        return update(self.table).where(self._column("id") == pk).values(heartbeat_at=now, **values)

    def stale(self, *, older_than: datetime) -> SelectOfScalar[Any]:
        """Running rows whose last beat is older than `older_than`: their worker died."""
        return select(self.table).where(
            self._column("state") == self.running, self._column("heartbeat_at") < older_than
        )
