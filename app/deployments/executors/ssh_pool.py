"""The process's SSH connections to deploy targets, kept one per job and target for the job's
tasks.

Several tasks of one job reach the same host (one per component, health checks, a blue-green
switch): `SshConnections.use` opens the connection once (`ssh_connections.open_connection`)
and hands it to each of them. A job's connections close with `close_job`, the pool's with
`aclose`; one nobody has used for `idle_seconds` closes by itself, and one that died is
opened again on its next use. asyncssh is imported only when a connection is first opened:
every process holds a pool, and most never open one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.deployments.executors.base import DeployFailed, TargetInfo
from app.deployments.targets.spec import SshConnection

if TYPE_CHECKING:
    from asyncssh import SSHClientConnection

__all__ = ["IDLE_SECONDS", "SshConnections"]

IDLE_SECONDS = 300.0  # a pooled connection nobody used for this long is closed
Resolve = Callable[[str], Awaitable[str]]


@dataclass
class _Pooled:
    connection: SSHClientConnection
    users: int = 0
    idle_timer: asyncio.TimerHandle | None = None


_Key = tuple[int, str, SshConnection, str | None]


class SshConnections:
    """The process's SSH connections, by job and target (its name, connection and
    credential): opened once, reused by every task of the job."""

    def __init__(self, *, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self.opened = 0  # connections opened so far
        self._pooled: dict[_Key, _Pooled] = {}
        self._opening: dict[_Key, asyncio.Lock] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        """How many connections the pool holds."""
        return len(self._pooled)

    @contextlib.asynccontextmanager
    async def use(
        self, job_id: int, target: TargetInfo, resolve: Resolve
    ) -> AsyncIterator[SSHClientConnection]:
        """The job's connection to `target`, opened if it has none (or its one died)."""
        if not isinstance(target.connection, SshConnection):
            raise DeployFailed(f"target {target.name} is a {target.type} target, not an ssh one")
        key: _Key = (job_id, target.name, target.connection, target.credential)
        async with self._opening.setdefault(key, asyncio.Lock()):
            pooled = self._pooled.get(key)
            if pooled is None or pooled.connection.is_closed():
                from app.deployments.executors.ssh_connections import open_connection

                pooled = _Pooled(await open_connection(target, resolve))
                self._pooled[key] = pooled
                self.opened += 1
            pooled.users += 1
            if pooled.idle_timer is not None:
                pooled.idle_timer.cancel()
                pooled.idle_timer = None
        try:
            yield pooled.connection
        finally:
            pooled.users -= 1
            if pooled.users == 0 and self._pooled.get(key) is pooled:
                loop = asyncio.get_running_loop()
                pooled.idle_timer = loop.call_later(self.idle_seconds, self._expire, key, pooled)

    def _expire(self, key: _Key, pooled: _Pooled) -> None:
        if self._pooled.get(key) is pooled and pooled.users == 0:
            self._start_closing([key])

    async def close_job(self, job_id: int) -> None:
        """Close the job's connections (its tasks are over)."""
        self._start_closing([key for key in self._pooled if key[0] == job_id])
        self._opening = {key: lock for key, lock in self._opening.items() if key[0] != job_id}
        await self._closed()

    async def aclose(self) -> None:
        """Close every connection (the process stops)."""
        self._start_closing(list(self._pooled))
        self._opening.clear()
        await self._closed()

    def _start_closing(self, keys: list[_Key]) -> None:
        for key in keys:
            pooled = self._pooled.pop(key)
            if pooled.idle_timer is not None:
                pooled.idle_timer.cancel()
            task = asyncio.get_running_loop().create_task(_close(pooled.connection))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _closed(self) -> None:
        await asyncio.gather(*self._closing, return_exceptions=True)  # closed either way


async def _close(connection: SSHClientConnection) -> None:
    connection.close()
    await connection.wait_closed()
