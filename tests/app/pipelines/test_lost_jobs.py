"""Work whose job failed or was lost is not lost: a step whose claim the database refused runs
once the sweep re-enqueues it (arq still holding the failed job's result), and a stalled run
is handed to the queue once per lease, not at every sweep."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from app.db.engine import create_engine, session_factory
from app.db.models.base import utcnow
from app.db.models.pipelines import RunState
from app.pipelines import runs, stale
from app.pipelines.launch import launch
from app.settings import Settings
from app.wiring import open_services
from tests.support.jobs import arq_jobs, manual_run
from tests.support.runs import all_runs
from tests.support.settings import make_settings
from tests.support.steps import RecordingProvider
from tests.support.worker import run_worker_until_idle

ONE_STEP = """
pipelines:
  p:
    on: {manual: true}
    steps:
      - {name: only, type: run_command, config: {args: ["true"]}}
"""

REFUSE = "the database refused the claim"
SQLITE_REFUSAL = [
    "CREATE TRIGGER refuse_claims BEFORE UPDATE ON step_runs "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSE}'); END"
]
POSTGRES_REFUSAL = [
    "CREATE FUNCTION refuse_claims() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN RAISE EXCEPTION '{REFUSE}'; END $$",
    "CREATE TRIGGER refuse_claims BEFORE UPDATE ON step_runs "
    "FOR EACH ROW EXECUTE FUNCTION refuse_claims()",
]


async def execute(settings: Settings, statements: list[str]) -> None:
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def test_a_step_whose_claim_failed_runs_after_the_sweep(
    migrated: str, redis_url: str, data_dir: Path
) -> None:
    lease = 0.5
    settings = make_settings(
        migrated,
        REDIS_URL=redis_url,
        SHIPYARD_DATA_DIR=str(data_dir),
        SHIPYARD_STEP_LEASE=str(lease),
        SHIPYARD_HEARTBEAT="0.05",  # a running step never looks stale
    )
    host = RecordingProvider()
    async with open_services(settings, providers=lambda *_: host) as services:
        await launch(services, host, manual_run(ONE_STEP))
    postgres = migrated.startswith("postgresql")
    await execute(settings, POSTGRES_REFUSAL if postgres else SQLITE_REFUSAL)
    await run_worker_until_idle(settings)
    await execute(settings, ["DROP TRIGGER refuse_claims" + (" ON step_runs" if postgres else "")])

    # The job that went on from starting the run to claiming its step failed; arq keeps its
    # result under its id. (A sweep that ran meanwhile may have failed the same way.)
    failed = [job for job in await arq_jobs(redis_url) if not job.success]
    assert failed
    assert all(REFUSE in str(job.result) for job in failed)
    [(run, [step])] = await all_runs(settings)
    assert (run.state, step.state, step.attempts) == ("running", "pending", 0)

    await asyncio.sleep(lease)  # the lease passes: the step's job counts as lost
    second = await run_worker_until_idle(settings)  # its start-up recovery is a sweep

    [(run, [step])] = await all_runs(settings)
    assert (run.state, step.state, step.attempts) == ("succeeded", "succeeded", 1), step.log
    assert second.jobs_failed == 0
    assert [job.result for job in await arq_jobs(redis_url) if job.success][-1] == ["succeeded"]


async def test_a_stalled_run_goes_back_to_the_queue_once_per_lease(settings: Settings) -> None:
    engine = create_engine(settings)
    sessions = session_factory(engine)
    try:
        created = await runs.create_run(sessions, manual_run(ONE_STEP))
        started = utcnow() - timedelta(minutes=5)
        await runs.move_run(sessions, created.run_id, RunState.RUNNING, started_at=started)
        lease_ago = utcnow()  # the run started long before, and its step's job is lost

        assert await stale.stalled_runs(sessions, older_than=lease_ago) == ([], [created.run_id])
        # Recovery has just enqueued its step: the next sweeps within the lease leave it alone.
        assert await stale.stalled_runs(sessions, older_than=lease_ago) == ([], [])
        # A lease later, still not claimed (the job was lost again): handed to the queue again.
        a_lease_later = utcnow() + timedelta(seconds=1)
        assert await stale.stalled_runs(sessions, older_than=a_lease_later) == (
            [],
            [created.run_id],
        )
    finally:
        await engine.dispose()
