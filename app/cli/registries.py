"""`shipyard registries add|list|remove`: the container registries Shipyard signs in to, each a
`docker-registry` integration named after its host (`shipyard integrations` shows them too),
with a server-side credential reference (`env://VAR`, `file:///path`,
`vault://<integration>/<path>#<key>`), never a value.

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
    help="Where the credential lives: env://VAR, file:///path or "
    "vault://<integration>/<path>#<key> (user:password, or a token). Without it the registry "
    "is read anonymously.",
)
@click.option("--plain-http", is_flag=True, help="Talk to it over http:// (a local registry).")
@click.option(
    "--repos",
    "repositories",
    multiple=True,
    metavar="GLOB",
    help="A repository whose .shipyard.yml may name it as a component's `registry:`: acme/* "
    "(any host) or gitlab:group/**; repeat for more. Images of HOST are read with its "
    "credential whatever this says.",
)
def add(host: str, credential: str | None, plain_http: bool, repositories: tuple[str, ...]) -> None:
    """Add registry HOST (a docker-registry integration named after it)."""
    from app.integrations.connector import SERVER_REFERENCE_SCHEMES
    from app.integrations.store import InvalidIntegration
    from app.releases.registries import RegistryExists, add_registry, is_plain_http
    from app.secrets.definitions import check_source
    from steps.secret_refs import SecretError, parse_reference

    settings = load_settings()
    host = _host(host)
    if credential is not None:
        try:
            parse_reference(credential, allowed=SERVER_REFERENCE_SCHEMES)
            check_source(credential, settings)
        except SecretError as error:
            raise click.ClickException(f"--credential: {error}") from None
    try:
        added = with_database(
            settings,
            lambda sessions: add_registry(
                sessions,
                settings,
                host,
                credential,
                plain_http=plain_http,
                repositories=repositories,
            ),
        )
    except RegistryExists as error:
        raise click.ClickException(
            f"{error} (`shipyard registries remove {host}` first to change it)"
        ) from None
    except InvalidIntegration as error:
        raise click.ClickException(str(error).replace("credential: ", "--credential: ")) from None
    how = f"signing in with {added.credential_ref}" if added.credential_ref else "anonymously"
    echo(
        f"added registry {host} (integration {added.name}), read {how}"
        + (" over plain http" if is_plain_http(added) else "")
    )


@registries_group.command("list")
def list_registries() -> None:
    """Every registry: its host, its credential's reference, whether it is plain http, and
    the integration it is."""
    from app.releases.registries import describe_registry
    from app.releases.registries import list_registries as registries_of

    found = with_database(load_settings(), registries_of)
    if not found:
        click.echo("no registries are added (shipyard registries add HOST --credential env://VAR)")
    for integration in found:
        shown = describe_registry(integration)
        echo(
            f"{shown['host']}  {shown['credential'] or '(anonymous)'}"
            + ("  plain http" if shown["plain_http"] else "")
            + f"  integration {shown['name']} ({shown['health']})"
            + (f"  repos {','.join(shown['repositories'])}" if shown["repositories"] else "")
        )


@registries_group.command("remove")
@click.argument("host")
def remove(host: str) -> None:
    """Remove registry HOST (or the docker-registry integration so named): it is read
    anonymously from now on."""
    from app.releases.registries import remove_registry

    host = _host(host)
    removed = with_database(load_settings(), lambda sessions: remove_registry(sessions, host))
    if removed is None:
        raise click.ClickException(f"there is no registry {host}")
    echo(f"removed registry {host} (integration {removed.name})")
