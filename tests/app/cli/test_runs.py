"""`shipyard config check`, `shipyard run` (in-process, against a faked GitHub), `shipyard runs`."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import httpx
import pytest
import respx
from click.testing import CliRunner

from app.cli import main
from app.cli.support import terminal_safe

MANUAL = """
pipelines:
  release-notes:
    on: {manual: true}
    steps:
      - name: notes
        type: run_command
        config:
          command: "echo notes for $SHIPYARD_REPOSITORY; printf '\\\\033]0;owned\\\\007\\\\033[2J'"
"""


def test_config_check_accepts_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / ".shipyard.yml"
    path.write_text(MANUAL)
    result = CliRunner().invoke(main, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_config_check_says_which_key_on_which_line(tmp_path: Path) -> None:
    path = tmp_path / ".shipyard.yml"
    path.write_text(MANUAL.replace("command:", "comand:"))
    result = CliRunner().invoke(main, ["config", "check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:9: pipelines.release-notes.steps[0].config.comand" in result.stderr


def test_config_check_without_a_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["config", "check", str(tmp_path / "nope.yml")])
    assert result.exit_code == 1
    assert "nope.yml" in result.stderr


@pytest.fixture
def github_repo() -> respx.MockRouter:
    with respx.mock(assert_all_called=True) as mock:
        mock.get("https://api.github.com/repos/acme/web").mock(
            return_value=httpx.Response(200, json={"default_branch": "main"})
        )
        content = base64.b64encode(MANUAL.encode()).decode()
        mock.get(
            "https://api.github.com/repos/acme/web/contents/.shipyard.yml",
            params={"ref": "main"},
        ).mock(
            return_value=httpx.Response(
                200, json={"type": "file", "encoding": "base64", "content": content}
            )
        )
        yield mock


async def test_manual_run_then_list_and_show(
    migrated: str, data_dir: Path, github_repo: respx.MockRouter
) -> None:
    env = {
        "DATABASE_URL": migrated,
        "GITHUB_TOKEN": "ghp_cli",
        "SHIPYARD_DATA_DIR": str(data_dir),
        "SHIPYARD_PUBLIC_URL": "http://shipyard.test",
        "REDIS_URL": "",
    }
    runner = CliRunner()

    def invoke(*args: str) -> object:
        return runner.invoke(main, list(args), env=env)

    result = await asyncio.to_thread(invoke, "run", "release-notes", "--repo", "acme/web")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "run 1: succeeded  http://shipyard.test/runs/1" in result.output  # type: ignore[attr-defined]

    listed = await asyncio.to_thread(invoke, "runs", "list", "--json")
    [row] = [json.loads(line) for line in listed.output.splitlines()]  # type: ignore[attr-defined]
    assert (row["pipeline"], row["trigger"], row["state"]) == (
        "release-notes",
        "manual",
        "succeeded",
    )

    shown = await asyncio.to_thread(invoke, "runs", "show", "1")
    assert "== notes (run_command): succeeded" in shown.output  # type: ignore[attr-defined]
    assert "notes for acme/web" in shown.output  # type: ignore[attr-defined]
    assert "\x1b" not in shown.output  # type: ignore[attr-defined]
    assert "\\x1b]0;owned\\x07\\x1b[2J" in shown.output  # type: ignore[attr-defined]

    unknown = await asyncio.to_thread(invoke, "run", "deploy", "--repo", "acme/web")
    assert unknown.exit_code == 1  # type: ignore[attr-defined]
    assert "release-notes" in unknown.output  # type: ignore[attr-defined]


def test_terminal_safe_shows_controls_instead_of_obeying_them() -> None:
    text = "title\x1b[31m red\x07\x9b\u202egnp.exe\ttab\nline"
    assert terminal_safe(text) == "title\\x1b[31m red\\x07\\x9b\\u202egnp.exe\ttab\nline"
