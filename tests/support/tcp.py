"""Small TCP stand-ins: a switchable proxy, a black hole, a server that counts who reached it,
and the shell function a sandboxed script reaches out with."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator


class SwitchableProxy:
    """Forwards a loopback port to a real server while up; refuses connections while down."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        sock.close()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                sink.close()


@contextlib.contextmanager
def black_hole() -> socket.socket:  # type: ignore[misc]
    """A port that accepts TCP connections (in its backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield sock
    finally:
        sock.close()


# `reach HOST PORT` in a step's bash: the server's first line, or "unreachable".
REACH = """
reach() {
  timeout 5 bash -c "exec 3<>/dev/tcp/$1/$2 && head -1 <&3" 2>/dev/null || echo unreachable
}
"""


def host_address() -> str:
    """This machine's address on its network (not loopback), as a sandbox sees the host."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.123", 9))  # no packet is sent: this only picks a route
        return str(probe.getsockname()[0])


class Listener:
    """A TCP server that answers `hello` and counts the connections it accepted."""

    def __init__(self) -> None:
        self.accepted = 0
        self.port = 0

    async def _answer(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        writer.write(b"hello\n")
        await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def listening(host: str) -> AsyncIterator[Listener]:
    """A `Listener` on `host` (any port)."""
    listener = Listener()
    server = await asyncio.start_server(listener._answer, host, 0)
    listener.port = server.sockets[0].getsockname()[1]
    try:
        yield listener
    finally:
        server.close()
        await server.wait_closed()
