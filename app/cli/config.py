"""`shipyard config check`: the repository's `.shipyard.yml`, with the messages a commit
status would show; and `shipyard config integrations …`, the documents' spelling of
`shipyard integrations …`."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.integrations import integrations_group
from app.cli.support import echo, load_settings, with_database

__all__ = ["config_group"]


@click.group("config")
def config_group() -> None:
    """The repository's .shipyard.yml; the server's integrations."""


config_group.add_command(integrations_group)


@config_group.command("check")
@click.argument("file", default=".shipyard.yml", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--repo",
    default=None,
    help="host:owner/name: also check that every secret:// it names is granted to it "
    "(reads this server's secret definitions).",
)
def config_check(file: Path, repo: str | None) -> None:
    """Validate FILE (default .shipyard.yml) with the messages a commit status would show."""
    from app.features import check_config_file
    from app.pipelines.config.references import GRANTS
    from app.secrets.definitions import SecretGrants, all_definitions

    context: dict[str, object] = {}
    if repo is not None:
        host, colon, name = repo.partition(":")
        if not colon or not name:
            raise click.BadParameter("give host:owner/name, as in github:acme/web")
        definitions = with_database(load_settings(), all_definitions)
        context[GRANTS] = SecretGrants.for_repository(definitions.values(), host, name)
    problems = check_config_file(file, context=context)
    for problem in problems:
        echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"{file}: valid")
