"""`shipyard service-accounts create|list|revoke`: who may call the REST API (`/api/v1`).

`create` prints the token once, alone on standard output (`TOKEN=$(shipyard service-accounts
create ci --role release-creator --repos 'acme/*')`), and what it is for on standard error;
Shipyard keeps only its SHA-256, so no command shows it again. This is also how the first
admin token is made.
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from typing import Any

import click

from app.cli.support import echo, load_settings, with_database
from app.db.models.accounts import ServiceAccount
from app.db.models.base import as_utc

__all__ = ["service_accounts_group"]


@click.group("service-accounts")
def service_accounts_group() -> None:
    """Service accounts: bearer tokens for CI and other callers of the REST API."""


def _when(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat(timespec="seconds") if moment is not None else None


def _state(account: ServiceAccount, now: datetime) -> str:
    if account.revoked_at is not None:
        return "revoked"
    if account.expires_at is not None and as_utc(account.expires_at) <= now:
        return "expired"
    return "active"


def _fields(account: ServiceAccount, now: datetime) -> dict[str, Any]:
    """What may be shown of an account: never its token, nor the token's hash."""
    return {
        "id": account.id,
        "name": account.name,
        "description": account.description,
        "state": _state(account, now),
        "roles": account.roles,
        "permissions": [f"{p['resource']}:{p['action']}" for p in account.permissions],
        "repositories": account.repositories,
        "created_by": account.created_by,
        "created_at": _when(account.created_at),
        "expires_at": _when(account.expires_at),
        "revoked_at": _when(account.revoked_at),
        "last_used_at": _when(account.last_used_at),
    }


@service_accounts_group.command("create")
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help="admin, release-creator, deployer, viewer or metrics-reader; repeat for more.",
)
@click.option(
    "--repos",
    "repositories",
    multiple=True,
    metavar="GLOB",
    help="A repository it may act on: acme/* (any host) or gitlab:group/**; repeat for more. "
    "Required for every role but admin and metrics-reader.",
)
@click.option(
    "--permission",
    "permissions",
    multiple=True,
    metavar="RESOURCE:ACTION",
    help="A permission beyond its roles', such as deployments:create; repeat for more.",
)
@click.option(
    "--expires", default=None, help="How long the token lasts: 365d, 12h… (default: no end)."
)
@click.option("--description", default="", help="What the account is for.")
def create(
    name: str,
    roles: tuple[str, ...],
    repositories: tuple[str, ...],
    permissions: tuple[str, ...],
    expires: str | None,
    description: str,
) -> None:
    """Create service account NAME and print its token, this once."""
    from app.accounts import InvalidAccount, create_account

    try:
        account, token = with_database(
            load_settings(),
            lambda sessions: create_account(
                sessions,
                name=name,
                description=description,
                roles=roles,
                permissions=permissions,
                repositories=repositories,
                expires_in=expires,
                created_by=f"cli:{getpass.getuser()}",
            ),
        )
    except InvalidAccount as error:
        raise click.ClickException(str(error)) from None
    fields = _fields(account, datetime.now(UTC))
    scope = ", ".join(fields["repositories"]) or "every repository"
    echo(
        f"service account {account.id} {account.name!r}: {', '.join(account.roles)} on {scope}, "
        + (f"until {fields['expires_at']}" if account.expires_at else "with no expiry"),
        err=True,
    )
    click.echo(token)
    echo(
        "This token is shown only now: Shipyard keeps only its SHA-256. Store it in your CI's "
        "secrets; if it is lost, revoke the account and create another.",
        err=True,
    )


@service_accounts_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_accounts(as_json: bool) -> None:
    """Every service account, revoked ones too (never a token)."""
    from app.accounts import list_accounts as accounts_of

    now = datetime.now(UTC)
    accounts = with_database(load_settings(), accounts_of)
    if not accounts and not as_json:
        click.echo("no service accounts (shipyard service-accounts create NAME --role ROLE)")
    for account in accounts:
        fields = _fields(account, now)
        if as_json:
            click.echo(json.dumps(fields))
            continue
        echo(
            f"{account.id:>4}  {account.name:<20} {fields['state']:<8} "
            f"{','.join(account.roles):<16} {','.join(account.repositories) or '*'}  "
            f"expires {fields['expires_at'] or 'never'}  "
            f"last used {fields['last_used_at'] or 'never'}"
        )


@service_accounts_group.command("revoke")
@click.argument("account")
def revoke(account: str) -> None:
    """Revoke ACCOUNT (its id or name): its token stops working at once."""
    from app.accounts import AccountNotFound, revoke_account

    try:
        revoked = with_database(load_settings(), lambda sessions: revoke_account(sessions, account))
    except AccountNotFound:
        raise click.ClickException(f"there is no service account {account!r}") from None
    echo(f"revoked service account {revoked.id} {revoked.name!r} (at {_when(revoked.revoked_at)})")
