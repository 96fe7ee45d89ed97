"""What a person can set up wrong is said in a paragraph naming the setting and what to check,
with a non-zero exit, before anything starts — never a traceback: a database that cannot be
reached (from every command that needs one), and settings that cannot be right."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.support import services

COMMANDS = [
    ["db", "upgrade"],
    ["serve"],
    ["deliveries", "list"],
    ["runs", "list"],
    ["releases", "list"],
    ["integrations", "list"],
    ["targets", "list"],
]


def _said(database_url: str, command: list[str]) -> str:
    result = CliRunner().invoke(main, command, env={"DATABASE_URL": database_url})
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    return result.output


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_server_nobody_listens_on(command: list[str]) -> None:
    said = _said("postgresql://postgres@127.0.0.1:1/shipyard", command)
    assert said.startswith("Error: the database cannot be reached (PostgreSQL server: ")
    assert "Check DATABASE_URL: is the server up, does the database exist" in said


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_database_that_does_not_exist(command: list[str]) -> None:
    url = services.require_postgres().rsplit("/", 1)[0] + "/shipyard_no_such_database"
    said = _said(url, command)
    assert 'database "shipyard_no_such_database" does not exist' in said
    assert "Check DATABASE_URL" in said


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_sqlite_file_in_a_directory_that_is_not_there(tmp_path: Path, command: list[str]) -> None:
    said = _said(f"sqlite:///{tmp_path / 'no-such-dir' / 'shipyard.db'}", command)
    assert f"(SQLite file: its directory {tmp_path / 'no-such-dir'} does not exist)" in said
    assert "Check DATABASE_URL: the directory must exist and be writable" in said
    assert not (tmp_path / "no-such-dir").exists()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SHIPYARD_LOG_LEVEL", "LOUD", "Input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or"),
        ("REDIS_URL", "garbage", "REDIS_URL must start with redis://, rediss:// or unix://"),
        ("PORT", "99999", "PORT"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must start with sqlite://, postgres://"),
    ],
)
def test_a_setting_that_cannot_be_right_is_said_before_anything_starts(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'shipyard.db'}", variable: value}
    for command in (["serve"], ["worker"], ["deliveries", "list"]):
        result = CliRunner().invoke(main, command, env=env)
        assert result.exit_code == 1, result.output
        assert result.output.startswith("Error: invalid settings: ")
        assert expected in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "shipyard.db").exists()


def test_a_log_level_is_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.settings import Settings

    monkeypatch.setenv("SHIPYARD_LOG_LEVEL", " warning ")
    assert Settings().log_level == "WARNING"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {},
            "Error: GitHub is not configured: set GITHUB_APP_ID and GITHUB_PRIVATE_KEY (a GitHub "
            "App) or GITHUB_TOKEN (needed for default_branch), then run it again",
        ),
        (
            {"GITHUB_TOKEN": "ghp_unused", "GITHUB_API_URL": "http://127.0.0.1:1"},
            "check GITHUB_API_URL and GITHUB_TOKEN (or GITHUB_APP_ID and GITHUB_PRIVATE_KEY) "
            "and that this machine reaches it, then run it again",
        ),
    ],
    ids=["no credentials", "an unreachable host"],
)
def test_run_says_which_host_settings_to_check(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'shipyard.db'}"}
    assert CliRunner().invoke(main, ["db", "upgrade"], env=database).exit_code == 0
    result = CliRunner().invoke(main, ["run", "ci", "--repo", "acme/web"], env={**database, **env})
    assert result.exit_code == 1, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert "ghp_unused" not in result.output
