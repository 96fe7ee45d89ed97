"""An integration a repository's config names must be granted to that repository: the hub
refuses the call before it reaches the service, and says who may use it and how to grant it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import httpx
import pytest

from app.db.engine import create_engine, session_factory
from app.integrations import store
from app.integrations.connector import ConnectorContext, ProviderConfig, Resource
from app.integrations.errors import IntegrationError
from app.integrations.hub import Hub
from app.integrations.kinds import CheckLevel
from app.integrations.spec import ProviderSpec
from app.secrets.masker import Masker
from app.secrets.resolvers import Secrets
from tests.support.settings import make_settings


@dataclass
class Counting:
    calls: list[str] = field(default_factory=list)

    async def check(self, level: CheckLevel) -> str:
        self.calls.append(level)
        return "ok"

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        return []


@dataclass
class Rig:
    hub: Hub
    connector: Counting


@pytest.fixture
async def rig(migrated: str) -> AsyncIterator[Rig]:
    settings = make_settings(migrated)
    engine = create_engine(settings)
    sessions = session_factory(engine)
    connector = Counting()

    def connect(_context: ConnectorContext) -> Counting:
        return connector

    spec = ProviderSpec("counting", "notification", "Counting", ProviderConfig, connect)
    catalogue = {"counting": spec}
    await store.create_integration(
        sessions,
        settings,
        catalogue,
        name="team-chat",
        type="notification",
        provider="counting",
        config={},
        repositories=["acme/*", "gitlab:ops/**"],
    )
    async with httpx.AsyncClient() as http:
        yield Rig(
            Hub(
                sessions=sessions,
                http=http,
                secrets=Secrets.from_environ({}),
                mask=Masker(),
                catalogue=catalogue,
            ),
            connector,
        )
    await engine.dispose()


async def _ping(connector: Counting) -> str:
    return await connector.check("connectivity")


@pytest.mark.parametrize(
    ("provider", "repository"),
    [("github", "acme/web"), ("gitea", "ACME/api"), ("gitlab", "ops/infra/deploy")],
)
async def test_a_granted_repository_is_let_through(
    rig: Rig, provider: str, repository: str
) -> None:
    answer = await rig.hub.call("team-chat", _ping, for_repository=(provider, repository))
    assert answer == "ok"
    assert rig.connector.calls == ["connectivity"]


@pytest.mark.parametrize(
    ("provider", "repository"),
    [("github", "other/web"), ("github", "ops/infra"), ("gitlab", "acmeish/web")],
)
async def test_another_repository_is_refused_before_the_service_is_called(
    rig: Rig, provider: str, repository: str
) -> None:
    with pytest.raises(IntegrationError) as raised:
        await rig.hub.call("team-chat", _ping, for_repository=(provider, repository))
    assert raised.value.code == "PERMISSION_DENIED"
    assert f"{provider}:{repository} may not use it" in str(raised.value)
    assert "acme/*, gitlab:ops/**" in str(raised.value)
    assert "shipyard integrations update team-chat --repos" in str(raised.value)
    assert rig.connector.calls == []
    assert rig.hub.breakers.state("team-chat").failures == 0


async def test_the_servers_own_calls_need_no_grant(rig: Rig) -> None:
    assert await rig.hub.call("team-chat", _ping) == "ok"


@pytest.mark.parametrize("glob", ["web", "bitbucket:acme/*", ""])
async def test_a_glob_that_names_no_repository_is_refused(migrated: str, glob: str) -> None:
    settings = make_settings(migrated)
    engine = create_engine(settings)
    spec = ProviderSpec(
        "counting", "notification", "Counting", ProviderConfig, lambda c: Counting()
    )
    with pytest.raises(store.InvalidIntegration, match="is not a repository glob"):
        await store.create_integration(
            session_factory(engine),
            settings,
            {"counting": spec},
            name="chat",
            type="notification",
            provider="counting",
            config={},
            repositories=[glob],
        )
    await engine.dispose()
