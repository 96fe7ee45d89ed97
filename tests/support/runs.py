"""Reading pipeline runs (with their steps) from the database, and waiting for them."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import select

from app.db.engine import create_engine, session_factory
from app.db.models.pipelines import PipelineRun, StepRun
from app.settings import Settings


async def all_runs(settings: Settings) -> list[tuple[PipelineRun, list[StepRun]]]:
    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session:
            found = list(await session.exec(select(PipelineRun).order_by(PipelineRun.id)))
            return [
                (
                    run,
                    list(
                        await session.exec(
                            select(StepRun)
                            .where(StepRun.run_id == run.id)
                            .order_by(StepRun.position)
                        )
                    ),
                )
                for run in found
            ]
    finally:
        await engine.dispose()


async def until(settings: Settings, done: Any, within: float = 30.0) -> None:
    """Poll the runs until `done(runs)`; fail after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if done(await all_runs(settings)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached in {within} s: {await all_runs(settings)}")
