"""Picking a host's client by name from the hosts' configs, or one that names the settings."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.secrets.masker import Masker
from providers.errors import NotConfigured
from providers.gitea import GiteaClient, GiteaConfig
from providers.github import GitHubClient, GitHubConfig, forget_shared_apps
from providers.gitlab import GitLabClient, GitLabConfig
from providers.not_configured import NotConfiguredProvider
from providers.registry import HOSTS, HostConfigs, create_provider
from providers.vocabulary import Repo, TokenScope

GITHUB_TOKEN = "ghp_RegistryT0ken0123456789"
GITLAB_TOKEN = "glpat-RegistryT0ken"
GITEA_TOKEN = "gta_registry0123456789"
GITHUB_API = "https://api.github.com"


@pytest.fixture(autouse=True)
def no_shared_apps() -> Iterator[None]:
    forget_shared_apps()
    yield
    forget_shared_apps()


def private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def test_an_unknown_host_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown provider 'bitbucket'; known: github, gitlab"):
        create_provider("bitbucket", HostConfigs(mask=Masker()))


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("github", "GitHub is not configured: set GITHUB_APP_ID and GITHUB_PRIVATE_KEY"),
        ("gitlab", "GitLab is not configured: set GITLAB_TOKEN (and GITLAB_URL"),
        ("gitea", "Gitea is not configured: set GITEA_URL and GITEA_TOKEN"),
        ("forgejo", "Forgejo is not configured: set GITEA_URL and GITEA_TOKEN"),
    ],
    ids=["github", "gitlab", "gitea", "forgejo"],
)
async def test_an_unconfigured_host_refuses_naming_its_settings(name: str, hint: str) -> None:
    client = create_provider(name, HostConfigs(mask=Masker()), installation_id=7)
    assert isinstance(client, NotConfiguredProvider)
    assert client.name == name
    with pytest.raises(NotConfigured, match=hint.replace("(", r"\(")):
        await client.default_branch(Repo("acme/web"))


async def test_each_host_gets_its_own_config_and_the_mask() -> None:
    mask = Masker()
    configs = HostConfigs(
        mask=mask,
        github=GitHubConfig(token=GITHUB_TOKEN),
        gitlab=GitLabConfig(url="https://gitlab.example", token=GITLAB_TOKEN),
        gitea=GiteaConfig(url="https://gitea.example", token=GITEA_TOKEN),
    )
    clients = {name: create_provider(name, configs) for name in HOSTS}
    try:
        assert isinstance(clients["github"], GitHubClient)
        assert isinstance(clients["gitlab"], GitLabClient)
        assert isinstance(clients["gitea"], GiteaClient)
        assert isinstance(clients["forgejo"], GiteaClient)  # configured with the Gitea settings
        assert {name: client.name for name, client in clients.items()} == {
            "github": "github",
            "gitlab": "gitlab",
            "gitea": "gitea",
            "forgejo": "forgejo",
        }
        for token in (GITHUB_TOKEN, GITLAB_TOKEN, GITEA_TOKEN):
            assert mask(f"token {token}") == "token ***"  # every client taught the one mask
    finally:
        for client in clients.values():
            await client.aclose()


async def test_github_is_the_app_installation_given_one_else_the_token() -> None:
    configs = HostConfigs(
        mask=Masker(),
        github=GitHubConfig(app_id=12, private_key=private_pem(), token=GITHUB_TOKEN),
    )
    as_app = create_provider("github", configs, installation_id=55)
    with_token = create_provider("github", configs)
    try:
        assert isinstance(as_app, GitHubClient)
        assert isinstance(with_token, GitHubClient)
        assert (as_app.is_app, with_token.is_app) == (True, False)
    finally:
        await as_app.aclose()
        await with_token.aclose()


async def test_the_token_scope_reaches_githubs_installation_tokens() -> None:
    # The App's installation token is minted for the scope (the body names only it).
    configs = HostConfigs(
        mask=Masker(), github=GitHubConfig(api_url=GITHUB_API, app_id=12, private_key=private_pem())
    )
    scope = TokenScope(repositories=("web",), permissions=(("statuses", "write"),))
    client = create_provider("github", configs, installation_id=55, scope=scope)
    assert isinstance(client, GitHubClient)
    with respx.mock(base_url=GITHUB_API, assert_all_called=True) as api:
        token = api.post("/app/installations/55/access_tokens").respond(
            201, json={"token": "ghs_scoped", "expires_at": "2099-01-01T00:00:00Z"}
        )
        repo = api.get("/repos/acme/web").respond(200, json={"default_branch": "main"})
        assert await client.default_branch(Repo("acme/web")) == "main"
    assert json.loads(token.calls.last.request.content) == {
        "repositories": ["web"],
        "permissions": {"statuses": "write"},
    }
    assert repo.calls.last.request.headers["authorization"] == "Bearer ghs_scoped"
    await client.aclose()


async def test_hosts_without_scoped_tokens_ignore_the_scope() -> None:
    configs = HostConfigs(
        mask=Masker(),
        gitlab=GitLabConfig(url="https://gitlab.example", token=GITLAB_TOKEN),
        gitea=GiteaConfig(url="https://gitea.example", token=GITEA_TOKEN),
    )
    scope = TokenScope(repositories=("web",))
    clients = [create_provider(name, configs, scope=scope) for name in ("gitlab", "gitea")]
    clients.append(create_provider("forgejo", configs, installation_id=3, scope=scope))
    try:
        assert [type(client) for client in clients] == [GitLabClient, GiteaClient, GiteaClient]
    finally:
        for client in clients:
            await client.aclose()
