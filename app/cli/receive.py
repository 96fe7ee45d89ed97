"""`shipyard receive`: normalise payload files as if a host had delivered them (like
`probot receive`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["receive"]


@click.command()
@click.option(
    "--provider",
    "-p",
    required=True,
    type=click.Choice(["github", "gitlab", "gitea", "forgejo", "registry"]),
)
@click.option(
    "--event",
    "-e",
    required=True,
    help="The event header, e.g. pull_request or 'Push Hook' (a registry event: its action).",
)
@click.option("--json", "as_json", is_flag=True, help="One compact JSON object per line.")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
def receive(provider: str, event: str, as_json: bool, files: tuple[Path, ...]) -> None:
    """Normalise payload files as if the host had delivered them with EVENT."""
    from providers.normalise import PayloadShapeError, normalise
    from providers.payload_fields import ALWAYS, missing_fields
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
        lacking = missing_fields(provider, event, payload) if isinstance(payload, dict) else []
        if lacking:
            click.echo(
                f"{path}: warning: a {event} payload from {provider} always carries "
                f"{', '.join(lacking)}, and this one has none of them: is {event!r} its event?"
                if len(lacking) == len(ALWAYS[provider][event])
                else f"{path}: warning: a {event} payload from {provider} always carries "
                f"{', '.join(lacking)}; this one lacks them, so the event above has gaps",
                err=True,
            )
    sys.exit(1 if failed else 0)
