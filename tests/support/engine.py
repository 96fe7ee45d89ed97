"""Running a pipeline to its end in-process, through the real engine and the process's services."""

from __future__ import annotations

from app.db.engine import create_engine, session_factory
from app.db.models.pipelines import PipelineRun, StepRun
from app.features import parse_config
from app.pipelines import runs
from app.pipelines.config import pipelines_of
from app.pipelines.launch import launch, new_run
from app.secrets.definitions import define
from app.settings import Settings
from app.wiring import open_services
from jobqueue.inprocess import InProcessQueue
from tests.support.steps import RecordingProvider


async def run_pipeline(
    settings: Settings, text: str, provider: RecordingProvider | None = None
) -> tuple[PipelineRun, dict[str, StepRun]]:
    """Launch a manual run of pipeline `p` from `text` and run it to the end in-process."""
    pipeline = pipelines_of(parse_config(text))["p"]
    host = provider or RecordingProvider()
    async with open_services(settings, providers=lambda *_: host) as services:
        new = new_run(
            "p",
            pipeline,
            provider="github",
            repository="acme/web",
            trigger="manual",
            pr_number=7,
            event={"kind": "manual", "repository": {"full_name": "acme/web"}},
        )
        created = await launch(services, host, new)
        assert isinstance(services.queue, InProcessQueue)
        await services.queue.join()
        run = await runs.get_run(services.sessions, created.run_id)
        steps = await runs.get_steps(services.sessions, created.run_id)
    assert run is not None
    return run, {step.name: step for step in steps}


async def define_secret(settings: Settings, name: str, source: str, repos: list[str]) -> None:
    """`shipyard secrets define NAME --from SOURCE --repo …`, on the test's database."""
    engine = create_engine(settings)
    try:
        await define(session_factory(engine), settings, name, source, repos)
    finally:
        await engine.dispose()
