"""`shipyard config check`: the repository's `.shipyard.yml`, with the messages a commit
status would show."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["config_group"]


@click.group("config")
def config_group() -> None:
    """The repository's .shipyard.yml."""


@config_group.command("check")
@click.argument("file", default=".shipyard.yml", type=click.Path(path_type=Path, dir_okay=False))
def config_check(file: Path) -> None:
    """Validate FILE (default .shipyard.yml) with the messages a commit status would show."""
    from app.features import check_config_file

    problems = check_config_file(file)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"{file}: valid")
