"""`shipyard components refresh`: rebuild the image → repository index a registry push is
matched by, from the config of every repository Shipyard knows."""

from __future__ import annotations

import asyncio

import click

from app.cli.support import echo, load_settings
from app.settings import Settings

__all__ = ["components_group"]


@click.group("components")
def components_group() -> None:
    """The components repositories declare, as Shipyard has indexed them."""


@components_group.command("refresh")
def refresh() -> None:
    """Read the config of every repository Shipyard knows (its components, releases and
    pipeline runs name them) at its default branch, and index the images it declares.

    A repository whose config cannot be read keeps what the index had for it; the command
    then ends with exit status 1."""
    from app.db.schema import DatabaseNotMigrated

    try:
        lines, failed = asyncio.run(_refresh(load_settings()))
    except DatabaseNotMigrated as error:
        raise click.ClickException(str(error)) from error
    for line in lines:
        echo(line)
    if failed:
        raise SystemExit(1)


async def _refresh(settings: Settings) -> tuple[list[str], int]:
    from app.releases.known import refresh_components
    from app.wiring import open_services

    async with open_services(settings) as services:
        found = await refresh_components(services)
    if not found:
        return ["Shipyard knows no repositories yet: it learns them from their webhooks"], 0
    lines = []
    for one in found:
        where = f"{one.repository.provider}:{one.repository.repository}"
        if one.problem is not None:
            lines.append(f"{where}: not read, the index keeps what it had: {one.problem}")
        elif one.components is None:
            lines.append(f"{where}: no .shipyard.yml at its default branch, so no components")
        elif not one.components:
            lines.append(f"{where}: declares no components")
        else:
            declared = ", ".join(f"{n} ({spec.image})" for n, spec in one.components.items())
            lines.append(f"{where}: {len(one.components)} component(s): {declared}")
    return lines, sum(one.problem is not None for one in found)
