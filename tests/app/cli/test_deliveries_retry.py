"""`shipyard deliveries retry ID`: a failed delivery is processed again (here, without Redis);
anything else is refused with a message."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from sqlmodel import col

from app.cli import main
from app.db.engine import create_engine, session_factory
from app.db.models.deliveries import Delivery, DeliveryStatus
from app.main import create_app
from tests.support.database import stored
from tests.support.deliveries import PUSH, delivery
from tests.support.http import running
from tests.support.settings import SECRETS, make_settings


async def a_processed_push(migrated: str) -> int:
    app = create_app(make_settings(migrated))
    body, headers = delivery("github", "push", PUSH, delivery_id="to-retry")
    async with running(app) as client:
        await client.post("/webhooks/github", content=body, headers=headers)
        await app.state.services.queue.join()
    [row] = await stored(make_settings(migrated))
    assert row.id is not None
    return row.id


async def fail(migrated: str, pk: int) -> None:
    engine = create_engine(make_settings(migrated))
    async with session_factory(engine)() as session:
        await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == pk)
            .values(status=DeliveryStatus.FAILED, error="host was down")
        )
        await session.commit()
    await engine.dispose()


@pytest.mark.parametrize("failed", [True, False])
async def test_retry_processes_a_failed_delivery_and_refuses_others(
    migrated: str, failed: bool
) -> None:
    pk = await a_processed_push(migrated)
    if failed:
        await fail(migrated, pk)
    env = {"DATABASE_URL": migrated, **SECRETS}
    result = await asyncio.to_thread(
        CliRunner().invoke, main, ["deliveries", "retry", str(pk)], env=env
    )
    [row] = await stored(make_settings(migrated))
    if failed:
        assert (result.exit_code, result.output) == (0, f"delivery {pk}: processed\n")
        assert (row.status, row.error, row.attempts) == ("processed", None, 2)
    else:
        assert result.exit_code == 1
        assert f"delivery {pk} is processed, not failed" in result.output
        assert "Traceback" not in result.output
        assert row.attempts == 1


def test_retry_of_a_delivery_that_is_not_there(migrated: str) -> None:
    result = CliRunner().invoke(
        main, ["deliveries", "retry", "999"], env={"DATABASE_URL": migrated}
    )
    assert result.exit_code == 1
    assert "there is no delivery 999" in result.output
