"""Service accounts in the database: made (the token returned once, its SHA-256 kept),
listed, revoked, and the account a presented token belongs to.

Authentication is one read on the hot path: the row is looked up by the token's hash (a
unique index), the hashes compared in constant time, and its last use written at most once a
minute per account.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.accounts.roles import (
    ADMIN,
    InvalidAccount,
    Permission,
    allowed_repository,
    check_repositories,
    parse_duration,
    parse_permission,
    permissions_of,
)
from app.accounts.tokens import hash_token, looks_like_token, new_token
from app.db.engine import SessionFactory
from app.db.models.accounts import ServiceAccount
from app.db.models.base import as_utc, utcnow

__all__ = [
    "LAST_USE_EVERY",
    "AccountExists",
    "AccountNotFound",
    "Caller",
    "Unauthenticated",
    "acting_caller",
    "authenticate",
    "create_account",
    "get_account",
    "list_accounts",
    "revoke_account",
]

LAST_USE_EVERY = timedelta(minutes=1)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class AccountExists(InvalidAccount):
    """An account of that name exists (revoked ones too: names are not reused)."""


class AccountNotFound(LookupError):
    pass


class Unauthenticated(Exception):
    """No account answers to the token: missing, unknown, expired or revoked (says which)."""


@dataclass(frozen=True)
class Caller:
    """The account a request was authenticated as."""

    id: int
    name: str
    roles: tuple[str, ...]
    permissions: frozenset[Permission]
    repositories: tuple[str, ...]

    @property
    def admin(self) -> bool:
        return ADMIN in self.roles

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions

    def may_act_on(self, provider: str, repository: str) -> bool:
        return allowed_repository(self.roles, self.repositories, provider, repository)


def _validated_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidAccount(
            f"account name {name!r}: 1 to 100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


async def create_account(
    sessions: SessionFactory,
    *,
    name: str,
    description: str = "",
    roles: Iterable[str],
    permissions: Iterable[Mapping[str, object] | str | Permission] = (),
    repositories: Iterable[str] = (),
    expires_in: str | timedelta | None = None,
    created_by: str = "",
) -> tuple[ServiceAccount, str]:
    """A new account and its token. The token is returned here only: the database keeps its
    SHA-256. InvalidAccount (AccountExists for a taken name) says what to change."""
    role_list = list(dict.fromkeys(roles))
    if not role_list:
        raise InvalidAccount("an account needs at least one role: admin, release-creator, ...")
    extra = sorted({p if isinstance(p, Permission) else parse_permission(p) for p in permissions})
    permissions_of(role_list, extra)  # unknown roles; extra permissions only admins may hold
    scope = check_repositories(role_list, repositories)
    lifetime = parse_duration(expires_in) if isinstance(expires_in, str) else expires_in
    if lifetime is not None and lifetime <= timedelta(0):
        raise InvalidAccount("expiry must be a time above zero")
    now = utcnow()
    token = new_token()
    account = ServiceAccount(
        name=_validated_name(name),
        description=description,
        roles=role_list,
        permissions=[{"resource": p.resource, "action": p.action} for p in extra],
        repositories=list(scope),
        token_sha256=hash_token(token),
        created_by=created_by[:200],
        created_at=now,
        expires_at=now + lifetime if lifetime is not None else None,
    )
    async with sessions() as session:
        session.add(account)
        try:
            await session.commit()
        except IntegrityError:
            raise AccountExists(f"an account named {name!r} exists already") from None
        await session.refresh(account)
    return account, token


async def list_accounts(sessions: SessionFactory) -> list[ServiceAccount]:
    """Every account, revoked ones too, oldest first."""
    async with sessions() as session:
        query = select(ServiceAccount).order_by(col(ServiceAccount.id))
        return list((await session.exec(query)).all())


async def get_account(sessions: SessionFactory, id_or_name: int | str) -> ServiceAccount | None:
    """The account of that id (an int) or name (a str; a name of digits falls back to id)."""
    async with sessions() as session:
        if isinstance(id_or_name, str):
            query = select(ServiceAccount).where(ServiceAccount.name == id_or_name)
            found = (await session.exec(query)).first()
            if found is not None or not id_or_name.isdigit():
                return found
            id_or_name = int(id_or_name)
        return await session.get(ServiceAccount, id_or_name)


async def revoke_account(sessions: SessionFactory, id_or_name: int | str) -> ServiceAccount:
    """Revoke the account: its token stops working at once. Revoking twice keeps the first
    time. AccountNotFound when there is no such account."""
    account = await get_account(sessions, id_or_name)
    if account is None:
        raise AccountNotFound(f"no service account {id_or_name!r}")
    async with sessions() as session:
        await session.exec(
            update(ServiceAccount)
            .where(col(ServiceAccount.id) == account.id, col(ServiceAccount.revoked_at).is_(None))
            .values(revoked_at=utcnow())
        )
        await session.commit()
    revoked = await get_account(sessions, account.id or 0)
    assert revoked is not None
    return revoked


_TABLE = ServiceAccount.__table__  # type: ignore[attr-defined]
_BY_HASH = _TABLE.select().where(_TABLE.c.token_sha256 == bindparam("digest"))
# One statement each, no transaction around them: a token's lookup is one round trip.
_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


async def authenticate(
    sessions: SessionFactory, token: str, *, now: datetime | None = None
) -> Caller:
    """The account `token` belongs to; Unauthenticated saying why not (unknown, expired,
    revoked). Its last use is recorded, at most once a minute."""
    if not looks_like_token(token):
        raise Unauthenticated("the bearer token is not a Shipyard service-account token")
    digest = hash_token(token)
    now = now or utcnow()
    async with sessions() as session:
        connection = await session.connection(execution_options=_AUTOCOMMIT)
        found = await connection.execute(_BY_HASH, {"digest": digest})
        account = found.first()
        if account is None or not hmac.compare_digest(account.token_sha256, digest):
            raise Unauthenticated("the token is not valid")
        why = _unusable(account, now)
        if why is not None:
            raise Unauthenticated(why)
        last = as_utc(account.last_used_at)
        if last is None or now - last >= LAST_USE_EVERY:
            await connection.execute(
                update(_TABLE)
                .where(
                    _TABLE.c.id == account.id,
                    or_(
                        _TABLE.c.last_used_at.is_(None),
                        _TABLE.c.last_used_at <= now - LAST_USE_EVERY,
                    ),
                )
                .values(last_used_at=now)
            )
    return _caller(account)


async def acting_caller(sessions: SessionFactory, name: str) -> Caller | None:
    """The account named `name` as it may act now (for work it set going earlier, such as a
    release it made deploying itself); None when it is gone, revoked or expired."""
    account = await get_account(sessions, name)
    if account is None or _unusable(account, utcnow()) is not None:
        return None
    return _caller(account)


class _Account(Protocol):
    """An account's row, as an ORM object or as a row a statement returned."""

    id: int | None
    name: str
    roles: list[str]
    permissions: list[dict[str, str]]
    repositories: list[str]
    revoked_at: datetime | None
    expires_at: datetime | None


def _unusable(account: _Account, now: datetime) -> str | None:
    """Why the account may not act now (revoked, expired); None when it may."""
    if account.revoked_at is not None:
        return f"the service account {account.name!r} is revoked"
    expires = as_utc(account.expires_at)
    if expires is not None and expires <= now:
        return f"the token of {account.name!r} expired on {expires:%Y-%m-%d}"
    return None


def _caller(account: _Account) -> Caller:
    assert account.id is not None
    return Caller(
        id=account.id,
        name=account.name,
        roles=tuple(account.roles),
        permissions=permissions_of(account.roles, account.permissions),
        repositories=tuple(account.repositories),
    )
