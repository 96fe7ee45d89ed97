"""The REST API's fixtures: the app over ASGI with its queue on the real Redis (no worker, so
what a request enqueues stays there to be looked at), GitHub reachable with a token (faked at
its HTTP boundary by the tests that need it), and a repository allowlist."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.api.v1.components import forget_read
from app.main import create_app
from app.releases import images
from app.settings import Settings
from tests.support.http import running
from tests.support.settings import make_settings

GITHUB_TOKEN = "ghp_ApiTestT0ken0123456789abcdef"
ALLOWLIST = "github:acme/*, gitlab:group/**"


@pytest.fixture(autouse=True)
def _fresh_memory() -> Iterator[None]:
    """What one test's process read about repositories is not the next test's."""
    forget_read()
    images.forget_known()
    yield
    forget_read()
    images.forget_known()


@pytest.fixture
def api_settings(migrated: str, redis_url: str) -> Settings:
    return make_settings(
        migrated,
        REDIS_URL=redis_url,
        GITHUB_TOKEN=GITHUB_TOKEN,
        GITLAB_URL="https://gitlab.example.com",
        SHIPYARD_REPO_ALLOWLIST=ALLOWLIST,
    )


@pytest.fixture
async def api(api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(api_settings)) as client:
        yield client
