"""Service accounts in the database: made with a token shown once, listed, revoked, and the
account a token belongs to (unknown, expired and revoked tokens refused, last use recorded)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from app.accounts import (
    AccountExists,
    AccountNotFound,
    InvalidAccount,
    Permission,
    Unauthenticated,
    authenticate,
    create_account,
    hash_token,
    list_accounts,
    revoke_account,
)
from app.accounts.store import get_account
from app.db.engine import SessionFactory, create_engine, session_factory
from app.db.models.base import utcnow
from app.settings import Settings
from tests.support.database import everything


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[SessionFactory]:
    engine = create_engine(settings)
    yield session_factory(engine)
    await engine.dispose()


async def test_an_account_is_made_with_its_token_kept_as_a_hash(
    sessions: SessionFactory, settings: Settings
) -> None:
    account, token = await create_account(
        sessions,
        name="ci-web",
        description="the web app's pipeline",
        roles=["release-creator"],
        permissions=[{"resource": "deployments", "action": "create"}],
        repositories=["acme/web"],
        expires_in="365d",
        created_by="cli:root",
    )
    assert account.id is not None
    assert account.token_sha256 == hash_token(token)
    assert account.permissions == [{"resource": "deployments", "action": "create"}]
    assert account.expires_at is not None
    assert timedelta(days=364) < account.expires_at - account.created_at <= timedelta(days=365)
    dump = await everything(settings)
    assert "ci-web" in dump
    assert token not in dump
    assert token.removeprefix("shipyard_sa_") not in dump

    caller = await authenticate(sessions, token)
    assert caller.name == "ci-web"
    assert caller.may(Permission("releases", "create"))
    assert caller.may(Permission("deployments", "create"))
    assert not caller.may(Permission("service-accounts", "read"))
    assert caller.may_act_on("github", "acme/web")
    assert not caller.may_act_on("github", "acme/api")


async def test_names_are_unique_and_inputs_checked(sessions: SessionFactory) -> None:
    await create_account(sessions, name="root", roles=["admin"])
    with pytest.raises(AccountExists, match="an account named 'root' exists"):
        await create_account(sessions, name="root", roles=["admin"])
    with pytest.raises(InvalidAccount, match="repositories are required"):
        await create_account(sessions, name="ci", roles=["viewer"])
    with pytest.raises(InvalidAccount, match="at least one role"):
        await create_account(sessions, name="ci", roles=[], repositories=["a/b"])
    with pytest.raises(InvalidAccount, match="account name 'no spaces'"):
        await create_account(sessions, name="no spaces", roles=["admin"])
    with pytest.raises(InvalidAccount, match="has no unit"):
        await create_account(sessions, name="ci", roles=["admin"], expires_in="10")
    assert [a.name for a in await list_accounts(sessions)] == ["root"]


async def test_unknown_expired_and_revoked_tokens_are_refused(sessions: SessionFactory) -> None:
    account, token = await create_account(sessions, name="ci", roles=["admin"], expires_in="1h")
    await authenticate(sessions, token)
    with pytest.raises(Unauthenticated, match="not a Shipyard service-account token"):
        await authenticate(sessions, "ghp_something")
    with pytest.raises(Unauthenticated, match="the token is not valid"):
        await authenticate(sessions, token[:-4] + "AAAA")
    with pytest.raises(Unauthenticated, match="'ci' expired"):
        await authenticate(sessions, token, now=utcnow() + timedelta(hours=1, seconds=1))

    revoked = await revoke_account(sessions, "ci")
    assert revoked.revoked_at is not None
    with pytest.raises(Unauthenticated, match="'ci' is revoked"):
        await authenticate(sessions, token)
    again = await revoke_account(sessions, account.id or 0)
    assert again.revoked_at == revoked.revoked_at
    with pytest.raises(AccountNotFound):
        await revoke_account(sessions, "nobody")
    assert [a.name for a in await list_accounts(sessions)] == ["ci"]


async def test_last_use_is_written_at_most_once_a_minute(sessions: SessionFactory) -> None:
    account, token = await create_account(sessions, name="ci", roles=["admin"])
    assert account.last_used_at is None
    start = utcnow()
    await authenticate(sessions, token, now=start)
    first = await get_account(sessions, "ci")
    assert first is not None
    assert first.last_used_at is not None
    await authenticate(sessions, token, now=start + timedelta(seconds=59))
    same = await get_account(sessions, "ci")
    assert same is not None
    assert same.last_used_at == first.last_used_at
    await authenticate(sessions, token, now=start + timedelta(seconds=61))
    later = await get_account(sessions, "ci")
    assert later is not None
    assert later.last_used_at != first.last_used_at


async def test_a_name_of_digits_is_found_before_an_id(sessions: SessionFactory) -> None:
    first, _ = await create_account(sessions, name="first", roles=["admin"])
    await create_account(sessions, name=str(first.id), roles=["admin"])
    revoked = await revoke_account(sessions, str(first.id))
    assert revoked.name == str(first.id)
    found = await get_account(sessions, first.id or 0)
    assert found is not None
    assert found.name == "first"
    assert found.revoked_at is None
