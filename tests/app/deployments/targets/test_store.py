"""The target store on SQLite and PostgreSQL: a name is registered once, targets are read by
name or id and listed by name, changed by a merge patch, removed; a reference that names
Shipyard's own credentials is refused; and which repositories may deploy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.db.models.deployments import Target
from app.deployments.targets import store
from app.deployments.targets.spec import InvalidTarget, SshConnection, TargetSpec
from app.settings import Settings
from tests.support.releases import database

KNOWN_HOST = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def spec(name: str = "web-1", **changes: Any) -> TargetSpec:
    data: dict[str, Any] = {
        "name": name,
        "connection": {
            "type": "ssh",
            "host": f"{name}.example.com",
            "user": "deploy",
            "known_host": KNOWN_HOST,
        },
        "credential": "file:///etc/shipyard/deploy_key",
        "labels": {"region": "eu"},
        "repositories": ["acme/web"],
    }
    return TargetSpec.parse(data | changes)


def webhook(name: str, **changes: Any) -> TargetSpec:
    connection = {"type": "webhook", "url": "https://deploy.example.com/hook"}
    return spec(name, connection=connection, credential="env://DEPLOY_WEBHOOK_SECRET", **changes)


async def test_add_read_list_remove(settings: Settings) -> None:
    async with database(settings) as sessions:
        added = await store.add_target(sessions, settings, spec("web-2"), created_by="cli:alice")
        await store.add_target(sessions, settings, spec("web-1"), created_by="cli:alice")
        assert added.id is not None
        assert added.type == "ssh"
        assert added.connection == {
            "type": "ssh",
            "host": "web-2.example.com",
            "port": 22,
            "user": "deploy",
            "workdir": "shipyard",
            "known_host": KNOWN_HOST,
        }
        assert added.credential == "file:///etc/shipyard/deploy_key"

        by_name = await store.get_target(sessions, "web-2")
        by_id = await store.get_target(sessions, added.id)
        assert by_name is not None
        assert by_id is not None
        assert by_name.id == by_id.id == added.id
        assert await store.get_target(sessions, "web-3") is None
        assert await store.get_target(sessions, 4242) is None
        assert [row.name for row in await store.list_targets(sessions)] == ["web-1", "web-2"]
        assert store.spec_of(by_name) == spec("web-2")

        removed = await store.remove_target(sessions, "web-2")
        assert removed is not None
        assert removed.id == added.id
        assert await store.remove_target(sessions, "web-2") is None
        first = await store.get_target(sessions, "web-1")
        assert first is not None
        assert first.id is not None
        assert await store.remove_target(sessions, first.id) is not None
        assert await store.list_targets(sessions) == []


async def test_a_name_is_registered_once(settings: Settings) -> None:
    async with database(settings) as sessions:
        await store.add_target(sessions, settings, spec("web-1"), created_by="cli:alice")
        with pytest.raises(store.TargetExists, match="a target named web-1 is registered already"):
            await store.add_target(sessions, settings, webhook("web-1"), created_by="cli:bob")
        [row] = await store.list_targets(sessions)
    assert (row.type, row.created_by) == ("ssh", "cli:alice")


async def test_a_change_is_a_merge_patch(settings: Settings) -> None:
    async with database(settings) as sessions:
        added = await store.add_target(sessions, settings, spec(), created_by="cli:alice")
        changed = await store.update_target(
            sessions,
            settings,
            "web-1",
            {"connection": {"port": 2222}, "labels": {"tier": "web"}, "idempotent": True},
        )
        assert changed.connection["port"] == 2222
        assert changed.connection["host"] == "web-1.example.com"
        assert changed.labels == {"region": "eu", "tier": "web"}
        assert changed.idempotent is True
        assert changed.updated_at > added.updated_at
        assert changed.created_at == added.created_at

        assert added.id is not None
        moved = await store.update_target(
            sessions,
            settings,
            added.id,
            {"connection": {"type": "command", "command": "./deploy.sh"}, "credential": None},
        )
        assert (moved.type, moved.connection) == (
            "command",
            {"type": "command", "command": "./deploy.sh"},
        )
        assert moved.credential is None

        with pytest.raises(InvalidTarget, match="url: Field required"):
            await store.update_target(sessions, settings, "web-1", {"connection": {"type": "api"}})
        with pytest.raises(store.TargetNotFound, match="there is no target 'web-9'"):
            await store.update_target(sessions, settings, "web-9", {"idempotent": True})
        stored = await store.get_target(sessions, "web-1")
    assert stored is not None
    assert stored.type == "command"


def own_references(settings: Settings) -> list[tuple[str, str]]:
    data = Path(settings.data_dir)
    return [
        ("env://GITHUB_TOKEN", "one of Shipyard's own settings"),
        ("env://DATABASE_URL", "one of Shipyard's own settings"),
        (f"file://{data / 'keys' / 'deploy'}", "holds Shipyard's own credentials or state"),
    ]


async def test_a_reference_to_shipyards_own_credentials_is_refused(settings: Settings) -> None:
    async with database(settings) as sessions:
        for reference, says in own_references(settings):
            with pytest.raises(InvalidTarget, match=f"credential: .*{says}"):
                await store.add_target(
                    sessions, settings, spec(credential=reference), created_by="cli:alice"
                )
            connection = {
                "type": "api",
                "url": "https://deploy.example.com/",
                "headers": {"Authorization": reference},
            }
            with pytest.raises(InvalidTarget, match=f"header Authorization: .*{says}"):
                await store.add_target(
                    sessions,
                    settings,
                    spec(connection=connection, credential="env://DEPLOY_TOKEN"),
                    created_by="cli:alice",
                )
        await store.add_target(sessions, settings, spec(), created_by="cli:alice")
        with pytest.raises(InvalidTarget, match="one of Shipyard's own settings"):
            await store.update_target(
                sessions, settings, "web-1", {"credential": "env://GITLAB_TOKEN"}
            )
        [row] = await store.list_targets(sessions)
    assert row.credential == "file:///etc/shipyard/deploy_key"


@pytest.mark.parametrize(
    ("repositories", "provider", "repository", "allowed"),
    [
        (["acme/web"], "github", "acme/web", True),
        (["acme/web"], "github", "ACME/Web", True),
        (["acme/web"], "github", "acme/api", False),
        (["acme/*"], "gitlab", "acme/api", True),
        (["acme/*"], "github", "acme/group/api", False),
        (["gitlab:group/**"], "gitlab", "group/sub/project", True),
        (["gitlab:group/**"], "github", "group/project", False),
        (["gitea:acme/*"], "forgejo", "acme/web", True),
        (["github:acme/web", "gitlab:acme/*"], "gitlab", "acme/web", True),
    ],
)
def test_which_repositories_may_deploy(
    repositories: list[str], provider: str, repository: str, allowed: bool
) -> None:
    row = Target(name="web-1", type="ssh", repositories=repositories, created_by="cli:alice")
    assert store.allows(row, provider, repository) is allowed
    assert store.allows(spec(repositories=repositories), provider, repository) is allowed


def test_the_refusal_says_which_repositories_may() -> None:
    row = Target(name="web-1", type="ssh", repositories=["acme/web"], created_by="cli:alice")
    assert store.refusal(row, "github", "acme/api") == (
        "target web-1 does not allow github:acme/api (its repositories: acme/web)"
    )
    two = spec("web-2", repositories=["acme/web", "gitlab:group/**"])
    assert store.refusal(two, "gitea", "acme/api") == (
        "target web-2 does not allow gitea:acme/api (its repositories: acme/web, gitlab:group/**)"
    )


def test_an_executor_sees_the_connection_and_the_reference() -> None:
    row = Target(
        name="web-1",
        type="ssh",
        connection=spec().data()["connection"],
        credential="file:///etc/shipyard/deploy_key",
        labels={"region": "eu"},
        repositories=["acme/web"],
        idempotent=True,
        created_by="cli:alice",
    )
    info = store.target_info(row)
    assert isinstance(info.connection, SshConnection)
    assert (info.name, info.type, info.host) == ("web-1", "ssh", "web-1.example.com")
    assert info.credential == "file:///etc/shipyard/deploy_key"
    assert dict(info.labels) == {"region": "eu"}
    assert info.idempotent is True
