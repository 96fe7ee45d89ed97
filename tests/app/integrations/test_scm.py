"""SCM integrations against the hosts' documented listing endpoints (respx): the repositories a
token sees, page by page; an installation token's repositories; the checks; errors as codes;
discovery through the hub, filtered and cached."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from app.integrations.connector import ConnectorContext, ProviderConfig
from app.integrations.errors import IntegrationError
from app.integrations.scm import (
    GiteaHostConfig,
    GitHubHostConfig,
    GitLabHostConfig,
    HostKind,
    ScmConnector,
)
from tests.support import gitea, github, gitlab
from tests.support.ci_integrations import ci_hub

INSTALLATION_TOKEN = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
GITLAB_API = f"{gitlab.BASE}/api/v4"


def scm(
    http: httpx.AsyncClient, kind: HostKind, config: ProviderConfig, token: str
) -> ScmConnector:
    async def resolve(reference: str) -> str:
        return token

    return ScmConnector(ConnectorContext("source", config, "env://SCM_TOKEN", http, resolve), kind)


def github_repo(full_name: str, number: int, **more: Any) -> dict[str, Any]:
    return {
        "id": number,
        "full_name": full_name,
        "html_url": f"https://github.com/{full_name}",
        "private": True,
        "default_branch": "main",
        "archived": False,
        **more,
    }


async def test_github_lists_the_users_repositories_page_by_page(http: httpx.AsyncClient) -> None:
    following = f"{github.API}/user/repos?per_page=100&page=2"
    with respx.mock(base_url=github.API, assert_all_called=True) as router:
        route = router.get("/user/repos").mock(
            side_effect=[
                httpx.Response(
                    200,
                    json=[github_repo("octo-org/web", 1), github_repo("octo-org/api", 2)],
                    headers={"Link": f'<{following}>; rel="next", <{following}>; rel="last"'},
                ),
                httpx.Response(200, json=[github_repo("octo-cat/dotfiles", 3, private=False)]),
            ]
        )
        found = await scm(http, "github", GitHubHostConfig(), github.TOKEN).discover(
            "repositories", {}
        )

    first, second = (call.request for call in route.calls)
    github.assert_request(first, "GET", "/user/repos", {"per_page": "100"})
    github.assert_request(second, "GET", "/user/repos", {"per_page": "100", "page": "2"})
    assert [(r.type, r.name, r.id, r.url) for r in found] == [
        ("repositories", "octo-org/web", "1", "https://github.com/octo-org/web"),
        ("repositories", "octo-org/api", "2", "https://github.com/octo-org/api"),
        ("repositories", "octo-cat/dotfiles", "3", "https://github.com/octo-cat/dotfiles"),
    ]
    assert found[2].details == {"private": False, "default_branch": "main", "archived": False}


async def test_github_installation_tokens_list_the_installations_repositories(
    http: httpx.AsyncClient,
) -> None:
    answer = {"total_count": 1, "repositories": [github_repo("octo-org/web", 1)]}
    with respx.mock(base_url=github.API, assert_all_called=True) as router:
        route = router.get("/installation/repositories").respond(200, json=answer)
        source = scm(http, "github", GitHubHostConfig(), INSTALLATION_TOKEN)
        found = await source.discover("projects", {})
        who = await source.check("authentication")

    github.assert_request(
        route.calls[0].request,
        "GET",
        "/installation/repositories",
        {"per_page": "100"},
        token=INSTALLATION_TOKEN,
    )
    assert [(r.type, r.name) for r in found] == [("projects", "octo-org/web")]
    assert who == "an installation token reaching 1 repositories"


async def test_gitlab_lists_the_projects_the_token_is_a_member_of(
    http: httpx.AsyncClient,
) -> None:
    projects = [
        {
            "id": 42,
            "path_with_namespace": "group/sub/project",
            "web_url": "https://gitlab.example.com/group/sub/project",
            "visibility": "private",
            "default_branch": "main",
            "archived": False,
        }
    ]
    config = GitLabHostConfig(endpoint=gitlab.BASE)
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{GITLAB_API}/projects").respond(200, json=projects)
        router.get(f"{GITLAB_API}/user").respond(200, json={"id": 7, "username": "shipyard"})
        source = scm(http, "gitlab", config, gitlab.TOKEN)
        found = await source.discover("projects", {})
        who = await source.check("authentication")

    request = route.calls.last.request
    assert request.url.params == httpx.QueryParams({"membership": "true", "per_page": "100"})
    assert request.headers["private-token"] == gitlab.TOKEN
    assert [(r.name, r.id, r.details["visibility"]) for r in found] == [
        ("group/sub/project", "42", "private")
    ]
    assert who == "signed in as shipyard"


async def test_gitea_lists_the_users_repositories_and_checks(http: httpx.AsyncClient) -> None:
    repos = [
        {
            "id": 7,
            "full_name": "harbour/shipyard-demo",
            "html_url": f"{gitea.WEB}/harbour/shipyard-demo",
            "private": False,
            "default_branch": "trunk",
        }
    ]
    config = GiteaHostConfig(endpoint=gitea.WEB)
    with respx.mock(base_url=gitea.API, assert_all_called=True) as router:
        listing = router.get("/user/repos").respond(200, json=repos)
        router.get("/user").respond(200, json={"id": 1, "login": "shipyard"})
        version = router.get("/version").respond(200, json={"version": "1.24.2"})
        source = scm(http, "gitea", config, gitea.TOKEN)
        found = await source.discover("repositories", {})
        checks = [await source.check(level) for level in ("connectivity", "authentication")]
        works = await source.check("functionality")

    gitea.assert_request(listing.calls[0].request, "GET", "/user/repos", query={"limit": "50"})
    assert "authorization" not in version.calls.last.request.headers
    assert [r.name for r in found] == ["harbour/shipyard-demo"]
    assert checks == [f"{gitea.API} answers (200)", "signed in as shipyard"]
    assert works == "lists 1 repositories on its first page"


async def test_a_refused_token_is_authentication_failed(http: httpx.AsyncClient) -> None:
    with respx.mock(base_url=github.API, assert_all_called=True) as router:
        router.get("/user").respond(401, json={"message": "Bad credentials"})
        with pytest.raises(IntegrationError) as caught:
            await scm(http, "github", GitHubHostConfig(), github.TOKEN).check("authentication")
    assert caught.value.code == "AUTHENTICATION_FAILED"
    assert github.TOKEN not in str(caught.value)


async def test_githubs_403_without_requests_left_is_a_rate_limit(http: httpx.AsyncClient) -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "9999999999"}
    with respx.mock(base_url=github.API, assert_all_called=True) as router:
        router.get("/user/repos").respond(403, json={"message": "rate limit"}, headers=headers)
        with pytest.raises(IntegrationError) as caught:
            await scm(http, "github", GitHubHostConfig(), github.TOKEN).discover("projects", {})
    assert caught.value.code == "RATE_LIMITED"
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 0


def test_self_managed_endpoints_may_name_their_api() -> None:
    assert GitLabHostConfig(endpoint="https://git.example/api/v4/").endpoint == (
        "https://git.example/api/v4"
    )
    with pytest.raises(ValueError, match="endpoint is required"):
        GiteaHostConfig()


async def test_discovery_through_the_hub_is_filtered_and_cached(migrated: str) -> None:
    repos = [github_repo("octo-org/web", 1), github_repo("octo-org/api", 2)]
    async with ci_hub(migrated) as ci:
        await ci.register("source", "github", {}, token=github.TOKEN)
        with respx.mock(base_url=github.API, assert_all_called=True) as router:
            route = router.get("/user/repos").respond(200, json=repos)
            first = await ci.hub.discover("source", "repositories", pattern="web")
            again = await ci.hub.discover("source", "repositories")
        with pytest.raises(IntegrationError, match="it discovers: projects, repositories"):
            await ci.hub.discover("source", "tags")

    assert route.call_count == 1
    assert [r.name for r in first.resources] == ["octo-org/web"]
    assert (first.cached, again.cached) == (False, True)
    assert [r.name for r in again.resources] == ["octo-org/web", "octo-org/api"]
