"""Claiming durable work with a lease, beating, and finding work whose beats stopped.

A row of durable work has `id`, `state`, `attempts`, `started_at`, `heartbeat_at` and `owner`.
Claiming is one conditional UPDATE: the row is taken if it is pending, or running with a
heartbeat older than the lease (its worker died). Whoever's UPDATE matched holds it; a job id
never decides. The claim counts an attempt and records its worker (`worker_identity`); a beat
matches only while that attempt still holds the row, so an attempt that was taken over learns
it at its next beat (docs/adr/0014-step-takeover.md).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, or_, update
from sqlmodel import SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

__all__ = ["LeasedWork", "worker_identity"]


@dataclass(frozen=True)
class LeasedWork:
    """A table of durable work, and the names of its pending and running states."""

    table: type[SQLModel]
    pending: str
    running: str

    def _column(self, name: str) -> Any:
        return col(getattr(self.table, name))

    def claim(
        self, pk: int, *, lease: timedelta, now: datetime, owner: str | None = None
    ) -> Update:
        """Take row `pk` to run it (pending, or running but unbeaten for `lease`): one more
        attempt, run by `owner`."""
        state, heartbeat = self._column("state"), self._column("heartbeat_at")
        return (
            update(self.table)
            .execution_options(synchronize_session=False)  # nothing of it is in a session
            .where(
                self._column("id") == pk,
                or_(state == self.pending, (state == self.running) & (heartbeat < now - lease)),
            )
            .values(
                state=self.running,
                attempts=self._column("attempts") + 1,
                started_at=now,
                heartbeat_at=now,
                owner=owner,
            )
        )

    def beat(
        self, pk: int, *, now: datetime, attempt: int, owner: str | None, **values: Any
    ) -> Update:
        """Attempt `attempt` of row `pk`, run by `owner`, is alive (and anything else to store
        with the beat). It matches nothing once another attempt has taken the row over."""
        return (
            update(self.table)
            .execution_options(synchronize_session=False)  # nothing of it is in a session
            .where(
                self._column("id") == pk,
                self._column("state") == self.running,
                self._column("attempts") == attempt,
                self._column("owner") == owner,
            )
            .values(heartbeat_at=now, **values)
        )

    def stale(self, *, older_than: datetime) -> SelectOfScalar[Any]:
        """Running rows whose last beat is older than `older_than`: their worker died."""
        return select(self.table).where(
            self._column("state") == self.running, self._column("heartbeat_at") < older_than
        )


def worker_identity() -> str:
    """`host:pid` of this process: who runs an attempt, as its row records it."""
    return f"{socket.gethostname()}:{os.getpid()}"
