"""The context every job receives: settings, database sessions and the queue itself."""

from __future__ import annotations

from typing import Any, TypedDict

from app.db import SessionFactory
from app.settings import Settings
from jobqueue.base import JobQueue


class JobContext(TypedDict, total=False):
    settings: Settings
    sessions: SessionFactory
    queue: JobQueue
    job_try: int
    redis: Any  # arq's pool, present only under arq
