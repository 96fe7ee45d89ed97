"""`shipyard targets add|list|show|remove|test`: the deploy targets registered on this server.

A repository's `.shipyard.yml` only names a target; what it is (an SSH host, a webhook, an
API, a workflow, a command), how to reach it, the credential's reference (never its value)
and the repositories allowed to deploy to it are registered here, or through the API.
"""

from __future__ import annotations

import asyncio
import getpass
from typing import Any, TypeVar

import click

from app.cli.support import echo, key_values, load_settings, table_lines, with_database
from app.db.models.base import as_utc
from app.db.models.deployments import Target
from app.deployments.targets.spec import TARGET_TYPES
from app.settings import Settings

__all__ = ["targets_group"]

T = TypeVar("T")

# How each connection field is written on the command line (the others: --field-name).
_FLAGS = {"headers": "--header"}
# How a spec's other fields are written there (what a validation message names).
_NAMES = {"name": "NAME", "repositories": "--repos", "labels": "--label"}


def _flag(field: str) -> str:
    return _FLAGS.get(field, "--" + field.replace("_", "-"))


def _spell(where: str) -> str:
    """A spec's field as this command takes it: `connection.known_host` → `--known-host`."""
    head, _, rest = where.partition(".")
    if head == "connection" and rest:
        return _flag(rest.partition(".")[0])
    return _NAMES.get(head, "--" + head.replace("_", "-"))


@click.group("targets")
def targets_group() -> None:
    """Deploy targets: where deployments go, and which repositories may deploy there."""


@targets_group.command("add")
@click.argument("name")
@click.option("--type", "kind", required=True, type=click.Choice(TARGET_TYPES))
@click.option(
    "--repos",
    "repositories",
    multiple=True,
    required=True,
    metavar="GLOB",
    help="A repository allowed to deploy to it: acme/* (any host) or gitlab:group/**; "
    "repeat for more.",
)
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Repeat for more.")
@click.option(
    "--credential",
    default=None,
    metavar="REF",
    help="Where the credential lives: env://VAR, file:///path or vault://… (ssh: the private key; "
    "webhook: the signing secret; api: the bearer token).",
)
@click.option("--idempotent", is_flag=True, help="Its deploy may safely run twice.")
@click.option("--host", default=None, help="ssh: the host name or address.")
@click.option("--port", type=int, default=None, help="ssh: the port (default 22).")
@click.option("--user", default=None, help="ssh: the user to sign in as.")
@click.option("--workdir", default=None, help="ssh: where files go (default ~/shipyard).")
@click.option(
    "--known-host",
    default=None,
    metavar="'KEYTYPE BASE64'",
    help="ssh: the host's key, as a known_hosts line without the host.",
)
@click.option(
    "--host-key-fingerprint",
    default=None,
    metavar="SHA256:…",
    help="ssh: the host key's fingerprint, as ssh-keygen -lf prints it.",
)
@click.option("--url", default=None, help="webhook, api: where the deploy is sent.")
@click.option("--method", default=None, help="webhook, api: POST (default), PUT, PATCH or GET.")
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="NAME=VALUE",
    help="webhook, api: a header; a credential as a reference (Authorization=env://VAR).",
)
@click.option("--status-url", default=None, help="webhook, api: polled until the deploy is done.")
@click.option("--timeout", type=float, default=None, help="webhook, api: seconds (default 600).")
@click.option("--body", default=None, metavar="TEMPLATE", help="api: the JSON body's template.")
@click.option("--workflow", default=None, metavar="FILE", help="workflow: the workflow to run.")
@click.option("--ref", default=None, help="workflow: the ref to run it at (default branch).")
@click.option(
    "--provider",
    default=None,
    help="workflow: the host of --repository (github, gitlab, gitea, forgejo).",
)
@click.option(
    "--repository", default=None, help="workflow: owner/name (default: the deploying one)."
)
@click.option(
    "--integration",
    default=None,
    metavar="NAME",
    help="workflow: a ci integration (Jenkins, a host's CI) to run it on, instead of --provider; "
    "--workflow then names its job.",
)
@click.option("--command", default=None, metavar="CMD", help="command: what bash runs.")
def add(
    name: str,
    kind: str,
    repositories: tuple[str, ...],
    labels: tuple[str, ...],
    credential: str | None,
    idempotent: bool,
    headers: tuple[str, ...],
    **connection: Any,
) -> None:
    """Register target NAME."""
    from app.deployments.targets.spec import InvalidTarget, TargetSpec, check_fields
    from app.deployments.targets.store import TargetExists, add_target

    fields = {field: value for field, value in connection.items() if value is not None}
    if headers:
        fields["headers"] = key_values(headers, "--header")
    if isinstance(fields.get("method"), str):
        fields["method"] = fields["method"].upper()
    try:
        check_fields(kind, fields, _flag)
    except InvalidTarget as error:
        raise click.UsageError(str(error)) from None
    settings = load_settings()
    try:
        spec = TargetSpec.parse(
            {
                "name": name,
                "connection": {"type": kind, **fields},
                "credential": credential,
                "labels": key_values(labels, "--label"),
                "repositories": repositories,
                "idempotent": idempotent,
            },
            _spell,
        )
        row = with_database(
            settings,
            lambda sessions: add_target(
                sessions, settings, spec, created_by=f"cli:{getpass.getuser()}"
            ),
        )
    except InvalidTarget as error:
        raise click.ClickException(str(error)) from None
    except TargetExists as error:
        raise click.ClickException(
            f"{error} (`shipyard targets remove {name}` first to register it anew)"
        ) from None
    echo(
        f"added {row.type} target {row.name}: {_where(row)}, for {', '.join(row.repositories)}"
        + (f", with the credential {row.credential}" if row.credential else "")
    )


def _where(row: Target) -> str:
    """Where a target deploys, in a few words."""
    connection = row.connection
    if row.type == "ssh":
        return f"{connection['user']}@{connection['host']}:{connection.get('port', 22)}"
    if row.type in ("webhook", "api"):
        return f"{connection.get('method', 'POST')} {connection['url']}"
    if row.type == "workflow" and connection.get("integration"):
        return f"{connection['workflow']} on integration {connection['integration']}"
    if row.type == "workflow":
        repository = connection.get("repository")
        where = (
            f"{connection.get('provider') or 'the same host'}:{repository}"
            if repository
            else "the deploying repository"
        )
        return f"{connection['workflow']} in {where}" + (
            f" at {connection['ref']}" if connection.get("ref") else ""
        )
    command = str(connection.get("command", "")).splitlines()[0:1] or [""]
    return f"$ {command[0][:60]}"


@targets_group.command("list")
def list_targets() -> None:
    """Every target: its type, where it deploys, who may deploy there, its labels."""
    from app.deployments.targets.store import list_targets as rows_of

    rows = with_database(load_settings(), rows_of)
    if not rows:
        click.echo(
            "no targets are registered (shipyard targets add NAME --type ssh|webhook|api|"
            "workflow|command --repos GLOB …)"
        )
        return
    table = [["NAME", "TYPE", "WHERE", "REPOSITORIES", "LABELS", "IDEMPOTENT"]]
    for row in rows:
        labels = ",".join(f"{key}={value}" for key, value in sorted(row.labels.items()))
        table.append(
            [
                row.name,
                row.type,
                _where(row),
                ",".join(row.repositories),
                labels or "-",
                "yes" if row.idempotent else "no",
            ]
        )
    for line in table_lines(table):
        echo(line)


def _show_lines(row: Target) -> list[str]:
    """Everything about a target, its credential and header references as references."""
    lines = [
        f"name: {row.name}",
        f"id: {row.id}",
        f"type: {row.type}",
        f"where: {_where(row)}",
    ]
    for field, value in row.connection.items():
        if field == "type":
            continue
        if field == "headers":
            lines += [f"header {key}: {header}" for key, header in value.items()]
            continue
        text = str(value)
        if "\n" in text:
            lines.append(f"{field}: |")
            lines += [f"  {line}" for line in text.splitlines()]
        else:
            lines.append(f"{field}: {text}")
    lines += [
        f"credential: {row.credential or '(none)'}",
        f"repositories: {', '.join(row.repositories)}",
        "labels: "
        + (", ".join(f"{key}={value}" for key, value in sorted(row.labels.items())) or "(none)"),
        f"idempotent: {'yes' if row.idempotent else 'no'}",
        f"created by {row.created_by} at {as_utc(row.created_at).isoformat(timespec='seconds')}",
        f"updated at {as_utc(row.updated_at).isoformat(timespec='seconds')}",
    ]
    return lines


def _load(settings: Settings, name: str) -> Target:
    from app.deployments.targets.store import get_target

    row = with_database(settings, lambda sessions: get_target(sessions, name))
    if row is None:
        raise click.ClickException(
            f"there is no target {name!r} (`shipyard targets list` shows those there are)"
        )
    return row


@targets_group.command("show")
@click.argument("name")
def show(name: str) -> None:
    """Everything about target NAME (a credential shown as its reference, never its value)."""
    for line in _show_lines(_load(load_settings(), name)):
        echo(line)


@targets_group.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Remove target NAME: deployments to it are refused from now on."""
    from app.deployments.targets.store import remove_target

    if with_database(load_settings(), lambda sessions: remove_target(sessions, name)) is None:
        raise click.ClickException(f"there is no target {name!r}")
    echo(f"removed target {name}")


@targets_group.command("test")
@click.argument("name")
def test(name: str) -> None:
    """Connect to target NAME and authenticate, deploying nothing: each check, ✓ or ✗.

    Exits non-zero when a check failed."""
    from app.db.schema import DatabaseNotMigrated
    from app.deployments.executors.base import CheckResult
    from app.deployments.targets.testing import CannotTest, test_target
    from app.wiring import SettingsError, open_services

    settings = load_settings()
    row = _load(settings, name)

    async def run() -> CheckResult:
        async with open_services(settings) as services:
            return await test_target(services, row, log=lambda line: echo(f"  {line}"))

    try:
        result = asyncio.run(run())
    except (CannotTest, SettingsError, DatabaseNotMigrated) as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:  # the database or the queue went away meanwhile
        raise click.ClickException(f"target {name} could not be tested: {error}") from None
    for what, ok, detail in result.checks:
        echo(f"{'✓' if ok else '✗'} {what}" + (f": {detail}" if detail else ""))
    if not result.ok:
        failed = sum(1 for _, ok, _ in result.checks if not ok)
        raise click.ClickException(
            f"target {name} failed {failed} of its {len(result.checks)} checks"
        )
    echo(f"target {name} passed its {len(result.checks)} checks")
