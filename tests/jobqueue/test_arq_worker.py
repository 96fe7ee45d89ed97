"""The reconnecting arq worker's parts that a whole-process outage test cannot aim at."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from arq.connections import create_pool
from arq.worker import func
from redis.exceptions import ConnectionError as RedisConnectionError

from jobqueue.arq_queue import ArqQueue, queue_key, redis_settings
from jobqueue.arq_worker import ReconnectingWorker
from tests.support.redis_server import own_redis


async def _noop(_ctx: Mapping[str, Any]) -> None:
    return None


async def test_redis_lost_while_starting_a_job_keeps_no_job_slot(tmp_path: Path) -> None:
    """arq takes a slot before it asks Redis whether the job is free; a worker that lost
    Redis right then must give the slot back, or after `max_jobs` such outages it starts none."""
    with own_redis(tmp_path) as server:
        settings = redis_settings(server.url)
        worker = ReconnectingWorker(
            [func(_noop, name="noop")],  # type: ignore[arg-type]
            queue_name=queue_key("slots"),
            redis_pool=await create_pool(settings, default_queue_name=queue_key("slots")),
            max_jobs=1,
            handle_signals=False,
            burst=True,
            poll_delay=0,
        )
        try:
            server.kill()
            with pytest.raises(RedisConnectionError):
                await worker.start_jobs([b"slots:lost"])
            assert worker.job_counter == 0

            server.start()
            queue = ArqQueue(settings, queue_name="slots")
            assert await queue.enqueue("noop", job_id="after") is True
            await queue.close()
            await worker.async_run()
            assert worker.jobs_complete == 1
        finally:
            await worker.close()
