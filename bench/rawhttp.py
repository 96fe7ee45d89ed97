"""A minimal HTTP/1.1 keep-alive client for load: cheap enough that the server, not it, saturates.

httpx spends ~1-2 ms of CPU per request at 50 connections (its pool scans every connection on
each request), so on a small machine it, not a fast server, sets the pace. This client writes
one pre-formatted request per exchange and reads a Content-Length answer; it does nothing else
(no redirects, no chunked bodies, no TLS) and is meant only for servers this bench starts.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["RawClient"]

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class RawClient:
    """POSTs over at most `connections` kept-alive connections to one loopback server."""

    def __init__(self, host: str, port: int, *, connections: int, timeout: float = 10.0) -> None:
        self._host, self._port, self._timeout = host, port, timeout
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[_Connection] = []

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> int:
        """Send one request and return the answer's status code; raises on transport errors."""
        head = f"POST {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items()
        )
        request = f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
        async with self._slots, asyncio.timeout(self._timeout):
            while True:
                connection = self._idle.pop() if self._idle else None
                reused = connection is not None
                try:
                    if connection is None:
                        connection = await asyncio.open_connection(self._host, self._port)
                    status, keep_alive = await _exchange(connection, request)
                except (asyncio.IncompleteReadError, ConnectionError) as error:
                    if connection is not None:
                        connection[1].close()
                    if reused and not getattr(error, "partial", b""):
                        continue  # the server closed it while it sat idle (keep-alive timeout)
                    raise
                except BaseException:
                    if connection is not None:
                        connection[1].close()
                    raise
                if keep_alive:
                    self._idle.append(connection)
                else:
                    connection[1].close()
                return status

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _reader, writer in idle:
            writer.close()
        for _reader, writer in idle:
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _exchange(connection: _Connection, request: bytes) -> tuple[int, bool]:
    reader, writer = connection
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, keep_alive = None, True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            keep_alive = False
    if length is None:
        raise ValueError("the answer has no Content-Length; this client reads no other kind")
    await reader.readexactly(length)
    return status, keep_alive
