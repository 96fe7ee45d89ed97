"""No queue hop between dependent steps: the job that finishes a step runs the next one ready
itself, and only the other steps ready with it go to the queue — in-process and on arq (real
Redis), on SQLite and PostgreSQL. Which job ran what is read from the jobs' own results."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from app.db.models.pipelines import PipelineRun, StepRun
from app.pipelines.launch import launch
from app.settings import Settings
from app.wiring import open_services
from tests.support.jobs import RanJob, RecordingInProcessQueue, arq_jobs, manual_run
from tests.support.runs import all_runs
from tests.support.settings import make_settings
from tests.support.steps import RecordingProvider
from tests.support.worker import run_worker_until_idle

CHAIN = 20


def pipeline(*steps: tuple[str, list[str] | None]) -> str:
    """Pipeline `p` of no-op steps (`true`), each (name, needs; None: the step before)."""
    text = "pipelines:\n  p:\n    on: {manual: true}\n    steps:"
    for name, needs in steps:
        text += f'\n      - {{name: {name}, type: run_command, config: {{args: ["true"]}}'
        text += "}" if needs is None else f", needs: [{', '.join(needs)}]}}"
    return text


def started_after(step: StepRun, need: StepRun) -> bool:
    assert step.started_at is not None
    assert need.finished_at is not None
    return step.started_at >= need.finished_at


@pytest.fixture(params=["in_process", "arq"])
def queue_settings(request: pytest.FixtureRequest, migrated: str, data_dir: Path) -> Settings:
    """Settings for the in-process queue, then for arq on the real Redis."""
    redis = {"REDIS_URL": request.getfixturevalue("redis_url")} if request.param == "arq" else {}
    return make_settings(migrated, SHIPYARD_DATA_DIR=str(data_dir), **redis)


async def run_to_the_end(
    settings: Settings, text: str
) -> tuple[PipelineRun, list[StepRun], list[RanJob]]:
    """Launch a manual run of `p` and run it to its end: the run, its steps, the jobs that ran."""
    host = RecordingProvider()
    recording = None if settings.redis_url else RecordingInProcessQueue()
    async with open_services(settings, queue=recording, providers=lambda *_: host) as services:
        await launch(services, host, manual_run(text))
        if recording is not None:
            await recording.join()
    if recording is None:
        worker = await run_worker_until_idle(settings)
        assert worker.jobs_failed == 0
    jobs = await arq_jobs(settings.redis_url) if settings.redis_url else recording.ran  # type: ignore[union-attr]
    [(run, steps)] = await all_runs(settings)
    return run, steps, jobs


async def test_a_chain_of_dependent_steps_runs_in_one_job(queue_settings: Settings) -> None:
    names = [f"s{k}" for k in range(CHAIN)]
    run, steps, jobs = await run_to_the_end(queue_settings, pipeline(*((n, None) for n in names)))

    assert run.state == "succeeded", steps
    assert [(s.name, s.state, s.attempts) for s in steps] == [(n, "succeeded", 1) for n in names]
    # One job ran the whole run: it started it, then ran every step, in order, itself.
    assert [(job.function, job.args) for job in jobs] == [("start_run", (run.id,))]
    assert jobs[0].result == ["started"] + ["succeeded"] * CHAIN
    assert all(started_after(after, before) for before, after in itertools.pairwise(steps))


async def test_a_fan_out_runs_one_step_inline_and_enqueues_the_other(
    queue_settings: Settings,
) -> None:
    text = pipeline(("build", None), ("lint", ["build"]), ("test", ["build"]))
    run, steps, jobs = await run_to_the_end(queue_settings, text)

    assert run.state == "succeeded", steps
    build, lint, test = steps
    assert [s.state for s in steps] == ["succeeded"] * 3
    # The run's job went on with `lint`, the first step `build` made ready; `test` went to the
    # queue and ran in a job of its own.
    by_function = {job.function: job for job in jobs}
    assert sorted(job.function for job in jobs) == ["run_step", "start_run"]
    assert by_function["start_run"].result == ["started", "succeeded", "succeeded"]
    assert (by_function["run_step"].args, by_function["run_step"].result) == (
        (test.id,),
        ["succeeded"],
    )
    assert started_after(lint, build)
    assert started_after(test, build)
