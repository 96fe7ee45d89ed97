"""The queue jobs a test's runs took: each job that ran, its function, ids and result — recorded
by the in-process queue, or read from the results arq keeps in Redis; and the manual run of a
pipeline that a test hands to them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from arq.connections import RedisSettings, create_pool

from app.features import parse_config
from app.pipelines import runs
from app.pipelines.config import pipelines_of
from app.pipelines.launch import new_run
from jobqueue.base import QueueFunction
from jobqueue.inprocess import InProcessQueue

PIPELINE_JOBS = ("start_run", "run_step")


def manual_run(text: str) -> runs.NewRun:
    """A manual run of pipeline `p` of config `text` (no commit, so no status to report)."""
    pipeline = pipelines_of(parse_config(text))["p"]
    return new_run("p", pipeline, provider="github", repository="acme/web", trigger="manual")


@dataclass(frozen=True)
class RanJob:
    function: str
    args: tuple[Any, ...]
    result: Any
    success: bool = True


class RecordingInProcessQueue(InProcessQueue):
    """The in-process queue, recording every job it ran (in the order they ended)."""

    def __init__(self) -> None:
        super().__init__()
        self.ran: list[RanJob] = []

    def bind(self, functions: Mapping[str, QueueFunction], ctx: Mapping[str, Any]) -> None:
        super().bind({name: self._recorded(name, job) for name, job in functions.items()}, ctx)

    def _recorded(self, name: str, job: QueueFunction) -> QueueFunction:
        async def recorded(ctx: Mapping[str, Any], *args: int | str) -> object:
            try:
                result = await job(ctx, *args)
            except Exception as error:
                self.ran.append(RanJob(name, args, error, success=False))
                raise
            self.ran.append(RanJob(name, args, result))
            return result

        return recorded


async def arq_jobs(redis_url: str, functions: tuple[str, ...] = PIPELINE_JOBS) -> list[RanJob]:
    """The jobs of `functions` arq ran on this Redis (their results kept), in the order they
    started."""
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        results = await pool.all_job_results()
    finally:
        await pool.aclose()
    return [
        RanJob(r.function, tuple(r.args), r.result, r.success)
        for r in sorted(results, key=lambda r: r.start_time)
        if r.function in functions
    ]
