"""Creating a run of a pipeline — for an event or by hand — reporting it pending, starting it."""

from __future__ import annotations

from typing import Any

from app.pipelines import reporting, runs
from app.pipelines.config import PipelineConfig
from app.services import Services
from app.work.job_ids import job_id
from providers.base import Provider

__all__ = ["START_RUN", "launch", "new_run", "run_job_id", "snapshot"]

START_RUN = "start_run"


def run_job_id(run_id: int) -> str:
    """A new id on every call (see app.work.job_ids): a run's state, not its id, says if the
    run still has to start."""
    return job_id("run", run_id)


def new_run(
    name: str,
    pipeline: PipelineConfig,
    *,
    provider: str,
    repository: str,
    trigger: str,
    trusted: bool = True,
    **where: Any,
) -> runs.NewRun:
    """A run of `pipeline` (named `name`), with its steps pending; `trusted` False for code
    from a fork (no secrets, no writes); `where` is the rest of `runs.NewRun`: the commit,
    ref, pull request, delivery, event and concurrency group."""
    return runs.NewRun(
        provider=provider,
        repository=repository,
        pipeline=name,
        trigger=trigger,
        status_context=pipeline.status_context,
        spec={**snapshot(pipeline), "trusted": trusted},
        steps=[runs.NewStep(step.name, step.type, list(step.needs)) for step in pipeline.steps],
        **where,
    )


async def launch(services: Services, provider: Provider, new: runs.NewRun) -> runs.Created:
    """Create the run (cancelling what it supersedes), report them, and start it. A run an
    earlier attempt created is left to that attempt (or to the sweep, if it died)."""
    created = await runs.create_run(services.sessions, new)
    if created.existed:
        return created
    for run_id in [created.run_id, *created.superseded]:
        run = await runs.get_run(services.sessions, run_id)
        if run is not None:
            await reporting.report_run(services, run, provider)
    await services.queue.enqueue(START_RUN, created.run_id, job_id=run_job_id(created.run_id))
    return created


def snapshot(pipeline: PipelineConfig) -> dict[str, Any]:
    """What a run keeps of its pipeline, so a retry runs what the run started with."""
    return {
        "env": dict(pipeline.env),
        "vars": dict(pipeline.vars),
        "status_context": pipeline.status_context,
        "network": pipeline.network,
        "steps": [
            {
                "name": step.name,
                "type": step.type,
                "config": step.config,
                "needs": list(step.needs),
                "if": step.if_,
                "timeout_seconds": step.timeout_seconds,
                "retries": step.retries,
                "continue_on_error": step.continue_on_error,
                "env": dict(step.env),
            }
            for step in pipeline.steps
        ],
    }
