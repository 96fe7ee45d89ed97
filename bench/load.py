"""Load generators: closed loop (N workers, each sends when answered) and open loop (fixed rate).

Both post pre-signed bodies with a fresh `X-GitHub-Delivery` per request, through httpx or the
bench's raw client, count every answer other than the server's success status (202; Probot's
is 200) and every transport error as an error, and record each request's latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from bench.cpu import CpuClock
from bench.payloads import SignedBody, delivery_headers
from bench.rawhttp import RawClient

__all__ = [
    "CLIENTS",
    "Measurement",
    "Post",
    "closed_loop",
    "open_loop",
    "percentile",
    "poster",
]

CLIENTS = ("httpx", "raw")
# Sends one delivery; the outcome is the status code, or the transport error's name.
Post = Callable[[SignedBody], Awaitable[str]]


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = math.ceil(fraction * len(sorted_values) - 1e-9)
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


@dataclass
class Measurement:
    """What one phase saw. Latencies are in seconds, one per request, failed ones included."""

    sent: int = 0
    ok: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    since_send: list[float] = field(default_factory=list)  # open loop: from the actual send
    errors: Counter[str] = field(default_factory=Counter)
    cpu: dict[str, float] = field(default_factory=dict)  # see bench.cpu.CpuClock

    ok_status: str = "202"  # Probot answers 200

    def record(self, status: str, latency: float) -> None:
        self.sent += 1
        self.latencies.append(latency)
        if status == self.ok_status:
            self.ok += 1
        else:
            self.errors[status] += 1

    def summary(self) -> dict[str, object]:
        latencies, since_send = sorted(self.latencies), sorted(self.since_send)
        summary: dict[str, object] = {
            "sent": self.sent,
            "ok": self.ok,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "elapsed_s": round(self.elapsed, 3),
            "rps": round(self.ok / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": round(1000 * percentile(latencies, 0.50), 2),
            "p99_ms": round(1000 * percentile(latencies, 0.99), 2),
            "max_ms": round(1000 * (latencies[-1] if latencies else 0.0), 2),
            **self.cpu,
        }
        if "server_cpu_s" in self.cpu and self.sent:
            per_request = self.cpu["server_cpu_s"] / self.sent
            summary["server_cpu_ms_per_request"] = round(1000 * per_request, 3)
        if since_send:
            summary["p50_since_send_ms"] = round(1000 * percentile(since_send, 0.50), 2)
            summary["p99_since_send_ms"] = round(1000 * percentile(since_send, 0.99), 2)
        return summary


@contextlib.asynccontextmanager
async def poster(client: str, url: str, connections: int) -> AsyncIterator[Post]:
    """A `Post` to `url` through `client` ("httpx" or "raw") over at most `connections`."""
    if client == "httpx":
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(10.0)) as session:

            async def post_httpx(signed: SignedBody) -> str:
                headers = delivery_headers(signed)
                try:
                    response = await session.post(url, content=signed.body, headers=headers)
                except httpx.HTTPError as error:
                    return type(error).__name__
                return str(response.status_code)

            yield post_httpx
        return
    parts = urlsplit(url)
    raw = RawClient(parts.hostname or "127.0.0.1", parts.port or 80, connections=connections)

    async def post_raw(signed: SignedBody) -> str:
        try:
            return str(await raw.post(parts.path, delivery_headers(signed), signed.body))
        except (OSError, EOFError, TimeoutError, ValueError, asyncio.LimitOverrunError) as error:
            return type(error).__name__

    try:
        yield post_raw
    finally:
        await raw.aclose()


async def closed_loop(
    post: Post,
    pool: list[SignedBody],
    *,
    requests: int,
    duration: float,
    concurrency: int,
    server_pid: int | None = None,
    ok_status: str = "202",
) -> Measurement:
    """`concurrency` workers send back to back until `requests` are sent or `duration` is up.
    Every request started is answered (or fails) before this returns."""
    measurement = Measurement(ok_status=ok_status)
    numbers = itertools.count()
    start = time.perf_counter()
    deadline = start + duration

    async def worker() -> None:
        while (number := next(numbers)) < requests and time.perf_counter() < deadline:
            began = time.perf_counter()
            status = await post(pool[number % len(pool)])
            measurement.record(status, time.perf_counter() - began)

    clock = CpuClock(server_pid) if server_pid else None
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    measurement.elapsed = time.perf_counter() - start
    measurement.cpu = clock.percentages() if clock else {}
    return measurement


async def open_loop(
    post: Post,
    pool: list[SignedBody],
    *,
    rate: float,
    duration: float,
    server_pid: int | None = None,
    ok_status: str = "202",
) -> Measurement:
    """Start a request every 1/`rate` s for `duration` s, whether or not earlier ones answered.

    `latencies` run from each request's scheduled start (so a client or server that falls
    behind is charged for the wait: no coordinated omission); `since_send` from its actual send.
    """
    measurement = Measurement(ok_status=ok_status)
    count = max(1, round(rate * duration))
    start = time.perf_counter() + 0.01

    async def send(number: int, scheduled: float) -> None:
        began = time.perf_counter()
        status = await post(pool[number % len(pool)])
        done = time.perf_counter()
        measurement.record(status, done - scheduled)
        measurement.since_send.append(done - began)

    clock = CpuClock(server_pid) if server_pid else None
    tasks = []
    for number in range(count):
        scheduled = start + number / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(number, scheduled)))
    await asyncio.gather(*tasks)
    measurement.elapsed = time.perf_counter() - start
    measurement.cpu = clock.percentages() if clock else {}
    return measurement
