"""`shipyard deliveries list`: stored webhook deliveries."""

from __future__ import annotations

import json

import click

from app.cli.support import echo, load_settings, with_database

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
    for row in rows:
        fields = {
            "id": row.id,
            "received_at": row.received_at.isoformat(timespec="seconds"),
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
                f"{fields['received_at']}  {row.provider:<8} {row.status:<10} "
                f"{row.event}{'/' + row.action if row.action else ''}  {row.delivery_id}"
                + (f"  error: {row.error}" if row.error else "")
            )
