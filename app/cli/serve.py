"""`shipyard serve` (the web process) and `shipyard worker` (an arq worker)."""

from __future__ import annotations

import click

from app.cli.support import load_settings, require_migrated
from app.logs import configure_logging

__all__ = ["serve", "worker"]


@click.command()
@click.option("--host", help="Address to listen on (default: SHIPYARD_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default: PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Run the web process (and, without REDIS_URL, the jobs too)."""
    import uvicorn

    from app.main import create_app

    settings = load_settings()
    configure_logging(settings.log_level)
    require_migrated(settings)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        proxy_headers=True,
    )


@click.command()
def worker() -> None:
    """Run an arq worker on REDIS_URL (start as many as you like)."""
    from app.worker import create_worker

    settings = load_settings()
    configure_logging(settings.log_level)
    require_migrated(settings)
    try:
        create_worker(settings).run()
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error
