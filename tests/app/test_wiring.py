"""The composition root: each host client's config from the settings, the key file read once,
a mask of every credential the process holds, and the queue each mode runs on."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.db.schema import DatabaseNotMigrated
from app.secrets.masker import Masker
from app.settings import Settings
from app.wiring import SettingsError, host_configs, open_services, private_key_text, process_mask
from jobqueue.arq_queue import ArqQueue
from jobqueue.inprocess import InProcessQueue
from providers.gitea import GiteaConfig
from providers.github import GitHubConfig
from providers.gitlab import GitLabConfig
from tests.support.settings import make_settings

PEM = "\n".join(
    [
        "-----BEGIN RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEAtest0key0line",
        "-----END RSA PRIVATE KEY-----",
        "",
    ]
)


def settings_with(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_each_host_gets_its_own_config() -> None:
    settings = settings_with(
        GITHUB_APP_ID="42",
        GITHUB_PRIVATE_KEY=PEM,
        GITHUB_TOKEN="ghp_token0123",
        GITHUB_API_URL="https://ghe.example/api/v3",
        GITLAB_URL="https://gitlab.example",
        GITLAB_TOKEN="glpat-token0123",
        GITEA_URL="https://gitea.example",
        GITEA_TOKEN="gitea-token0123",
    )
    configs = host_configs(settings, Masker())
    assert configs.github == GitHubConfig(
        api_url="https://ghe.example/api/v3", app_id=42, private_key=PEM, token="ghp_token0123"
    )
    assert configs.gitlab == GitLabConfig(url="https://gitlab.example", token="glpat-token0123")
    assert configs.gitea == GiteaConfig(url="https://gitea.example", token="gitea-token0123")


def test_unset_and_empty_credentials_are_none() -> None:
    configs = host_configs(settings_with(GITHUB_TOKEN="", GITLAB_TOKEN=""), Masker())
    assert (configs.github.token, configs.github.private_key, configs.github.app_id) == (
        None,
        None,
        None,
    )
    assert (configs.gitlab.url, configs.gitlab.token) == ("https://gitlab.com", None)
    assert configs.gitea == GiteaConfig(url=None, token=None)


def test_the_private_key_may_be_a_file(tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_text(PEM)
    assert private_key_text(settings_with(GITHUB_PRIVATE_KEY=str(key))) == PEM
    assert private_key_text(settings_with(GITHUB_PRIVATE_KEY=PEM)) == PEM
    with pytest.raises(SettingsError, match=r"GITHUB_PRIVATE_KEY is neither PEM text nor"):
        private_key_text(settings_with(GITHUB_PRIVATE_KEY=str(tmp_path / "missing.pem")))


def test_the_process_mask_hides_every_credential_the_process_holds(tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_text(PEM)
    settings = settings_with(
        DATABASE_URL="postgresql://shipyard:db%2Fpass-word@db.example/shipyard",
        REDIS_URL="redis://:redis-pass-word@redis.example:6379/0",
        GITHUB_WEBHOOK_SECRET="hook-secret-1",
        GITHUB_PRIVATE_KEY=str(key),
        GITLAB_TOKEN="glpat-token0123",
        ANTHROPIC_API_KEY="sk-ant-key0123",
    )
    mask = process_mask(settings)
    text = (
        "hook-secret-1 glpat-token0123 sk-ant-key0123 db%2Fpass-word db/pass-word "
        "redis-pass-word MIIEowIBAAKCAQEAtest0key0line"
    )
    assert mask(text) == " ".join(["***"] * 7)


async def test_the_queue_is_in_process_without_redis_and_arq_with_it(settings: Settings) -> None:
    async with open_services(settings) as services:
        assert isinstance(services.queue, InProcessQueue)
    with_redis = make_settings(settings.database_url, REDIS_URL="redis://127.0.0.1:1/0")
    async with open_services(with_redis) as services:
        assert isinstance(services.queue, ArqQueue)


async def test_services_need_a_migrated_database(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(DatabaseNotMigrated, match="shipyard db upgrade"):
        async with open_services(settings):
            pass
