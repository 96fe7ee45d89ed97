"""A queue that runs nothing: it records what was handed to it, for a test to run by hand."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Enqueued:
    function: str
    args: tuple[int | str, ...]
    job_id: str
    defer: float


@dataclass
class RecordingQueue:
    jobs: list[Enqueued] = field(default_factory=list)

    async def enqueue(
        self, function: str, *args: int | str, job_id: str, defer: float = 0.0
    ) -> bool:
        self.jobs.append(Enqueued(function, args, job_id, defer))
        return True

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
