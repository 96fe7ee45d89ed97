"""`shipyard worker` outlives Redis: killed or shut down, Redis comes back and the same worker
process goes on, with the jobs enqueued since and (its sweep) with what the web process could
only store meanwhile, having said once that Redis went and once that it is back."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from app.main import create_app
from app.settings import Settings
from tests.support.commands import shipyard, wait_until
from tests.support.database import stored
from tests.support.deliveries import PUSH, delivery
from tests.support.http import running
from tests.support.redis_server import own_redis
from tests.support.settings import SECRETS, make_settings

LOST = "lost Redis"
BACK = "Redis is back"


async def _deliver(settings: Settings, delivery_id: str) -> str:
    """One push through a web process: `queued`, or `stored` while Redis is down."""
    payload = {**PUSH, "after": delivery_id.encode().hex().ljust(40, "0")[:40]}
    body, headers = delivery("github", "push", payload, delivery_id=delivery_id)
    async with running(create_app(settings)) as client:
        response = await client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == 202
    return str(response.json()["status"])


class _Watch:
    """What the worker process did: its log, and the deliveries it processed."""

    def __init__(self, worker: subprocess.Popen[bytes], log: Path, settings: Settings) -> None:
        self.worker, self.log, self.settings = worker, log, settings

    async def said(self, text: str, times: int) -> bool:
        assert self.worker.poll() is None, f"the worker exited:\n{self.log.read_text()}"
        return self.log.read_text().count(text) == times

    async def processed(self, delivery_id: str) -> bool:
        rows = await stored(self.settings)
        return any(row.delivery_id == delivery_id and row.status == "processed" for row in rows)

    async def outage(
        self, name: str, times: int, stop: Callable[[], None], start: Callable[[], None]
    ) -> None:
        stop()
        await wait_until(lambda: self.said(LOST, times), f"the worker noticed the {name}")
        assert await _deliver(self.settings, f"during-{name}") == "stored"
        start()
        await wait_until(lambda: self.said(BACK, times), f"the worker is back after the {name}")
        await wait_until(lambda: self.processed(f"during-{name}"), f"swept after the {name}")
        assert await _deliver(self.settings, f"after-{name}") == "queued"
        await wait_until(lambda: self.processed(f"after-{name}"), f"done after the {name}")


async def test_worker_outlives_redis_and_resumes_by_itself(migrated: str, tmp_path: Path) -> None:
    with own_redis(tmp_path) as server:
        env = {
            "DATABASE_URL": migrated,
            "REDIS_URL": server.url,
            "SHIPYARD_REDIS_RETRY_MAX": "0.2",
            "SHIPYARD_REQUEUE_INTERVAL": "0.2",
            "SHIPYARD_REQUEUE_MIN_AGE": "0",
            **SECRETS,
        }
        settings = make_settings(migrated, REDIS_URL=server.url)
        log = tmp_path / "worker.log"
        with shipyard("worker", env=env, log=log) as worker:
            watch = _Watch(worker, log, settings)
            assert await _deliver(settings, "before") == "queued"
            await wait_until(lambda: watch.processed("before"), "the first delivery done")
            await watch.outage("sigkill", 1, server.kill, server.start)
            await watch.outage("shutdown-nosave", 2, server.stop, server.start)
            assert worker.poll() is None
        assert worker.returncode == 0
    text = log.read_text()
    assert text.count("Starting worker") == 1  # one process, one start: it never restarted
    assert text.count(LOST) == 2, text  # once per outage, not per poll
    assert text.count(BACK) == 2, text
    assert "Traceback" not in text
