"""`shipyard locks list|release`: the environment locks held now, and releasing one from the
server's command line — as its operator, an admin, recorded as `cli:<user>` (forced when the
lock was someone else's)."""

from __future__ import annotations

import getpass

import click

from app.accounts.roles import HOSTS
from app.cli.support import echo, load_settings, table_lines, with_database
from app.db.models.base import utcnow
from app.db.models.locks import DeploymentLock

__all__ = ["locks_group"]


def _repository(value: str, hint: str) -> tuple[str, str]:
    host, colon, name = value.partition(":")
    owner, slash, rest = name.partition("/")
    if not colon or host not in HOSTS or not slash or not owner or not rest:
        raise click.BadParameter(
            f"{value!r}: give the repository as host:owner/name, e.g. github:acme/web",
            param_hint=hint,
        )
    return host, name


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _row(lock: DeploymentLock) -> list[str]:
    from app.environments.locks import time_left

    reason = _one_line(lock.reason)
    if lock.pr_number is not None:
        reason = f"{reason} (#{lock.pr_number})".strip()
    expires = f"{lock.expires_at:%Y-%m-%d %H:%M} UTC ({time_left(lock, utcnow())})"
    return [
        f"{lock.provider}:{lock.repository}",
        lock.environment if lock.environment is not None else "* (every environment)",
        lock.holder,
        reason or "-",
        expires,
    ]


@click.group("locks")
def locks_group() -> None:
    """Environment locks: which are held, and releasing one."""


@locks_group.command("list")
@click.option(
    "--repo", "repository", default=None, metavar="HOST:OWNER/NAME", help="Only this repository's."
)
def list_locks(repository: str | None) -> None:
    """The locks held now: repository, environment, holder, reason, when they expire."""
    from app.environments.locks import active_locks

    provider, name = _repository(repository, "--repo") if repository else (None, None)
    rows = with_database(load_settings(), lambda sessions: active_locks(sessions, provider, name))
    if not rows:
        click.echo("No locks are held.")
        return
    table = [["REPOSITORY", "ENVIRONMENT", "HOLDER", "REASON", "EXPIRES"]]
    table += [_row(lock) for lock in rows]
    for line in table_lines(table):
        echo(line)


@locks_group.command("release")
@click.argument("repository", metavar="HOST:OWNER/NAME")
@click.argument("environment", required=False)
@click.option("--global", "every", is_flag=True, help="The lock on every environment.")
def release(repository: str, environment: str | None, every: bool) -> None:
    """Release the lock on ENVIRONMENT of a repository (or, with --global, its lock on every
    environment), whoever holds it."""
    from app.environments.locks import LockRefused, release_lock
    from app.environments.requesters import Requester

    provider, name = _repository(repository, "HOST:OWNER/NAME")
    if every == (environment is not None):
        raise click.UsageError("give an ENVIRONMENT, or --global for the lock on every one")
    operator = Requester.operator(getpass.getuser()).name
    try:
        released = with_database(
            load_settings(),
            lambda sessions: release_lock(
                sessions,
                provider=provider,
                repository=name,
                environment=environment,
                by=operator,
                force=True,
                admin=True,
            ),
        )
    except LockRefused as refused:
        raise click.ClickException(f"{refused} (`shipyard locks list` shows those held)") from None
    what = released.environment if released.environment is not None else "every environment"
    held = f"held by {released.holder}" + (
        f": {_one_line(released.reason)}" if released.reason else ""
    )
    echo(f"released the lock on {what} of {provider}:{name} ({held})")
