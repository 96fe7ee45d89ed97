"""Settings for tests: the webhook secrets every signed test delivery uses, nothing else from
the environment file."""

from __future__ import annotations

from typing import Any

from app.settings import Settings

SECRETS = {
    "GITHUB_WEBHOOK_SECRET": "github-test-secret",
    "GITLAB_WEBHOOK_SECRET": "gitlab-test-secret",
    "GITEA_WEBHOOK_SECRET": "gitea-test-secret",
}


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"DATABASE_URL": database_url, **SECRETS, **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
