"""`shipyard locks list|release` on SQLite and PostgreSQL: a table of the locks held, released
by the operator as `cli:<user>` (forced when someone else held it), and one-line errors with
the exit codes of the other groups for a bad repository or a lock that is not held."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from click.testing import CliRunner, Result

from app.cli import main
from app.db.engine import SessionFactory, create_engine, session_factory
from app.environments.locks import get_lock, take_lock
from app.settings import Settings

HOUR = 3600.0


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[SessionFactory]:
    engine = create_engine(settings)
    yield session_factory(engine)
    await engine.dispose()


async def shipyard(settings: Settings, *args: str) -> Result:
    env = {"DATABASE_URL": settings.database_url, "LOGNAME": "alice", "USER": "alice"}
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)


async def lock(
    sessions: SessionFactory,
    environment: str | None,
    holder: str,
    *,
    repository: str = "acme/web",
    reason: str | None = None,
    pr: int | None = None,
    ttl: float = HOUR,
) -> int:
    taken = await take_lock(
        sessions,
        provider="github",
        repository=repository,
        environment=environment,
        holder=holder,
        reason=reason,
        pr_number=pr,
        ttl_seconds=ttl,
    )
    assert taken.won
    assert taken.lock.id is not None
    return taken.lock.id


def cells_of(output: str) -> list[list[str]]:
    rows = [line.split("  ") for line in output.splitlines()]
    return [[cell.strip() for cell in row if cell.strip()] for row in rows]


def assert_clean_error(result: Result, code: int) -> None:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()[-1]) > 0


async def test_list_is_a_table_of_the_locks_held(
    settings: Settings, sessions: SessionFactory
) -> None:
    empty = await shipyard(settings, "locks", "list")
    assert (empty.exit_code, empty.output) == (0, "No locks are held.\n")

    ids = [
        await lock(sessions, "staging", "gitlab:eve", repository="acme/api", ttl=30 * HOUR),
        await lock(sessions, None, "cli:root", reason="freeze", ttl=HOUR),
        await lock(sessions, "production", "github:bob", reason="db\nmigration", pr=12),
    ]
    listed = await shipyard(settings, "locks", "list")
    assert listed.exit_code == 0, listed.output
    cells = cells_of(listed.output)
    assert cells[0] == ["REPOSITORY", "ENVIRONMENT", "HOLDER", "REASON", "EXPIRES"]
    assert [row[:4] for row in cells[1:]] == [
        ["github:acme/api", "staging", "gitlab:eve", "-"],
        ["github:acme/web", "* (every environment)", "cli:root", "freeze"],
        ["github:acme/web", "production", "github:bob", "db migration (#12)"],
    ]
    lefts = [r"2\d h \d+ min", r"\d+ min", r"\d+ min"]
    for row, lock_id, left in zip(cells[1:], ids, lefts, strict=True):
        held = await get_lock(sessions, lock_id)
        assert held is not None
        assert re.fullmatch(f"{held.expires_at:%Y-%m-%d %H:%M} UTC \\({left} left\\)", row[4])
    header, *lines = listed.output.splitlines()
    start = header.index("HOLDER")
    assert [line[start:].split()[0] for line in lines] == ["gitlab:eve", "cli:root", "github:bob"]

    one = await shipyard(settings, "locks", "list", "--repo", "github:acme/api")
    assert [row[1] for row in cells_of(one.output)[1:]] == ["staging"]
    none = await shipyard(settings, "locks", "list", "--repo", "gitlab:acme/web")
    assert none.output == "No locks are held.\n"


async def test_the_operator_releases_anyone_s_lock_recorded_as_forced(
    settings: Settings, sessions: SessionFactory
) -> None:
    theirs = await lock(sessions, "production", "github:bob", reason="db migration")
    released = await shipyard(settings, "locks", "release", "github:acme/web", "production")
    assert released.exit_code == 0, released.output
    assert released.output == (
        "released the lock on production of github:acme/web (held by github:bob: db migration)\n"
    )
    row = await get_lock(sessions, theirs)
    assert row is not None
    assert (row.slot, row.released_by, row.forced) == (None, "cli:alice", True)

    everywhere = await lock(sessions, None, "cli:alice")
    own = await shipyard(settings, "locks", "release", "github:acme/web", "--global")
    assert own.exit_code == 0, own.output
    assert own.output == (
        "released the lock on every environment of github:acme/web (held by cli:alice)\n"
    )
    mine = await get_lock(sessions, everywhere)
    assert mine is not None
    assert (mine.released_by, mine.forced) == ("cli:alice", False)
    assert (await shipyard(settings, "locks", "list")).output == "No locks are held.\n"


async def test_no_lock_is_a_one_line_error(settings: Settings, sessions: SessionFactory) -> None:
    await lock(sessions, "staging", "github:bob")
    missing = await shipyard(settings, "locks", "release", "github:acme/web", "production")
    assert_clean_error(missing, 1)
    assert missing.output == (
        "Error: production is not locked (`shipyard locks list` shows those held)\n"
    )
    no_global = await shipyard(settings, "locks", "release", "github:acme/web", "--global")
    assert_clean_error(no_global, 1)
    assert "github:acme/web has no lock on every environment" in no_global.output
    star = await shipyard(settings, "locks", "release", "github:acme/web", "*")
    assert_clean_error(star, 1)
    assert "there is no environment '*' to unlock" in star.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["release", "acme/web", "production"], "give the repository as host:owner/name"),
        (["release", "bitbucket:acme/web", "production"], "give the repository as host:owner/"),
        (["release", "github:acme", "production"], "give the repository as host:owner/name"),
        (["list", "--repo", "acme"], "give the repository as host:owner/name"),
        (["release", "github:acme/web"], "give an ENVIRONMENT, or --global"),
        (["release", "github:acme/web", "production", "--global"], "give an ENVIRONMENT, or"),
    ],
)
async def test_bad_arguments_are_usage_errors(
    settings: Settings, args: list[str], says: str
) -> None:
    result = await shipyard(settings, "locks", *args)
    assert_clean_error(result, 2)
    assert says in result.output
