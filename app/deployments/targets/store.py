"""The registered deploy targets, in the `targets` table: add, read, change and remove them,
and whether a repository may deploy to one. What the CLI and the API both call.

A credential (and a header value that is one) is kept as its reference, checked here to name
nothing of Shipyard's own; it is resolved only when a task runs, and never stored resolved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.accounts.roles import allowed_repository
from app.db.engine import SessionFactory
from app.db.models.base import utcnow
from app.db.models.deployments import Target
from app.deployments.executors.base import TargetInfo
from app.deployments.targets.spec import InvalidTarget, TargetSpec, parse_connection, patch_spec
from app.secrets.definitions import check_source
from app.settings import Settings
from steps.secret_refs import SecretError, is_reference

__all__ = [
    "TargetExists",
    "TargetKey",
    "TargetNotFound",
    "add_target",
    "allows",
    "check_references",
    "get_target",
    "list_targets",
    "refusal",
    "remove_target",
    "spec_of",
    "target_info",
    "update_target",
]

TargetKey = int | str
"""A target by its id (an int) or its name (a str)."""


class TargetExists(ValueError):
    """A target of that name is registered already."""


class TargetNotFound(LookupError):
    """No target has that id or name."""


class _Scoped(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def repositories(self) -> Sequence[str]: ...


def check_references(spec: TargetSpec, settings: Settings) -> None:
    """InvalidTarget unless the credential and every header reference are server-side
    references (env://, file://, vault://) to something that is not Shipyard's own."""
    references = [("credential", spec.credential)] if spec.credential else []
    headers: Mapping[str, str] = getattr(spec.connection, "headers", {})
    references += [(f"header {name}", value) for name, value in headers.items()]
    for what, reference in references:
        if not is_reference(reference):
            continue  # a header's plain value (the spec refuses one that carries a credential)
        try:
            check_source(reference, settings)
        except SecretError as error:
            raise InvalidTarget(f"{what}: {error}") from None


def spec_of(row: Target) -> TargetSpec:
    """The stored target as its spec."""
    return TargetSpec.parse(
        {
            "name": row.name,
            "connection": row.connection,
            "credential": row.credential,
            "labels": row.labels,
            "repositories": row.repositories,
            "idempotent": row.idempotent,
        }
    )


def _fill(row: Target, spec: TargetSpec) -> Target:
    data = spec.data()
    row.type = spec.connection.type
    row.connection = data["connection"]
    row.credential = spec.credential
    row.labels = dict(spec.labels)
    row.repositories = list(spec.repositories)
    row.idempotent = spec.idempotent
    return row


async def add_target(
    sessions: SessionFactory, settings: Settings, spec: TargetSpec, *, created_by: str
) -> Target:
    """Register `spec`; TargetExists when its name is taken, InvalidTarget for a reference
    that may not be used."""
    check_references(spec, settings)
    row = _fill(Target(name=spec.name, type=spec.connection.type, created_by=created_by), spec)
    async with sessions() as session:
        session.add(row)
        try:
            await session.commit()
        except IntegrityError:
            raise TargetExists(f"a target named {spec.name} is registered already") from None
        await session.refresh(row)
    return row


def _where(key: TargetKey) -> Any:
    return col(Target.id) == key if isinstance(key, int) else col(Target.name) == key


async def get_target(sessions: SessionFactory, key: TargetKey) -> Target | None:
    async with sessions() as session:
        return (await session.exec(select(Target).where(_where(key)))).first()


async def list_targets(sessions: SessionFactory) -> list[Target]:
    """Every target, by name."""
    async with sessions() as session:
        return list((await session.exec(select(Target).order_by(col(Target.name)))).all())


async def update_target(
    sessions: SessionFactory,
    settings: Settings,
    key: TargetKey,
    patch: Mapping[str, Any],
    spell: Callable[[str], str] | None = None,
) -> Target:
    """Change a target by a merge patch of its spec (`patch_spec`, its problems named as
    `spell` writes them): TargetNotFound, InvalidTarget when the result is not valid or names
    a reference that may not be used."""
    async with sessions() as session:
        row = (await session.exec(select(Target).where(_where(key)))).first()
        if row is None:
            raise TargetNotFound(f"there is no target {key!r}")
        spec = patch_spec(spec_of(row), patch, spell)
        check_references(spec, settings)
        _fill(row, spec).updated_at = utcnow()
        session.add(row)
        await session.commit()
        await session.refresh(row)
        return row


async def remove_target(sessions: SessionFactory, key: TargetKey) -> Target | None:
    """Remove a target; the row it was, or None when there was none."""
    async with sessions() as session:
        row = (await session.exec(select(Target).where(_where(key)))).first()
        if row is not None:
            await session.delete(row)
            await session.commit()
        return row


def allows(target: _Scoped, provider: str, repository: str) -> bool:
    """Whether `provider`'s `repository` may deploy to `target`: one of its repository globs
    matches (`acme/*` on any host, `gitlab:group/**` on one; case-insensitive)."""
    return allowed_repository((), target.repositories, provider, repository)


def refusal(target: _Scoped, provider: str, repository: str) -> str:
    """Why `provider`'s `repository` may not deploy to `target`, for the person who asked."""
    return (
        f"target {target.name} does not allow {provider}:{repository} "
        f"(its repositories: {', '.join(target.repositories)})"
    )


def target_info(row: Target) -> TargetInfo:
    """The target as an executor sees it."""
    return TargetInfo(
        name=row.name,
        connection=parse_connection(row.connection),
        credential=row.credential,
        labels=dict(row.labels),
        idempotent=row.idempotent,
    )
