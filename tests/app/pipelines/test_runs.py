"""Runs in the database: a delivery starts each pipeline once, however often routing runs."""

from __future__ import annotations

from app.db.engine import create_engine, session_factory
from app.db.models.deliveries import Delivery
from app.pipelines import runs
from app.settings import Settings
from tests.support.database import store_delivery


def new_run(delivery_pk: int | None, pipeline: str = "review") -> runs.NewRun:
    return runs.NewRun(
        provider="github",
        repository="acme/web",
        pipeline=pipeline,
        trigger="pull_request",
        status_context=f"shipyard/{pipeline}",
        spec={"steps": []},
        steps=[runs.NewStep("tests", "run_command", [])],
        delivery_pk=delivery_pk,
    )


async def test_a_delivery_starts_each_pipeline_once(settings: Settings) -> None:
    engine = create_engine(settings)
    sessions = session_factory(engine)
    try:
        stored = await store_delivery(
            sessions,
            Delivery(provider="github", delivery_id="d", event="pull_request", body=b"{}"),
        )
        first = await runs.create_run(sessions, new_run(stored.id))
        again = await runs.create_run(sessions, new_run(stored.id))
        other = await runs.create_run(sessions, new_run(stored.id, "lint"))
        manual = [await runs.create_run(sessions, new_run(None)) for _ in range(2)]
        assert (again.run_id, again.existed, first.existed) == (first.run_id, True, False)
        assert not other.existed
        assert other.run_id != first.run_id
        assert [m.existed for m in manual] == [False, False]  # runs without a delivery repeat
        assert len(await runs.get_steps(sessions, first.run_id)) == 1
        assert len(await runs.recent_runs(sessions)) == 4
    finally:
        await engine.dispose()
