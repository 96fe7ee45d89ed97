"""Shipyard's settings: one object, read from the environment when the process starts.

It is the only reader of the environment: what else needs a variable (an `env://` secret, the
PATH a step's processes start with) reads it from `Settings.environ`, the snapshot taken here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal
from urllib.parse import parse_qsl, urlencode

from pydantic import Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./shipyard.db"
MAX_WEBHOOK_BODY_BYTES = 25 * 1024 * 1024


class Settings(BaseSettings):
    """Every setting Shipyard reads. Create one with `Settings()` at start-up, never at import."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # URLs may carry passwords: kept out of repr (and so out of logs).
    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL", repr=False)
    redis_url: str | None = Field(None, validation_alias="REDIS_URL", repr=False)
    db_pool_size: int = Field(10, validation_alias="SHIPYARD_DB_POOL_SIZE", ge=1)
    redis_verify_tls: bool = Field(True, validation_alias="SHIPYARD_REDIS_VERIFY_TLS")
    host: str = Field("127.0.0.1", validation_alias="SHIPYARD_HOST")
    port: int = Field(8000, validation_alias="PORT", ge=1, le=65535)
    public_url: str = Field("http://127.0.0.1:8000", validation_alias="SHIPYARD_PUBLIC_URL")

    github_webhook_secret: SecretStr | None = Field(None, validation_alias="GITHUB_WEBHOOK_SECRET")
    gitlab_webhook_secret: SecretStr | None = Field(None, validation_alias="GITLAB_WEBHOOK_SECRET")
    gitea_webhook_secret: SecretStr | None = Field(None, validation_alias="GITEA_WEBHOOK_SECRET")
    github_app_id: int | None = Field(None, validation_alias="GITHUB_APP_ID")
    github_private_key: SecretStr | None = Field(None, validation_alias="GITHUB_PRIVATE_KEY")
    github_token: SecretStr | None = Field(None, validation_alias="GITHUB_TOKEN")
    github_api_url: str = Field("https://api.github.com", validation_alias="GITHUB_API_URL")
    gitlab_url: str = Field("https://gitlab.com", validation_alias="GITLAB_URL")
    gitlab_token: SecretStr | None = Field(None, validation_alias="GITLAB_TOKEN")
    gitea_url: str | None = Field(None, validation_alias="GITEA_URL")
    gitea_token: SecretStr | None = Field(None, validation_alias="GITEA_TOKEN")

    data_dir: str = Field("./shipyard-data", validation_alias="SHIPYARD_DATA_DIR")
    step_sandbox: Literal["bwrap", "none"] = Field(
        "bwrap", validation_alias="SHIPYARD_STEP_SANDBOX"
    )
    step_user: str = Field("nobody", validation_alias="SHIPYARD_STEP_USER")
    anthropic_api_key: SecretStr | None = Field(None, validation_alias="ANTHROPIC_API_KEY")
    anthropic_api_url: str = Field(
        "https://api.anthropic.com", validation_alias="ANTHROPIC_API_URL"
    )
    ai_model: str = Field("claude-sonnet-4-5", validation_alias="SHIPYARD_AI_MODEL")

    allow_unsigned_webhooks: bool = Field(
        False, validation_alias="SHIPYARD_ALLOW_UNSIGNED_WEBHOOKS"
    )

    max_webhook_body_bytes: int = Field(
        MAX_WEBHOOK_BODY_BYTES, validation_alias="SHIPYARD_MAX_WEBHOOK_BYTES"
    )
    access_log: bool = Field(True, validation_alias="SHIPYARD_ACCESS_LOG")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", validation_alias="SHIPYARD_LOG_LEVEL"
    )
    log_format: Literal["text", "json"] = Field("text", validation_alias="SHIPYARD_LOG_FORMAT")

    # The integration hub: each integration's breaker, how often the monitor checks each
    # level, and how long a value read from a secret store is reused.
    breaker_failures: int = Field(5, validation_alias="SHIPYARD_BREAKER_FAILURES", ge=1)
    breaker_successes: int = Field(3, validation_alias="SHIPYARD_BREAKER_SUCCESSES", ge=1)
    breaker_open_seconds: float = Field(60.0, validation_alias="SHIPYARD_BREAKER_OPEN", gt=0)
    integration_retry_seconds: float = Field(
        0.5, validation_alias="SHIPYARD_INTEGRATION_BACKOFF", ge=0
    )
    check_connectivity_seconds: float = Field(
        60.0, validation_alias="SHIPYARD_CHECK_CONNECTIVITY_EVERY", gt=0
    )
    check_authentication_seconds: float = Field(
        300.0, validation_alias="SHIPYARD_CHECK_AUTHENTICATION_EVERY", gt=0
    )
    check_functionality_seconds: float = Field(
        900.0, validation_alias="SHIPYARD_CHECK_FUNCTIONALITY_EVERY", gt=0
    )
    secret_cache_seconds: float = Field(60.0, validation_alias="SHIPYARD_SECRET_CACHE", ge=0)

    # The queue, and how long each piece of durable work may go unheard before it is taken
    # back. Every interval is a setting: tests run the outage and kill loops in milliseconds.
    queue_name: str = Field(
        "shipyard", validation_alias="SHIPYARD_QUEUE_NAME", pattern=r"^[A-Za-z0-9_.-]{1,64}$"
    )
    # Deliveries on a queue of their own, `<queue name>-intake`, that `shipyard worker --intake`
    # serves: a command's `eyes` never waits behind deployments' work.
    intake_queue: bool = Field(False, validation_alias="SHIPYARD_INTAKE_QUEUE")
    queue_poll_seconds: float = Field(0.01, validation_alias="SHIPYARD_QUEUE_POLL", gt=0)
    queue_pause_seconds: float = Field(5.0, validation_alias="SHIPYARD_QUEUE_PAUSE", ge=0)
    redis_retry_max_seconds: float = Field(30.0, validation_alias="SHIPYARD_REDIS_RETRY_MAX", gt=0)
    requeue_interval_seconds: float = Field(
        10.0, validation_alias="SHIPYARD_REQUEUE_INTERVAL", gt=0
    )
    requeue_min_age_seconds: float = Field(10.0, validation_alias="SHIPYARD_REQUEUE_MIN_AGE")
    delivery_lease_seconds: float = Field(300.0, validation_alias="SHIPYARD_DELIVERY_LEASE", gt=0)
    delivery_max_tries: int = Field(5, validation_alias="SHIPYARD_DELIVERY_MAX_TRIES", ge=1)
    delivery_retry_seconds: float = Field(
        5.0, validation_alias="SHIPYARD_DELIVERY_RETRY_DELAY", ge=0
    )
    step_lease_seconds: float = Field(30.0, validation_alias="SHIPYARD_STEP_LEASE", gt=0)
    heartbeat_seconds: float = Field(1.0, validation_alias="SHIPYARD_HEARTBEAT", gt=0)
    intake_batch_window_ms: float = Field(
        2.0, validation_alias="SHIPYARD_INTAKE_BATCH_WINDOW_MS", ge=0
    )
    intake_batch_max: int = Field(64, validation_alias="SHIPYARD_INTAKE_BATCH_MAX", ge=1)

    # Releases: a registry's notifications, and waiting for images a release names.
    registry_webhook_token: SecretStr | None = Field(
        None, validation_alias="SHIPYARD_REGISTRY_WEBHOOK_TOKEN"
    )
    release_image_wait_seconds: float = Field(
        600.0, validation_alias="SHIPYARD_RELEASE_IMAGE_WAIT", ge=0
    )
    release_retry_seconds: float = Field(5.0, validation_alias="SHIPYARD_RELEASE_RETRY_DELAY", gt=0)
    release_commits_max: int = Field(50, validation_alias="SHIPYARD_RELEASE_COMMITS_MAX", ge=0)

    # Who may act, and on which repositories.
    min_command_role: Literal["read", "triage", "write", "maintain", "admin"] = Field(
        "write", validation_alias="SHIPYARD_MIN_COMMAND_ROLE"
    )
    repo_allowlist: str = Field("", validation_alias="SHIPYARD_REPO_ALLOWLIST")
    admins: str = Field("", validation_alias="SHIPYARD_ADMINS")

    # Sign-in to Shipyard's pages with the Git host (OAuth), and the session cookie.
    session_secret: SecretStr | None = Field(None, validation_alias="SHIPYARD_SESSION_SECRET")
    github_oauth_client_id: str | None = Field(None, validation_alias="GITHUB_OAUTH_CLIENT_ID")
    github_oauth_client_secret: SecretStr | None = Field(
        None, validation_alias="GITHUB_OAUTH_CLIENT_SECRET"
    )
    gitlab_oauth_client_id: str | None = Field(None, validation_alias="GITLAB_OAUTH_CLIENT_ID")
    gitlab_oauth_client_secret: SecretStr | None = Field(
        None, validation_alias="GITLAB_OAUTH_CLIENT_SECRET"
    )
    gitea_oauth_client_id: str | None = Field(None, validation_alias="GITEA_OAUTH_CLIENT_ID")
    gitea_oauth_client_secret: SecretStr | None = Field(
        None, validation_alias="GITEA_OAUTH_CLIENT_SECRET"
    )

    _environ: dict[str, str] = PrivateAttr(default_factory=lambda: dict(os.environ))

    @field_validator(
        "redis_url",
        "github_app_id",
        "gitea_url",
        "github_oauth_client_id",
        "gitlab_oauth_client_id",
        "gitea_oauth_client_id",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _a_redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                "REDIS_URL must start with redis://, rediss:// or unix:// "
                f"(as in redis://localhost:6379/0), not {value[:20]!r}"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_database_url(value)

    def webhook_secret(self, provider: str) -> str | None:
        """The shared secret for a provider's webhooks; Forgejo uses Gitea's."""
        secret = {
            "github": self.github_webhook_secret,
            "gitlab": self.gitlab_webhook_secret,
            "gitea": self.gitea_webhook_secret,
            "forgejo": self.gitea_webhook_secret,
        }[provider]
        return secret.get_secret_value() if secret and secret.get_secret_value() else None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def environ(self) -> Mapping[str, str]:
        """The process environment as it was when these settings were read."""
        return MappingProxyType(self._environ)


_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
}


def async_database_url(url: str) -> str:
    """The URL with the async driver Shipyard uses, from the forms users paste.

    `sqlite:///path`, Heroku's `postgres://…`, `postgresql://…` and `postgresql+psycopg2://…` all
    work; libpq's `sslmode=` becomes asyncpg's `ssl=`.
    """
    scheme, separator, rest = url.partition("://")
    dialect = scheme.split("+", 1)[0].lower()
    if not separator or dialect not in _DRIVERS:
        raise ValueError(
            "DATABASE_URL must start with sqlite://, postgres:// or postgresql://, "
            f"not {url[:20]!r}"
        )
    location, question, query = rest.partition("?")
    if dialect != "sqlite" and query:
        query = urlencode([("ssl" if k == "sslmode" else k, v) for k, v in parse_qsl(query)])
    return f"{_DRIVERS[dialect]}://{location}{question}{query}"
