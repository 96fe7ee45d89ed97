"""`shipyard deliveries list|retry`: stored webhook deliveries, and trying a failed one again."""

from __future__ import annotations

import asyncio
import json

import click

from app.cli.support import echo, load_settings, with_database
from app.db.models.base import as_utc
from app.settings import Settings

__all__ = ["deliveries"]


@click.group()
def deliveries() -> None:
    """Stored webhook deliveries."""


@deliveries.command("list")
@click.option("--limit", default=20, show_default=True, help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_deliveries(limit: int, as_json: bool) -> None:
    """Recent deliveries with their processing status."""
    from app.intake import store

    rows = with_database(load_settings(), lambda sessions: store.recent(sessions, limit=limit))
    if not rows and not as_json:
        echo("no deliveries yet (a Git host's webhook, or `shipyard receive`, makes one)")
    for row in rows:
        fields = {
            "id": row.id,
            "received_at": as_utc(row.received_at).isoformat(timespec="seconds"),
            "provider": row.provider,
            "delivery_id": row.delivery_id,
            "event": row.event,
            "action": row.action,
            "kind": row.kind,
            "status": row.status,
            "attempts": row.attempts,
            "error": row.error,
        }
        if as_json:
            click.echo(json.dumps(fields))
        else:
            echo(
                f"{row.id:>6}  {fields['received_at']}  {row.provider:<8} {row.status:<10} "
                f"{row.event}{'/' + row.action if row.action else ''}  {row.delivery_id}"
                + (f"  tries: {row.attempts}" if row.attempts > 1 else "")
                + (f"  error: {row.error}" if row.error else "")
            )


@deliveries.command("retry")
@click.argument("delivery", type=int)
def retry_delivery(delivery: int) -> None:
    """Process the failed DELIVERY (its id in `deliveries list`) again: the handlers that did
    not finish run again. With REDIS_URL the workers take it; without, it runs here."""
    from app.db.schema import DatabaseNotMigrated

    try:
        status = asyncio.run(_retry(load_settings(), delivery))
    except (LookupError, DatabaseNotMigrated) as error:
        raise click.ClickException(str(error)) from error
    echo(f"delivery {delivery}: {status}")
    if status == "failed":
        raise SystemExit(1)


async def _retry(settings: Settings, delivery_pk: int) -> str:
    from app.intake import store
    from app.intake.queueing import Retried, retry_delivery
    from app.wiring import open_services
    from jobqueue.inprocess import InProcessQueue

    async with open_services(settings) as services:
        delivery = await store.get(services.sessions, delivery_pk)
        if delivery is None:
            raise LookupError(f"there is no delivery {delivery_pk}")
        retried = await retry_delivery(services.sessions, services.queue, delivery_pk)
        if retried is Retried.NOT_FAILED:
            raise LookupError(
                f"delivery {delivery_pk} is {delivery.status}, not failed: only a failed "
                "delivery is retried"
            )
        if retried is Retried.STORED:
            return "stored: the queue is unreachable; a sweep hands it to the workers"
        if not isinstance(services.queue, InProcessQueue):
            return "queued"
        await services.queue.join()
        done = await store.get(services.sessions, delivery_pk)
        assert done is not None
        return done.status
