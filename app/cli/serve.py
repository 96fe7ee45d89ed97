"""`shipyard serve` (the web process) and `shipyard worker` (an arq worker)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from app.cli.support import load_settings, require_migrated
from app.logs import configure_logging
from app.metrics import MULTIPROC_VARIABLE, counted_process, multiprocess_dir
from app.settings import Settings

__all__ = ["serve", "share_metrics", "worker"]

APP_FACTORY = "app.main:serve_app"  # by name: uvicorn imports it in each of its processes


@click.command()
@click.option("--host", help="Address to listen on (default: SHIPYARD_HOST or 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Port to listen on (default: PORT or 8000)."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Web processes sharing the port (more than one needs REDIS_URL).",
)
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="Log every request (default: SHIPYARD_ACCESS_LOG, on).",
)
def serve(host: str | None, port: int | None, workers: int, access_log: bool | None) -> None:
    """Run the web process (and, without REDIS_URL, the jobs too)."""
    import uvicorn

    settings = load_settings()
    if workers > 1 and not settings.redis_url:
        raise click.BadParameter(
            f"{workers} web processes need REDIS_URL. Without it each process runs the jobs "
            "itself, and each would take over the others' running work as stalled. Set "
            "REDIS_URL (and run `shipyard worker`), or serve with one process.",
            param_hint="'--workers'",
        )
    configure_logging(settings.log_level, settings.log_format)
    require_migrated(settings)
    if workers > 1:
        share_metrics(settings)
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        access_log=settings.access_log if access_log is None else access_log,
        log_config=None,
        proxy_headers=True,
    )


@click.command()
@click.option(
    "--intake",
    is_flag=True,
    help="Take only deliveries, from their own queue (with SHIPYARD_INTAKE_QUEUE=true).",
)
def worker(intake: bool) -> None:
    """Run an arq worker on REDIS_URL (start as many as you like); it waits out Redis outages."""
    from app.worker import create_worker

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    require_migrated(settings)
    try:
        with counted_process(settings):
            create_worker(settings, intake=intake).run()
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error


def share_metrics(settings: Settings) -> Path:
    """The web processes add up their metrics in PROMETHEUS_MULTIPROC_DIR: as set, or (unset)
    a directory of SHIPYARD_DATA_DIR's emptied of an earlier run's numbers. Set here, before
    the processes start and import prometheus-client, which reads it then."""
    given = multiprocess_dir(settings)
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)  # shared with others: left as it is
        return given
    directory = Path(settings.data_dir).resolve() / "metrics"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    except OSError as error:
        raise click.ClickException(
            f"cannot prepare {directory} for the web processes' metrics "
            f"({error.strerror or type(error).__name__}); set SHIPYARD_DATA_DIR to a writable "
            f"directory, or {MULTIPROC_VARIABLE} to one for the metrics"
        ) from None
    os.environ[MULTIPROC_VARIABLE] = str(directory)
    return directory
