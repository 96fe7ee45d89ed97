"""`enqueue` says whether the job was added: False for an id the queue already holds."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import redis

from jobqueue.arq_queue import ArqQueue, redis_settings
from jobqueue.inprocess import InProcessQueue


async def test_arq_enqueue_reports_a_duplicate_and_prefixes_the_queue_name(
    redis_url: str,
) -> None:
    queue = ArqQueue(redis_settings(redis_url), queue_name="alpha")
    try:
        assert await queue.enqueue("noop", 1, job_id="work:1") is True
        assert await queue.enqueue("noop", 1, job_id="work:1") is False  # queued already
        assert await queue.enqueue("noop", 2, job_id="work:2") is True
    finally:
        await queue.close()
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.zrange("alpha:queue", 0, -1) == [b"alpha:work:1", b"alpha:work:2"]
        assert client.exists("arq:job:alpha:work:1", "arq:job:alpha:work:2") == 2
        client.set("arq:result:alpha:work:3", b"kept")  # a finished job's result, still kept
    finally:
        client.close()
    queue = ArqQueue(redis_settings(redis_url), queue_name="alpha")
    other = ArqQueue(redis_settings(redis_url), queue_name="beta")
    try:
        assert await queue.enqueue("noop", 3, job_id="work:3") is False
        assert await other.enqueue("noop", 1, job_id="work:1") is True  # its own id space
    finally:
        await queue.close()
        await other.close()


async def test_in_process_enqueue_reports_a_job_already_running() -> None:
    release = asyncio.Event()
    ran: list[int] = []

    async def job(_ctx: Mapping[str, Any], number: int) -> None:
        ran.append(number)
        await release.wait()

    queue = InProcessQueue()
    queue.bind({"job": job}, {})
    assert await queue.enqueue("job", 1, job_id="work:1") is True
    assert await queue.enqueue("job", 1, job_id="work:1") is False  # still running
    release.set()
    await queue.join()
    assert await queue.enqueue("job", 2, job_id="work:1") is True  # finished: a new run
    await queue.join()
    assert ran == [1, 2]


async def test_closing_the_in_process_queue_drops_jobs_still_waiting_to_start() -> None:
    ran: list[str] = []

    async def job(_ctx: object, name: str) -> None:
        ran.append(name)

    queue = InProcessQueue()
    queue.bind({"job": job}, {})
    await queue.enqueue("job", "now", job_id="a")
    await queue.enqueue("job", "in an hour", job_id="b", defer=3600)
    await asyncio.sleep(0)  # "a" starts
    await asyncio.wait_for(queue.close(), timeout=30)  # it does not wait the hour
    assert ran == ["now"]
