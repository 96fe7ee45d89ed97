"""A database that cannot be reached is one paragraph naming DATABASE_URL and what to check,
with a non-zero exit, from every command that needs one — never a traceback."""

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
