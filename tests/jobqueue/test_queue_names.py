"""SHIPYARD_QUEUE_NAME: two installations on one Redis never see each other's jobs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from arq.connections import create_pool

from app.db.engine import create_engine
from app.db.schema import upgrade
from app.main import create_app
from app.settings import Settings
from jobqueue.arq_queue import redis_settings
from tests.support.database import stored
from tests.support.deliveries import PUSH, delivery
from tests.support.http import running
from tests.support.settings import make_settings
from tests.support.worker import run_worker_until_idle


async def _installation(tmp_path: Path, redis_url: str, name: str) -> Settings:
    """An installation of its own: a database of its own, on the shared Redis."""
    settings = make_settings(
        f"sqlite:///{tmp_path / name}.db", REDIS_URL=redis_url, SHIPYARD_QUEUE_NAME=name
    )
    engine = create_engine(settings)
    await upgrade(engine)
    await engine.dispose()
    return settings


async def _deliver(settings: Settings, count: int) -> None:
    async with running(create_app(settings)) as client:
        for n in range(count):
            sha = f"{settings.queue_name}-{n}".encode().hex().ljust(40, "0")
            payload = {**PUSH, "after": sha}
            body, headers = delivery(
                "github", "push", payload, delivery_id=f"{settings.queue_name}-{n}"
            )
            response = await client.post("/webhooks/github", content=body, headers=headers)
            assert (response.status_code, response.json()["status"]) == (202, "queued")


# What a job for a row its database lacks answers. ("not claimed" is not here: the worker's
# start-up recovery enqueues its own queued deliveries again, and the claim drops the second.)
NOT_OURS = ("skipped", "no such", "foreign")


async def test_two_installations_on_one_redis_run_only_their_own_jobs(
    tmp_path: Path, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    alpha = await _installation(tmp_path, redis_url, "alpha")
    beta = await _installation(tmp_path, redis_url, "beta")
    await _deliver(alpha, 2)  # the same row ids (1, 2) in both databases, and more in beta's
    await _deliver(beta, 3)

    workers = {
        name: await run_worker_until_idle(s) for name, s in [("alpha", alpha), ("beta", beta)]
    }

    for settings, count in ((alpha, 2), (beta, 3)):
        rows = await stored(settings)
        assert [(row.delivery_id, row.status) for row in rows] == [
            (f"{settings.queue_name}-{n}", "processed") for n in range(count)
        ]
    pool = await create_pool(redis_settings(redis_url))
    try:
        results = await pool.all_job_results()
    finally:
        await pool.aclose()
    for name, worker in workers.items():
        own = [r for r in results if r.queue_name == f"{name}:queue"]
        assert worker.jobs_failed == 0
        assert worker.jobs_complete == len(own) > 0  # it ran its own jobs, and only those
        assert all(r.job_id and r.job_id.startswith(f"{name}:") for r in own)
        assert not [r.result for r in own if any(word in str(r.result) for word in NOT_OURS)]
    assert len(results) == sum(worker.jobs_complete for worker in workers.values())
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
