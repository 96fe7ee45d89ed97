"""What a server-side secret's source may be: never one of Shipyard's own settings, files or
state, nor what the kernel shows of the process (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.secrets.definitions import check_source
from app.settings import Settings
from steps.secret_refs import SecretError


def settings_for(tmp_path: Path, **values: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        DATABASE_URL=f"sqlite:///{tmp_path / 'shipyard.db'}",
        SHIPYARD_DATA_DIR=str(tmp_path / "data"),
        **values,
    )


def test_a_teams_own_file_and_variable_are_sources(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    check_source(f"file://{tmp_path / 'team' / 'deploy.key'}", settings)
    check_source("env://TEAM_DEPLOY_KEY", settings)


@pytest.mark.parametrize(
    "source",
    [
        "file://{tmp}/shipyard.db",  # the SQLite database
        "file://{tmp}/data/session-secret",  # the data directory
        "file://{tmp}/app.pem",  # the GitHub App's key file
        "file:///proc/self/environ",
        "file:///proc/1/root/etc/shadow",
        "file:///sys/kernel/notes",
        "file:///dev/mem",
    ],
)
def test_shipyards_own_files_and_the_process_are_no_source(tmp_path: Path, source: str) -> None:
    settings = settings_for(
        tmp_path, GITHUB_APP_ID="1", GITHUB_PRIVATE_KEY=str(tmp_path / "app.pem")
    )
    with pytest.raises(SecretError, match="holds Shipyard's own credentials or state"):
        check_source(source.format(tmp=tmp_path), settings)


@pytest.mark.parametrize("variable", ["GITHUB_TOKEN", "DATABASE_URL", "github_webhook_secret"])
def test_shipyards_own_settings_are_no_source(tmp_path: Path, variable: str) -> None:
    with pytest.raises(SecretError, match="one of Shipyard's own settings"):
        check_source(f"env://{variable}", settings_for(tmp_path))
