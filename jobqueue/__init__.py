"""The job queue: arq on Redis when REDIS_URL is set, otherwise the same jobs in-process.

Named `jobqueue`, not `queue`: a top-level `queue` package would shadow the standard library's
`queue` module, which redis-py (so arq), `asyncio.to_thread` and anyio import.
"""

from jobqueue.base import JobQueue, QueueUnavailable

__all__ = ["JobQueue", "QueueUnavailable"]
