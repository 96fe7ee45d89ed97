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
    """A table of durable work, and the names of its pending and running states.

    Work with more states than two names them too: `ready` are more states a claim takes it
    from (a retry waiting out its back-off), `held` more states an attempt holds it in (a
    deployment task is dispatched, running, then verifying), and `resumed_column` a column the
    claim sets to the state it found the row in — so a take-over knows how far the attempt it
    replaces had gone (whether it may already have acted)."""

    table: type[SQLModel]
    pending: str
    running: str
    ready: tuple[str, ...] = ()
    held: tuple[str, ...] = ()
    resumed_column: str | None = None

    def _column(self, name: str) -> Any:
        return col(getattr(self.table, name))

    @property
    def _claimable(self) -> tuple[str, ...]:
        return (self.pending, *self.ready)

    @property
    def _holding(self) -> tuple[str, ...]:
        return (self.running, *self.held)

    def claim(
        self, pk: int, *, lease: timedelta, now: datetime, owner: str | None = None
    ) -> Update:
        """Take row `pk` to run it (pending, or running but unbeaten for `lease`): one more
        attempt, run by `owner`."""
        state, heartbeat = self._column("state"), self._column("heartbeat_at")
        resumed = {self.resumed_column: state} if self.resumed_column else {}
        return (
            update(self.table)
            .execution_options(synchronize_session=False)  # nothing of it is in a session
            .where(
                self._column("id") == pk,
                or_(
                    state.in_(self._claimable),
                    state.in_(self._holding) & (heartbeat < now - lease),
                ),
            )
            .values(
                state=self.running,
                attempts=self._column("attempts") + 1,
                started_at=now,
                heartbeat_at=now,
                owner=owner,
                **resumed,
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
                self._column("state").in_(self._holding),
                self._column("attempts") == attempt,
                self._column("owner") == owner,
            )
            .values(heartbeat_at=now, **values)
        )

    def stale(self, *, older_than: datetime) -> SelectOfScalar[Any]:
        """Running rows whose last beat is older than `older_than`: their worker died."""
        return select(self.table).where(
            self._column("state").in_(self._holding), self._column("heartbeat_at") < older_than
        )


def worker_identity() -> str:
    """`host:pid` of this process: who runs an attempt, as its row records it."""
    return f"{socket.gethostname()}:{os.getpid()}"
