"""Secrets the server defines: each a name, where its value lives (a server-side reference,
never the value) and the repositories it is granted to; stored in the database.

A definition may not point at one of Shipyard's own credentials: a setting's variable, the
App's key file, the `.env` file Shipyard reads. What a repository's config may name is exactly
what is granted to it (`SecretGrants`), checked when its config is read.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.access.allowlist import RepoAllowlist
from app.db.engine import SessionFactory
from app.db.models.integrations import IntegrationRow
from app.db.models.secrets import SecretDefinition
from app.settings import Settings
from steps.secret_refs import SCHEMES, SecretError, parse_reference

__all__ = [
    "Definition",
    "SecretGrants",
    "all_definitions",
    "define",
    "forbidden_paths",
    "forbidden_variables",
    "is_forbidden",
    "remove",
]

SERVER_SCHEMES = tuple(scheme for scheme in SCHEMES if scheme != "secret")


@dataclass(frozen=True)
class Definition:
    """One server-side secret: `source` is where its value lives; `repositories` the
    `host:glob` patterns it is granted to."""

    name: str
    source: str
    repositories: tuple[str, ...]

    def grants(self, provider: str, repository: str) -> bool:
        return bool(self.repositories) and RepoAllowlist.parse(",".join(self.repositories)).allows(
            provider, repository
        )


@dataclass(frozen=True)
class SecretGrants:
    """What one repository may name: the secrets defined on the server, and those granted to
    it. Hashable: a cached config is keyed by the grants it was checked against."""

    repository: str
    defined: frozenset[str]
    granted: frozenset[str]

    @classmethod
    def for_repository(
        cls, definitions: Iterable[Definition], provider: str, repository: str
    ) -> SecretGrants:
        known = list(definitions)
        return cls(
            f"{provider}:{repository}",
            frozenset(d.name for d in known),
            frozenset(d.name for d in known if d.grants(provider, repository)),
        )

    def problem(self, name: str) -> str | None:
        """Why `secret://NAME` may not be used by this repository, or None."""
        if name not in self.defined:
            return (
                f"secret://{name} is not defined on this server (an operator defines it with "
                "`shipyard secrets define`)"
            )
        if name not in self.granted:
            return f"secret://{name} is not granted to {self.repository}"
        return None


def forbidden_variables(settings: Settings) -> frozenset[str]:
    """The environment variables that are Shipyard's own settings: never a secret's source."""
    return frozenset(
        str(field.validation_alias).upper() for field in type(settings).model_fields.values()
    )


# What the kernel shows of this process (its environment, memory and files): never a source.
PROCESS_VIEWS = (Path("/proc"), Path("/sys"), Path("/dev"))


def forbidden_paths(settings: Settings) -> frozenset[Path]:
    """Files that hold Shipyard's own credentials or state: never a secret's source."""
    paths = {Path(".env").resolve(), Path(settings.data_dir).resolve(), *PROCESS_VIEWS}
    if settings.is_sqlite:
        database = settings.database_url.partition(":///")[2].partition("?")[0]
        paths.add(Path(database).expanduser().resolve())
    key = settings.github_private_key.get_secret_value() if settings.github_private_key else ""
    if key.strip() and not key.lstrip().startswith("-----BEGIN"):
        paths.add(Path(key.strip()).expanduser().resolve())
    return frozenset(paths)


def check_source(source: str, settings: Settings) -> None:
    """SecretError unless `source` is a server-side reference to something not Shipyard's own."""
    ref = parse_reference(source, allowed=SERVER_SCHEMES)
    if ref.scheme == "env" and ref.name.upper() in forbidden_variables(settings):
        raise SecretError(f"{ref} is one of Shipyard's own settings, never a secret's source")
    if ref.scheme == "file" and is_forbidden(Path(ref.path), forbidden_paths(settings)):
        raise SecretError(f"{ref} holds Shipyard's own credentials or state")


def is_forbidden(path: Path, forbidden: frozenset[Path]) -> bool:
    """Whether `path`, as written or with its links followed (/proc/1/root/… is /…), is or lies
    inside one of `forbidden`."""
    seen = [Path(os.path.abspath(path))]
    with contextlib.suppress(OSError):  # a link that may not be followed: judged as written
        seen.append(path.resolve())
    return any(p == bad or p.is_relative_to(bad) for p in seen for bad in forbidden)


async def define(
    sessions: SessionFactory,
    settings: Settings,
    name: str,
    source: str,
    repositories: Iterable[str],
) -> Definition:
    """Add or replace secret `name`; SecretError/ValueError saying what is wrong. A vault://
    source must name a `secrets` integration that exists."""
    parse_reference(f"secret://{name}")
    check_source(source, settings)
    patterns = tuple(repositories)
    if not patterns:
        raise ValueError("a secret must be granted to at least one repository pattern")
    RepoAllowlist.parse(",".join(patterns))  # ValueError naming a malformed pattern
    async with sessions() as session:
        ref = parse_reference(source)
        if ref.scheme == "vault":
            store = (
                await session.exec(
                    select(IntegrationRow).where(IntegrationRow.name == ref.integration)
                )
            ).first()
            if store is None or store.type != "secrets":
                raise SecretError(
                    f"{ref} names no secrets integration {ref.integration!r} (add it first: "
                    "shipyard integrations create --type secrets --provider hashicorp-vault …)"
                )
        await session.exec(delete(SecretDefinition).where(col(SecretDefinition.name) == name))
        session.add(SecretDefinition(name=name, source=source, repositories=list(patterns)))
        try:
            await session.commit()
        except IntegrityError:  # defined at the same moment elsewhere: this one wins next
            raise ValueError(f"secret {name!r} was defined at the same time; try again") from None
    return Definition(name, source, patterns)


async def remove(sessions: SessionFactory, name: str) -> bool:
    async with sessions() as session:
        result = await session.exec(
            delete(SecretDefinition).where(col(SecretDefinition.name) == name)
        )
        await session.commit()
        return bool(result.rowcount)


async def all_definitions(sessions: SessionFactory) -> dict[str, Definition]:
    async with sessions() as session:
        rows = await session.exec(select(SecretDefinition).order_by(col(SecretDefinition.name)))
        return {row.name: Definition(row.name, row.source, tuple(row.repositories)) for row in rows}
