"""`shipyard secrets define|list|remove`: the secrets the server defines for repositories.

A definition names where the value lives (`env://VAR`, `file:///path`,
`vault://<integration>/<path>#<key>`) and the repositories it is granted to (`host:glob`); the
value itself is never stored. A repository's `.shipyard.yml` then names it as `secret://NAME`.
"""

from __future__ import annotations

import click

from app.cli.support import load_settings, with_database
from steps.secret_refs import SecretError

__all__ = ["secrets_group"]


@click.group("secrets")
def secrets_group() -> None:
    """Secrets the server defines and grants to repositories."""


@secrets_group.command("define")
@click.argument("name")
@click.option(
    "--from",
    "source",
    required=True,
    help="Where the value lives: env://VAR, file:///path or vault://<integration>/<path>#<key>.",
)
@click.option(
    "--repo",
    "repositories",
    multiple=True,
    required=True,
    help="A repository it is granted to, as host:glob (github:acme/*); repeat for more.",
)
def define(name: str, source: str, repositories: tuple[str, ...]) -> None:
    """Define secret NAME (replacing an earlier definition of it)."""
    from app.secrets.definitions import define as store

    settings = load_settings()
    try:
        definition = with_database(
            settings, lambda sessions: store(sessions, settings, name, source, repositories)
        )
    except (SecretError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    granted = ", ".join(definition.repositories)
    click.echo(f"secret://{definition.name} from {definition.source}, granted to {granted}")


@secrets_group.command("list")
def list_secrets() -> None:
    """Every definition: its name, where its value lives, and who may use it."""
    from app.secrets.definitions import all_definitions

    definitions = with_database(load_settings(), all_definitions)
    if not definitions:
        click.echo("no secrets are defined (shipyard secrets define NAME --from … --repo …)")
    for definition in definitions.values():
        click.echo(f"{definition.name}  {definition.source}  {', '.join(definition.repositories)}")


@secrets_group.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Remove secret NAME: repositories that name it fail their config check from now on."""
    from app.secrets.definitions import remove as drop

    if not with_database(load_settings(), lambda sessions: drop(sessions, name)):
        raise click.ClickException(f"there is no secret named {name!r}")
    click.echo(f"removed secret://{name}")
