"""The `shipyard` command line: serve, worker, db upgrade, deliveries, receive."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from app.cli_runs import config_group, run_pipeline, runs_group
from app.cli_support import load_settings, with_database
from app.logs import configure_logging
from app.settings import Settings


@click.group()
def main() -> None:
    """Shipyard: webhooks in; releases, pipelines and deployments out."""


main.add_command(config_group)
main.add_command(run_pipeline)
main.add_command(runs_group)


@main.command()
@click.option("--host", help="Address to listen on (default: SHIPYARD_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default: PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Run the web process (and, without REDIS_URL, the jobs too)."""
    import uvicorn

    from app.main import create_app

    settings = load_settings()
    configure_logging(settings.log_level)
    _require_migrated(settings)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        proxy_headers=True,
    )


@main.command()
def worker() -> None:
    """Run an arq worker on REDIS_URL (start as many as you like)."""
    from jobqueue.worker import create_worker

    settings = load_settings()
    configure_logging(settings.log_level)
    _require_migrated(settings)
    try:
        create_worker(settings).run()
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error


def _require_migrated(settings: Settings) -> None:
    async def nothing(_sessions: object) -> None:
        return None

    with_database(settings, nothing)


@main.group()
def db() -> None:
    """The database schema."""


@db.command()
def upgrade() -> None:
    """Apply every migration this Shipyard has (safe to run again)."""
    from app.db import create_engine
    from app.schema import head_revision
    from app.schema import upgrade as apply

    settings = load_settings()

    async def run() -> None:
        engine = create_engine(settings)
        try:
            await apply(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    click.echo(f"database is at revision {head_revision()}")


@main.group()
def deliveries() -> None:
    """Stored webhook deliveries."""


@deliveries.command("list")
@click.option("--limit", default=20, show_default=True, help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_deliveries(limit: int, as_json: bool) -> None:
    """Recent deliveries with their processing status."""
    from app import deliveries as store

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
            click.echo(
                f"{fields['received_at']}  {row.provider:<8} {row.status:<10} "
                f"{row.event}{'/' + row.action if row.action else ''}  {row.delivery_id}"
                + (f"  error: {row.error}" if row.error else "")
            )


@main.command()
@click.option(
    "--provider", "-p", required=True, type=click.Choice(["github", "gitlab", "gitea", "forgejo"])
)
@click.option(
    "--event", "-e", required=True, help="The event header, e.g. pull_request or 'Push Hook'."
)
@click.option("--json", "as_json", is_flag=True, help="One compact JSON object per line.")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
def receive(provider: str, event: str, as_json: bool, files: tuple[Path, ...]) -> None:
    """Normalise payload files as if the host had delivered them with EVENT."""
    from providers.normalise import PayloadShapeError, normalise
    from providers.webhooks import WEBHOOKS, BadPayload, parse_body

    spec = WEBHOOKS[provider]
    failed = False
    for path in files:
        try:
            payload = parse_body(spec, {"content-type": "application/json"}, path.read_bytes())
            result = normalise(provider, event, payload, delivery_id=f"file:{path.name}")
        except (OSError, BadPayload, PayloadShapeError) as error:
            click.echo(f"{path}: {error}", err=True)
            failed = True
            continue
        click.echo(result.model_dump_json(indent=None if as_json else 2))
    sys.exit(1 if failed else 0)
