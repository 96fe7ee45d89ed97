"""`shipyard secrets define|list|remove` and `shipyard config check --repo`: grants as the
operator makes them, and the config check a repository's reference must pass."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from app.cli import main

CONFIG = """
pipelines:
  deploy:
    on: {manual: true}
    steps:
      - name: ship
        type: run_command
        env: {TOKEN: "%s"}
        config: {command: "./ship"}
"""


@pytest.fixture
def shipyard(migrated: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", migrated)
    monkeypatch.setenv("DEPLOY_TOKEN_VALUE", "the-value-itself")
    return CliRunner()


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(main, list(args))


def config_file(tmp_path: Path, reference: str) -> str:
    path = tmp_path / ".shipyard.yml"
    path.write_text(CONFIG % reference)
    return str(path)


def test_define_list_remove(shipyard: CliRunner) -> None:
    defined = run(
        shipyard, "secrets", "define", "DEPLOY_TOKEN", "--from", "env://DEPLOY_TOKEN_VALUE",
        "--repo", "github:acme/*", "--repo", "gitlab:acme/web",
    )  # fmt: skip
    assert defined.exit_code == 0, defined.output
    assert "secret://DEPLOY_TOKEN from env://DEPLOY_TOKEN_VALUE" in defined.output

    listed = run(shipyard, "secrets", "list")
    assert listed.output.split() == [
        "DEPLOY_TOKEN",
        "env://DEPLOY_TOKEN_VALUE",
        "github:acme/*,",
        "gitlab:acme/web",
    ]
    assert "the-value-itself" not in listed.output

    removed = run(shipyard, "secrets", "remove", "DEPLOY_TOKEN")
    assert removed.exit_code == 0
    assert "no secrets are defined" in run(shipyard, "secrets", "list").output
    again = run(shipyard, "secrets", "remove", "DEPLOY_TOKEN")
    assert again.exit_code == 1
    assert "there is no secret named 'DEPLOY_TOKEN'" in again.output


@pytest.mark.parametrize("source", ["env://GITHUB_TOKEN", "env://DATABASE_URL", "the-value-itself"])
def test_shipyards_own_credentials_and_literals_are_no_source(
    shipyard: CliRunner, source: str
) -> None:
    result = run(shipyard, "secrets", "define", "X", "--from", source, "--repo", "github:a/b")
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "Traceback" not in result.output
    assert "no secrets are defined" in run(shipyard, "secrets", "list").output


def test_config_check_refuses_a_server_side_form(shipyard: CliRunner, tmp_path: Path) -> None:
    path = config_file(tmp_path, "env://GITHUB_TOKEN")
    result = run(shipyard, "config", "check", path)
    assert result.exit_code == 1
    assert "pipelines.deploy.steps[0].env.TOKEN" in result.stderr
    assert "env://" in result.stderr


def test_config_check_for_a_repository_wants_its_secrets_granted(
    shipyard: CliRunner, tmp_path: Path
) -> None:
    path = config_file(tmp_path, "secret://DEPLOY_TOKEN")
    args = ("secrets", "define", "DEPLOY_TOKEN", "--from", "env://DEPLOY_TOKEN_VALUE")
    assert run(shipyard, *args, "--repo", "github:acme/*").exit_code == 0

    granted = run(shipyard, "config", "check", path, "--repo", "github:acme/web")
    assert granted.exit_code == 0, granted.output
    elsewhere = run(shipyard, "config", "check", path, "--repo", "github:evil/web")
    assert elsewhere.exit_code == 1
    assert "DEPLOY_TOKEN" in elsewhere.stderr
    assert "evil/web" in elsewhere.stderr
    unknown = run(shipyard, "config", "check", config_file(tmp_path, "secret://NOPE"),
                  "--repo", "github:acme/web")  # fmt: skip
    assert unknown.exit_code == 1
    assert "secret://NOPE is not defined on this server" in unknown.stderr
