"""Settings: the DATABASE_URL forms users paste, secrets and defaults."""

from __future__ import annotations

import pytest

from app.settings import Settings, async_database_url


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("sqlite:///./shipyard.db", "sqlite+aiosqlite:///./shipyard.db"),
        ("sqlite:////var/lib/shipyard.db", "sqlite+aiosqlite:////var/lib/shipyard.db"),
        ("postgres://u:p@db.example:5432/app", "postgresql+asyncpg://u:p@db.example:5432/app"),
        ("postgresql://u@localhost/app", "postgresql+asyncpg://u@localhost/app"),
        ("postgresql+psycopg2://u@h/app", "postgresql+asyncpg://u@h/app"),
        ("postgresql+asyncpg://u@h/app", "postgresql+asyncpg://u@h/app"),
        ("postgres://u@h/app?sslmode=require", "postgresql+asyncpg://u@h/app?ssl=require"),
    ],
)
def test_database_url_forms(given: str, used: str) -> None:
    assert async_database_url(given) == used


@pytest.mark.parametrize("bad", ["mysql://u@h/db", "shipyard.db", ""])
def test_database_url_refuses_what_it_cannot_use(bad: str) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL must start with"):
        async_database_url(bad)


def test_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "PORT", "GITHUB_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite+aiosqlite:///./shipyard.db"
    assert settings.redis_url is None
    assert settings.webhook_secret("github") is None


def test_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:db-password@h/db")
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setenv("PORT", "5000")
    monkeypatch.setenv("GITEA_WEBHOOK_SECRET", "gitea-secret-value")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "postgresql+asyncpg://u:db-password@h/db"
    assert settings.redis_url is None
    assert settings.port == 5000
    assert settings.webhook_secret("forgejo") == "gitea-secret-value"
    assert "gitea-secret-value" not in repr(settings)
    assert "db-password" not in repr(settings)
