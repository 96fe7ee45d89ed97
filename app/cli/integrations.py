"""`shipyard integrations providers|list|show|create|update|test|discover|delete` (also spelt
`shipyard config integrations …`, as the documents do): the integrations registered on this
server — registries, CI systems, notification services, secret stores, metrics.

Each has a provider, a config and a credential's reference (never its value); `test` checks it
level by level, `discover` asks what it reaches. The API's `/integrations` is the same store.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

from app.cli.support import echo, key_values, load_settings, table_lines, with_database
from app.db.engine import SessionFactory
from app.integrations.kinds import INTEGRATION_TYPES
from app.settings import Settings

if TYPE_CHECKING:
    from app.integrations.model import Integration
    from app.integrations.spec import ProviderSpec
    from app.services import Services

__all__ = ["config_values", "integrations_group"]

T = TypeVar("T")

_NO_INTEGRATIONS = (
    "no integrations are registered (shipyard integrations create --name NAME --type TYPE "
    "--provider PROVIDER …; shipyard integrations providers lists the providers)"
)


def _with_services(settings: Settings, work: Callable[[Services], Awaitable[T]]) -> T:
    """`work` with the process's services (the hub among them), errors said in one line."""
    from app.db.schema import DatabaseNotMigrated
    from app.integrations.errors import IntegrationError
    from app.wiring import SettingsError, open_services

    async def run() -> T:
        async with open_services(settings) as services:
            return await work(services)

    try:
        return asyncio.run(run())
    except (SettingsError, DatabaseNotMigrated) as error:
        raise click.ClickException(str(error)) from None
    except IntegrationError as error:
        raise click.ClickException(_said(error)) from None
    except OSError as error:
        raise click.ClickException(f"the database cannot be reached: {error}") from None


def _said(error: Exception) -> str:
    from app.integrations.errors import IntegrationError

    if isinstance(error, IntegrationError) and error.code == "INTEGRATION_NOT_FOUND":
        return f"{error.detail} (`shipyard integrations list` shows those there are)"
    return str(error)


def config_values(values: tuple[str, ...], flag: str = "--config") -> dict[str, Any]:
    """`KEY=VALUE` pairs, each value read as JSON when it is JSON (`retries=3`,
    `to=["a@x"]`, `key=null` to remove one) and as text otherwise."""
    config: dict[str, Any] = {}
    for key, text in key_values(values, flag).items():
        try:
            config[key] = json.loads(text)
        except ValueError:
            config[key] = text
    return config


def _catalogue() -> dict[str, ProviderSpec]:
    """This version's providers, by name (read when a command runs)."""
    from app.integrations import catalogue

    return catalogue.catalogue()


def _invalid(error: Exception) -> click.ClickException:
    lines = str(error).splitlines()
    if len(lines) == 1:
        return click.ClickException(f"the integration is not valid: {lines[0]}")
    return click.ClickException(
        "the integration is not valid:\n" + "\n".join(f"  {line}" for line in lines)
    )


def _labels(labels: Mapping[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items())) or "-"


def _when(integration: Integration) -> str:
    checked = integration.health_checked_at
    return checked.isoformat(timespec="seconds") if checked is not None else "never"


@click.group("integrations")
def integrations_group() -> None:
    """Integrations: the registries, CI systems, notification services, secret stores and
    metrics providers Shipyard reaches, each with a credential's reference."""


@integrations_group.command("providers")
@click.option("--all", "everything", is_flag=True, help="Also list the providers tests use.")
def providers(everything: bool) -> None:
    """The providers: those this version has, and those it does not have yet."""
    specs = [spec for spec in _catalogue().values() if everything or not spec.test_only]
    specs.sort(key=lambda spec: (not spec.available, spec.type, spec.name))
    table = [["NAME", "TYPE", "TITLE", "DISCOVERS", "AVAILABLE"]]
    for spec in specs:
        table.append(
            [
                spec.name,
                spec.type,
                spec.title,
                ",".join(spec.resource_types) or "-",
                ("yes" if spec.available else "not available in this version")
                + (" (tests only)" if spec.test_only else ""),
            ]
        )
    for line in table_lines(table):
        echo(line)


@integrations_group.command("list")
@click.option("--type", "kind", type=click.Choice(INTEGRATION_TYPES), default=None)
@click.option("--provider", default=None)
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Repeat for more.")
def list_integrations(kind: str | None, provider: str | None, labels: tuple[str, ...]) -> None:
    """Every integration: its type, provider, health and labels."""
    from app.integrations.store import list_integrations as found

    wanted = key_values(labels, "--label")
    rows = with_database(
        load_settings(),
        lambda sessions: found(sessions, type=kind, provider=provider, labels=wanted),
    )
    if not rows:
        click.echo(_NO_INTEGRATIONS if not (kind or provider or wanted) else "none matches")
        return
    table = [["NAME", "TYPE", "PROVIDER", "HEALTH", "LAST CHECK", "LABELS"]]
    for row in rows:
        table.append(
            [row.name, row.type, row.provider, row.health, _when(row), _labels(row.labels)]
        )
    for line in table_lines(table):
        echo(line)


def _show_lines(integration: Integration) -> list[str]:
    lines = [
        f"name: {integration.name}",
        f"id: {integration.id}",
        f"type: {integration.type}",
        f"provider: {integration.provider}",
    ]
    if integration.description:
        lines.append(f"description: {integration.description}")
    lines += [f"config {key}: {json.dumps(value)}" for key, value in integration.config.items()]
    lines += [
        f"credential: {integration.credential_ref or '(none)'}",
        f"labels: {_labels(integration.labels)}",
        f"repositories: {', '.join(integration.repositories) or '(none: the server only)'}",
        f"health: {integration.health} (last check: {_when(integration)})",
    ]
    for level, check in integration.checks.items():
        lines.append(_check_line(level, check))
    return lines


def _check_line(level: str, check: Mapping[str, Any]) -> str:
    mark = "✓" if check.get("success") else "✗"
    code = check.get("errorCode")
    message = f"{code}: {check.get('message')}" if code else str(check.get("message"))
    return f"{mark} {level}  {float(check.get('latencyMs') or 0):.1f} ms  {message}"


@integrations_group.command("show")
@click.argument("name")
def show(name: str) -> None:
    """Everything about integration NAME (a credential shown as its reference)."""
    for line in _show_lines(_load(name)):
        echo(line)


def _load(name: str) -> Integration:
    from app.integrations.errors import IntegrationError
    from app.integrations.store import get_integration

    try:
        return with_database(load_settings(), lambda sessions: get_integration(sessions, name))
    except IntegrationError as error:
        raise click.ClickException(_said(error)) from None


def _credential_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--credential",
        "--authref",
        "credential",
        default=None,
        metavar="REF",
        help="Where its credential lives: env://VAR, file:///path or "
        "vault://<integration>/<path>#<key> (never the value).",
    )(command)


def _repos_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--repos",
        "repositories",
        multiple=True,
        metavar="GLOB",
        help="A repository whose .shipyard.yml may name it: acme/* (any host) or "
        "gitlab:group/**; repeat for more. None: only the server's own uses.",
    )(command)


@integrations_group.command("create")
@click.option("--name", required=True, help="Lower-case letters, digits, '.', '_', '-'.")
@click.option("--type", "kind", required=True, type=click.Choice(INTEGRATION_TYPES))
@click.option("--provider", required=True, help="One of `shipyard integrations providers`.")
@click.option("--endpoint", default=None, metavar="URL", help="Where it answers.")
@_credential_option
@click.option("--description", default="")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Repeat for more.")
@_repos_option
@click.option(
    "--config",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="A config key (JSON values are read as JSON: retries=3); repeat for more.",
)
def create(
    name: str,
    kind: str,
    provider: str,
    endpoint: str | None,
    credential: str | None,
    description: str,
    labels: tuple[str, ...],
    repositories: tuple[str, ...],
    settings: tuple[str, ...],
) -> None:
    """Register an integration."""
    from app.integrations import monitor
    from app.integrations.store import IntegrationExists, InvalidIntegration, create_integration

    config = config_values(settings)
    if endpoint is not None:
        config["endpoint"] = endpoint
    wanted_labels = key_values(labels, "--label")
    server = load_settings()

    async def make(sessions: SessionFactory) -> Integration:
        made = await create_integration(
            sessions,
            server,
            _catalogue(),
            name=name,
            type=kind,
            provider=provider,
            config=config,
            credential_ref=credential,
            description=description,
            labels=wanted_labels,
            repositories=repositories,
        )
        await monitor.schedule_checks(sessions, made.id)
        return made

    try:
        made = with_database(server, make)
    except InvalidIntegration as error:
        raise _invalid(error) from None
    except IntegrationExists as error:
        raise click.ClickException(
            f"{error} (`shipyard integrations update {name}` changes it)"
        ) from None
    echo(
        f"created {made.type} integration {made.name} ({made.provider})"
        + (f", with the credential {made.credential_ref}" if made.credential_ref else "")
        + f"; `shipyard integrations test {made.name}` checks it"
    )


@integrations_group.command("update")
@click.argument("name")
@click.option("--endpoint", default=None, metavar="URL")
@_credential_option
@click.option("--no-credential", is_flag=True, help="Remove its credential reference.")
@click.option("--description", default=None)
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Set a label.")
@click.option("--unlabel", "unlabels", multiple=True, metavar="KEY", help="Remove a label.")
@_repos_option
@click.option("--no-repos", is_flag=True, help="Grant it to no repository's config.")
@click.option(
    "--config",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Set a config key (KEY=null removes it); repeat for more.",
)
def update(
    name: str,
    endpoint: str | None,
    credential: str | None,
    no_credential: bool,
    description: str | None,
    labels: tuple[str, ...],
    unlabels: tuple[str, ...],
    repositories: tuple[str, ...],
    no_repos: bool,
    settings: tuple[str, ...],
) -> None:
    """Change integration NAME: only what is given changes."""
    from app.integrations.errors import IntegrationError
    from app.integrations.store import InvalidIntegration, update_integration

    if credential is not None and no_credential:
        raise click.UsageError("give --credential or --no-credential, not both")
    changes: dict[str, Any] = {}
    config = config_values(settings)
    if endpoint is not None:
        config["endpoint"] = endpoint
    if config:
        changes["config"] = config
    if credential is not None or no_credential:
        changes["credential_ref"] = credential
    if description is not None:
        changes["description"] = description
    if repositories and no_repos:
        raise click.UsageError("give --repos or --no-repos, not both")
    if repositories or no_repos:
        changes["repositories"] = list(repositories)
    set_labels = key_values(labels, "--label")
    if not changes and not set_labels and not unlabels:
        raise click.UsageError("nothing to change: give an option (--help lists them)")
    server = load_settings()

    async def change(sessions: SessionFactory) -> Integration:
        if set_labels or unlabels:
            from app.integrations.store import get_integration

            current = dict((await get_integration(sessions, name)).labels)
            current.update(set_labels)
            for key in unlabels:
                current.pop(key, None)
            changes["labels"] = current
        return await update_integration(sessions, server, _catalogue(), name, changes)

    try:
        changed = with_database(server, change)
    except InvalidIntegration as error:
        raise _invalid(error) from None
    except IntegrationError as error:
        raise click.ClickException(_said(error)) from None
    echo(f"updated integration {changed.name}")
    for line in _show_lines(changed)[1:]:
        echo(f"  {line}")


@integrations_group.command("test")
@click.argument("name")
def test(name: str) -> None:
    """Check integration NAME: connectivity, authentication and functionality, each ✓ or ✗
    with its latency. Exits non-zero when a check failed."""
    from app.integrations.model import TestReport

    async def check(services: Services) -> TestReport:
        return await services.integrations.test(name)

    report = _with_services(load_settings(), check)
    for result in report.results:
        echo(_check_line(result.level, result.as_json()))
    failed = [result for result in report.results if not result.ok]
    if failed:
        raise click.ClickException(
            f"integration {name} is {report.health}: {len(failed)} of its "
            f"{len(report.results)} checks failed"
        )
    echo(f"integration {name} is {report.health}")


@integrations_group.command("discover")
@click.argument("name")
@click.argument("resource_type")
@click.option("--pattern", default=None, help="A glob (web-*) or a part of the names.")
@click.option("--repository", default=None, help="tags: the repository whose tags.")
def discover(name: str, resource_type: str, pattern: str | None, repository: str | None) -> None:
    """What integration NAME reaches of RESOURCE_TYPE (repositories, tags, jobs, channels …)."""
    from app.integrations.hub import Discovery

    scope = {"repository": repository} if repository else None

    async def ask(services: Services) -> Discovery:
        return await services.integrations.discover(
            name, resource_type, pattern=pattern, scope=scope
        )

    found = _with_services(load_settings(), ask)
    for resource in found.resources:
        echo(resource.name + (f"  {resource.url}" if resource.url else ""))
    echo(f"{len(found.resources)} {resource_type}" + (f" matching {pattern}" if pattern else ""))


@integrations_group.command("delete")
@click.argument("name")
def delete(name: str) -> None:
    """Remove integration NAME (and its scheduled health checks)."""
    from app.integrations.errors import IntegrationError
    from app.integrations.store import delete_integration

    try:
        gone = with_database(load_settings(), lambda sessions: delete_integration(sessions, name))
    except IntegrationError as error:
        raise click.ClickException(_said(error)) from None
    echo(f"deleted integration {gone.name}")
