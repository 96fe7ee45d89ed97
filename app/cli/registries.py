"""`shipyard registries add|list|remove`: the container registries Shipyard signs in to, each a
host and a server-side credential reference (`env://VAR`, `file:///path`), never a value.

The reference resolves to `user:password`, or to a bare token (signed in as user "token",
which GHCR, GitLab and Gitea accept).
"""

from __future__ import annotations

import re

import click

from app.cli.support import echo, load_settings, with_database

__all__ = ["registries_group"]

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?")


@click.group("registries")
def registries_group() -> None:
    """Container registries and how Shipyard signs in to them."""


def _host(value: str) -> str:
    host = value.strip().lower()
    if not _HOST.fullmatch(host):
        raise click.BadParameter(
            f"{value!r} is not a registry host; give one such as ghcr.io or "
            "registry.example.com:5000 (no scheme, no path)",
            param_hint="HOST",
        )
    return host


@registries_group.command("add")
@click.argument("host")
@click.option(
    "--credential",
    default=None,
    metavar="REF",
    help="Where the credential lives: env://VAR or file:///path (user:password, or a token). "
    "Without it the registry is read anonymously.",
)
@click.option("--plain-http", is_flag=True, help="Talk to it over http:// (a local registry).")
def add(host: str, credential: str | None, plain_http: bool) -> None:
    """Add registry HOST."""
    from app.releases.registries import RegistryExists, add_registry
    from app.secrets.definitions import check_source
    from steps.secret_refs import SecretError, parse_reference

    settings = load_settings()
    host = _host(host)
    if credential is not None:
        try:
            parse_reference(credential, allowed=("env", "file"))
            check_source(credential, settings)
        except SecretError as error:
            raise click.ClickException(f"--credential: {error}") from None
    try:
        row = with_database(
            settings,
            lambda sessions: add_registry(sessions, host, credential, plain_http=plain_http),
        )
    except RegistryExists as error:
        raise click.ClickException(
            f"{error} (`shipyard registries remove {host}` first to change it)"
        ) from None
    how = f"signing in with {row.credential}" if row.credential else "anonymously"
    echo(f"added registry {row.host}, read {how}" + (" over plain http" if plain_http else ""))


@registries_group.command("list")
def list_registries() -> None:
    """Every registry: its host, its credential's reference, and whether it is plain http."""
    from app.releases.registries import list_registries as rows_of

    rows = with_database(load_settings(), rows_of)
    if not rows:
        click.echo("no registries are added (shipyard registries add HOST --credential env://VAR)")
    for row in rows:
        echo(
            f"{row.host}  {row.credential or '(anonymous)'}"
            + ("  plain http" if row.plain_http else "")
        )


@registries_group.command("remove")
@click.argument("host")
def remove(host: str) -> None:
    """Remove registry HOST: it is read anonymously from now on."""
    from app.releases.registries import remove_registry

    host = _host(host)
    if not with_database(load_settings(), lambda sessions: remove_registry(sessions, host)):
        raise click.ClickException(f"there is no registry {host}")
    echo(f"removed registry {host}")
