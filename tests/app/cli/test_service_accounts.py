"""`shipyard service-accounts create|list|revoke`: the token is printed once, alone on standard
output; it works until the account is revoked; no listing, and no row of the database, holds
it (nor does a listing show its hash)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from app.accounts import Unauthenticated, authenticate, hash_token
from app.cli import main
from app.db.models.accounts import ServiceAccount
from app.settings import Settings
from tests.support.database import everything
from tests.support.releases import database


def run(settings: Settings, *args: str) -> Result:
    env = {"DATABASE_URL": settings.database_url, "LOGNAME": "alice"}
    return CliRunner().invoke(main, list(args), env=env)


async def shipyard(settings: Settings, *args: str) -> Result:
    return await asyncio.to_thread(run, settings, *args)


async def test_create_then_use_then_revoke(settings: Settings) -> None:
    created = await shipyard(settings, "service-accounts", "create", "ci", "--role",
                             "release-creator", "--repos", "acme/*", "--repos", "gitlab:group/**",
                             "--expires", "12h", "--description", "GitHub Actions")  # fmt: skip
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("shipyard_sa_")
    assert len(created.stdout.splitlines()) == 1
    assert "This token is shown only now" in created.stderr
    assert "release-creator on acme/*, gitlab:group/**, until " in created.stderr

    async with database(settings) as sessions:
        caller = await authenticate(sessions, token)
    assert (caller.name, caller.roles) == ("ci", ("release-creator",))
    assert caller.may_act_on("github", "acme/web")
    assert not caller.may_act_on("github", "other/web")

    listed = await shipyard(settings, "service-accounts", "list")
    as_json = await shipyard(settings, "service-accounts", "list", "--json")
    [row] = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert row["name"] == "ci"
    assert row["state"] == "active"
    assert row["created_by"] == "cli:alice"
    assert row["repositories"] == ["acme/*", "gitlab:group/**"]
    assert row["last_used_at"] is not None
    assert "ci" in listed.output
    assert "active" in listed.output
    stored = await everything(settings)
    for text in (listed.output, as_json.output, stored):
        assert token not in text
    for text in (listed.output, as_json.output):
        assert hash_token(token) not in text

    revoked = await shipyard(settings, "service-accounts", "revoke", "ci")
    assert revoked.exit_code == 0, revoked.output
    assert "revoked service account 1 'ci'" in revoked.output
    async with database(settings) as sessions:
        with pytest.raises(Unauthenticated, match="revoked"):
            await authenticate(sessions, token)
    again = await shipyard(settings, "service-accounts", "revoke", "1")
    assert again.exit_code == 0, again.output
    after = await shipyard(settings, "service-accounts", "list", "--json")
    assert json.loads(after.stdout)["state"] == "revoked"


async def test_an_admin_needs_no_repositories_and_never_expires(settings: Settings) -> None:
    created = await shipyard(settings, "service-accounts", "create", "root", "--role", "admin")
    assert created.exit_code == 0, created.output
    assert "admin on every repository, with no expiry" in created.stderr
    listed = await shipyard(settings, "service-accounts", "list")
    assert "expires never" in listed.output
    assert "last used never" in listed.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--role", "owner"), "unknown role 'owner'"),
        (("--role", "deployer"), "repositories are required for every role but admin"),
        (("--role", "admin", "--expires", "365"), "has no unit"),
        (("--role", "viewer", "--repos", "acme/*", "--permission", "service-accounts:create"),
         "only the role admin manages service accounts"),
    ],
)  # fmt: skip
async def test_what_a_person_gets_wrong_is_said(
    settings: Settings, args: tuple[str, ...], says: str
) -> None:
    result = await shipyard(settings, "service-accounts", "create", "ci", *args)
    assert result.exit_code == 1
    assert says in result.output
    assert "Traceback" not in result.output
    assert "shipyard_sa_" not in result.output
    listed = await shipyard(settings, "service-accounts", "list")
    assert "no service accounts" in listed.output


async def test_a_name_is_taken_once_and_an_unknown_account_is_not_revoked(
    settings: Settings,
) -> None:
    first = await shipyard(settings, "service-accounts", "create", "ci", "--role", "admin")
    assert first.exit_code == 0, first.output
    twice = await shipyard(settings, "service-accounts", "create", "ci", "--role", "admin")
    assert twice.exit_code == 1
    assert "an account named 'ci' exists already" in twice.output
    assert "shipyard_sa_" not in twice.output
    missing = await shipyard(settings, "service-accounts", "revoke", "nobody")
    assert missing.exit_code == 1
    assert "there is no service account 'nobody'" in missing.output


async def test_an_account_past_its_expiry_is_listed_as_expired(settings: Settings) -> None:
    created = await shipyard(settings, "service-accounts", "create", "old", "--role", "admin",
                             "--expires", "30d")  # fmt: skip
    assert created.exit_code == 0, created.output
    async with database(settings) as sessions, sessions() as session:
        await session.exec(
            update(ServiceAccount).values(expires_at=datetime.now(UTC) - timedelta(days=1))
        )
        await session.commit()
    listed = await shipyard(settings, "service-accounts", "list", "--json")
    assert json.loads(listed.stdout)["state"] == "expired"
