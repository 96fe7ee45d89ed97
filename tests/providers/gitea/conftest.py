"""The Gitea client's fixtures: a fake clock, a client on it, and the mocked API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import respx

from app.secrets.masker import Masker
from providers.gitea import GiteaClient
from tests.support.clock import FakeClock
from tests.support.gitea import API, TOKEN, WEB


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_750_000_000.0)


@pytest.fixture
async def client(clock: FakeClock) -> AsyncIterator[GiteaClient]:
    gitea = GiteaClient(f"{WEB}/", TOKEN, mask=Masker(), retry=clock.policy(attempts=3, jitter=1.0))
    yield gitea
    await gitea.aclose()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=True) as router:
        yield router
