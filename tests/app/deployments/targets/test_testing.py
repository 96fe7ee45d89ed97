"""Testing a target through its type's executor with the server's services: a command target
runs `true` in the sandbox, in a workspace that is gone afterwards; a workflow target is
tested in its one repository (GitHub faked at its HTTP boundary) or refused without one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx

from app.db.models.deployments import Target
from app.deployments.targets import store, testing
from app.deployments.targets.spec import TargetSpec
from app.services import Services
from app.settings import Settings
from app.wiring import open_services
from tests.support.github import API, TOKEN, assert_request, sample
from tests.support.settings import make_settings


@pytest.fixture
def github_settings(migrated: str) -> Settings:
    return make_settings(migrated, GITHUB_TOKEN=TOKEN)


@pytest.fixture
async def services(github_settings: Settings) -> AsyncIterator[Services]:
    async with open_services(github_settings) as opened:
        yield opened


async def register(services: Services, data: dict[str, object]) -> Target:
    spec = TargetSpec.parse(data)
    return await store.add_target(
        services.sessions, services.settings, spec, created_by="cli:alice"
    )


async def test_a_command_target_runs_true_in_a_workspace_of_its_own(services: Services) -> None:
    row = await register(
        services,
        {
            "name": "web-cmd",
            "connection": {"type": "command", "command": "./deploy.sh"},
            "repositories": ["acme/web"],
        },
    )
    lines: list[str] = []
    result = await testing.test_target(services, row, log=lines.append)
    assert result.ok, result.checks
    assert [(what, ok) for what, ok, _ in result.checks] == [("sandbox", True), ("bash", True)]
    tests = Path(services.settings.data_dir) / "target-tests"
    assert tests.is_dir()
    assert [path.name for path in tests.iterdir() if path.name.startswith("web-cmd-")] == []


def github_answers(mock: respx.MockRouter) -> tuple[respx.Route, respx.Route]:
    """GitHub reading acme/deploy (default branch main) and its workflow file at main."""

    def repository(request: httpx.Request) -> httpx.Response:
        assert_request(request, "GET", "/repos/acme/deploy")
        return httpx.Response(200, json=sample("repository") | {"default_branch": "main"})

    def workflow_file(request: httpx.Request) -> httpx.Response:
        path = "/repos/acme/deploy/contents/.github/workflows/deploy.yml"
        assert_request(request, "GET", path, {"ref": "main"})
        return httpx.Response(200, json=sample("contents-file"))

    return (
        mock.get(f"{API}/repos/acme/deploy").mock(side_effect=repository),
        mock.get(f"{API}/repos/acme/deploy/contents/.github/workflows/deploy.yml").mock(
            side_effect=workflow_file
        ),
    )


@pytest.mark.parametrize(
    ("connection", "repositories"),
    [
        ({}, ["acme/*", "github:acme/deploy", "acme/web"]),
        ({"repository": "acme/deploy", "provider": "github"}, ["gitlab:group/**"]),
    ],
)
async def test_a_workflow_target_is_tested_in_its_one_repository(
    services: Services, connection: dict[str, str], repositories: list[str]
) -> None:
    row = await register(
        services,
        {
            "name": "flow",
            "connection": {"type": "workflow", "workflow": "deploy.yml", **connection},
            "repositories": repositories,
        },
    )
    with respx.mock(assert_all_called=True) as mock:
        github_answers(mock)
        result = await testing.test_target(services, row)
    assert result.checks == [
        ("repository", True, "github reads acme/deploy"),
        ("workflow", True, ".github/workflows/deploy.yml is there at main"),
    ]


async def test_a_workflow_target_with_only_globs_cannot_be_tested(services: Services) -> None:
    row = await register(
        services,
        {
            "name": "flow",
            "connection": {"type": "workflow", "workflow": "deploy.yml"},
            "repositories": ["acme/*", "gitlab:group/**"],
        },
    )
    with pytest.raises(testing.CannotTest) as refused:
        await testing.test_target(services, row)
    assert str(refused.value) == (
        "workflow target flow dispatches in the deploying repository, and its repositories "
        "(acme/*, gitlab:group/**) are all globs: there is no one repository to test it in. "
        "Give the target a repository (--repository OWNER/NAME) or list one repository "
        "without wildcards"
    )
