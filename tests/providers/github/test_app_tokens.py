"""The GitHub App's own calls: installation tokens no wider than the work, and who the App is."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from app.secrets.masker import Masker
from providers.base import Provider
from providers.errors import AuthenticationFailed
from providers.github import (
    GitHubApp,
    GitHubClient,
    GitHubConfig,
    InstallationAuth,
    client_for,
)
from providers.vocabulary import Identity, Repo, TokenScope, comment_marker
from tests.support.github import API, R, assert_request, sample
from tests.support.providers_github_app import (
    APP_ID,
    INSTALLATION_ID,
    TOKEN_PATH,
    TokenEndpoint,
    app_jwt_of,
    private_pem,
)

REPO = Repo("octo-org/shipyard-demo")
DEPLOY = TokenScope(
    repositories=("shipyard-demo",), permissions=(("statuses", "write"), ("contents", "read"))
)
READ_ONLY = TokenScope(repositories=("shipyard-demo",), permissions=(("contents", "read"),))


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=True) as router:
        yield router


@pytest.fixture
def tokens(api: respx.MockRouter) -> TokenEndpoint:
    endpoint = TokenEndpoint(time.time)  # client_for's App signs with the real clock
    api.post(TOKEN_PATH).mock(side_effect=endpoint)
    return endpoint


def config() -> GitHubConfig:
    return GitHubConfig(api_url=API, app_id=APP_ID, private_key=private_pem())


def as_app(scope: TokenScope | None = None, mask: Masker | None = None) -> GitHubClient:
    client = client_for(config(), mask or Masker(), installation_id=INSTALLATION_ID, scope=scope)
    assert isinstance(client, GitHubClient)
    return client


async def default_branch(client: Provider) -> None:
    assert await client.default_branch(REPO) == "main"
    await client.aclose()


# Scoped installation tokens


async def test_a_scoped_token_is_minted_with_exactly_the_scope(
    api: respx.MockRouter, tokens: TokenEndpoint
) -> None:
    repo_route = api.get(R).respond(200, json=sample("repository"))
    await default_branch(as_app(DEPLOY))
    assert tokens.bodies == [
        {
            "repositories": ["shipyard-demo"],  # names, without the owner
            "permissions": {"contents": "read", "statuses": "write"},
        }
    ]
    assert_request(repo_route.calls.last.request, "GET", R, token="ghs_minted1")


@pytest.mark.parametrize(
    ("scope", "body"),
    [
        (TokenScope(permissions=(("checks", "write"),)), {"permissions": {"checks": "write"}}),
        (TokenScope(repositories=("web", "api")), {"repositories": ["api", "web"]}),
        (TokenScope(), None),  # narrows nothing: no body, the installation's full token
        (None, None),
    ],
    ids=["permissions-only", "repositories-only", "empty", "none"],
)
async def test_the_token_request_carries_only_the_keys_the_scope_gives(
    api: respx.MockRouter, tokens: TokenEndpoint, scope: TokenScope | None, body: Any
) -> None:
    api.get(R).respond(200, json=sample("repository"))
    await default_branch(as_app(scope))
    assert tokens.bodies == [body]


async def test_two_scopes_get_two_tokens_and_the_same_scope_reuses_one(
    api: respx.MockRouter, tokens: TokenEndpoint
) -> None:
    repo_route = api.get(R).respond(200, json=sample("repository"))
    same_as_deploy = TokenScope(
        repositories=("shipyard-demo",),
        permissions=(("contents", "read"), ("statuses", "write")),  # another order
    )
    for scope in (DEPLOY, READ_ONLY, same_as_deploy, READ_ONLY):
        await default_branch(as_app(scope))  # a client per job, as workers build them
    assert tokens.issued == ["ghs_minted1", "ghs_minted2"]
    assert [body["permissions"] for body in tokens.bodies] == [
        {"contents": "read", "statuses": "write"},
        {"contents": "read"},
    ]
    used = [call.request.headers["authorization"] for call in repo_route.calls]
    assert used == [f"Bearer ghs_minted{n}" for n in (1, 2, 1, 2)]


async def test_an_empty_scope_shares_the_unscoped_token(
    api: respx.MockRouter, tokens: TokenEndpoint
) -> None:
    api.get(R).respond(200, json=sample("repository"))
    await default_branch(as_app(None))
    await default_branch(as_app(TokenScope()))
    assert tokens.issued == ["ghs_minted1"]


async def test_a_refused_scoped_token_is_dropped_for_its_scope_only(
    api: respx.MockRouter, tokens: TokenEndpoint
) -> None:
    api.get(R).mock(
        side_effect=[
            httpx.Response(200, json=sample("repository")),  # unscoped: ghs_minted1
            httpx.Response(401, json={"message": "Bad credentials"}),  # DEPLOY: ghs_minted2
            httpx.Response(200, json=sample("repository")),  # unscoped again: still cached
            httpx.Response(200, json=sample("repository")),  # DEPLOY: ghs_minted3
        ]
    )
    await default_branch(as_app())
    scoped = as_app(DEPLOY)
    with pytest.raises(AuthenticationFailed):
        await scoped.default_branch(REPO)
    await scoped.aclose()
    await default_branch(as_app())
    await default_branch(as_app(DEPLOY))
    assert tokens.issued == ["ghs_minted1", "ghs_minted2", "ghs_minted3"]


async def test_the_apps_token_cache_is_keyed_by_installation_and_scope() -> None:
    app = GitHubApp(APP_ID, private_pem())
    asked: list[tuple[str, Any]] = []

    async def token_request(path: str, app_jwt: str, body: Any = None) -> dict[str, Any]:
        asked.append((path, body))
        return {"token": f"ghs_{len(asked)}", "expires_at": "2099-01-01T00:00:00Z"}

    assert await app.installation_token(1, token_request, scope=READ_ONLY) == "ghs_1"
    assert await app.installation_token(2, token_request, scope=READ_ONLY) == "ghs_2"
    assert await app.installation_token(1, token_request) == "ghs_3"
    assert await app.installation_token(1, token_request, scope=READ_ONLY) == "ghs_1"
    read_only = {"repositories": ["shipyard-demo"], "permissions": {"contents": "read"}}
    assert asked == [
        ("/app/installations/1/access_tokens", read_only),
        ("/app/installations/2/access_tokens", read_only),
        ("/app/installations/1/access_tokens", None),  # unscoped: called without a body
    ]


def test_the_scope_shows_in_the_credentials_repr_but_no_secret() -> None:
    app = GitHubApp(APP_ID, private_pem())
    assert repr(InstallationAuth(app, INSTALLATION_ID, READ_ONLY)) == (
        f"InstallationAuth(app_id={APP_ID}, installation_id={INSTALLATION_ID}, "
        "scope=TokenScope(repositories=('shipyard-demo',), permissions=(('contents', 'read'),)))"
    )
    assert repr(InstallationAuth(app, INSTALLATION_ID, TokenScope())) == (
        f"InstallationAuth(app_id={APP_ID}, installation_id={INSTALLATION_ID})"
    )


async def test_a_token_is_not_narrowed_by_a_scope(api: respx.MockRouter) -> None:
    # A personal access token is what it is: the scope has nothing to act on.
    route = api.get(R).respond(200, json=sample("repository"))
    token_only = GitHubConfig(api_url=API, token="ghp_PlainT0ken0123456789")
    client = client_for(token_only, Masker(), installation_id=None, scope=DEPLOY)
    assert isinstance(client, GitHubClient)
    await default_branch(client)
    assert route.calls.last.request.headers["authorization"] == "Bearer ghp_PlainT0ken0123456789"


# Who the App is


def the_app(slug: str = "shipyard") -> dict[str, Any]:
    """GET /app: the authenticated App (trimmed)."""
    return {"id": APP_ID, "slug": slug, "name": "Shipyard", "owner": {"login": "octo-org"}}


async def test_identity_as_an_app_is_its_bot_read_with_the_apps_jwt(
    api: respx.MockRouter,
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        app_jwt_of(request, time.time())  # the App's JWT, never an installation token
        assert request.url.raw_path == b"/app"
        assert request.content == b""
        return httpx.Response(200, json=the_app())

    route = api.get("/app").mock(side_effect=answer)  # no token route: none may be minted
    client = as_app(DEPLOY)
    assert await client.identity() == Identity(login="shipyard[bot]", is_app=True)
    assert await client.identity() == Identity(login="shipyard[bot]", is_app=True)
    assert route.call_count == 1  # cached by the client
    await client.aclose()


async def test_the_apps_jwt_stays_out_of_errors(api: respx.MockRouter) -> None:
    seen: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"].partition(" ")[2])
        return httpx.Response(401, json={"message": f"'{seen[-1]}' is not a valid JWT"})

    api.get("/app").mock(side_effect=refuse)
    mask = Masker()
    client = as_app(mask=mask)
    with pytest.raises(AuthenticationFailed) as refused:
        await client.identity()
    assert seen[0] not in str(refused.value)
    assert "***" in str(refused.value)
    assert mask(seen[0]) == seen[0]  # used once, then forgotten: the mask does not grow
    await client.aclose()


async def test_the_app_updates_its_own_comment_only(
    api: respx.MockRouter, tokens: TokenEndpoint
) -> None:
    marker = comment_marker("deploy")
    thread = [
        {"id": 1, "body": f"{marker}\nfake", "user": {"login": "shipyard", "type": "User"}},
        {"id": 2, "body": f"{marker}\nold", "user": {"login": "shipyard[bot]", "type": "Bot"}},
    ]
    api.get(f"{R}/issues/7/comments").respond(200, json=thread)
    api.get("/app").respond(200, json=the_app())
    patched = api.patch(f"{R}/issues/comments/2").respond(200, json=thread[1])

    client = as_app(DEPLOY)
    await client.upsert_comment(REPO, 7, "deploy", "new")
    await client.aclose()

    assert [(c.request.method, c.request.url.path) for c in api.calls] == [
        ("POST", TOKEN_PATH),
        ("GET", f"{R}/issues/7/comments"),
        ("GET", "/app"),
        ("PATCH", f"{R}/issues/comments/2"),
    ]
    assert_request(
        patched.calls.last.request,
        "PATCH",
        f"{R}/issues/comments/2",
        body={"body": f"{marker}\nnew"},
        token="ghs_minted1",
    )
