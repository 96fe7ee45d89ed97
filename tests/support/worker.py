"""A real arq worker, in the test's own event loop, run until the queue is empty."""

from __future__ import annotations

from typing import Any

from arq.worker import Worker

from app.settings import Settings
from app.worker import create_worker


async def run_worker_until_idle(settings: Settings, **overrides: Any) -> Worker:
    worker = create_worker(settings, burst=True, poll_delay=0, handle_signals=False, **overrides)
    try:
        await worker.async_run()
    finally:
        await worker.close()
    return worker
