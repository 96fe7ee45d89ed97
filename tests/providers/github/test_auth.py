"""GitHub App authentication end to end: a real RSA key, a fake token endpoint, a fake clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.secrets.masker import Masker
from providers.errors import AuthenticationFailed
from providers.github import (
    GitHubApp,
    GitHubClient,
    GitHubConfig,
    InstallationAuth,
    client_for,
    pem_text,
    shared_app,
)
from providers.vocabulary import CheckRun, CheckStatus, Repo
from tests.support.clock import FakeClock
from tests.support.github import API, NOW, TOKEN, R, assert_request, sample

APP_ID = 123456
INSTALLATION_ID = 55
TOKEN_PATH = f"/app/installations/{INSTALLATION_ID}/access_tokens"
REPO = Repo("octo-org/shipyard-demo")


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def private_pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def public_pem(rsa_key: rsa.RSAPrivateKey) -> bytes:
    return rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


class FakeTokenEndpoint:
    """POST /app/installations/{id}/access_tokens as GitHub answers it, checking the JWT."""

    def __init__(self, public_pem: bytes, now: Callable[[], float]) -> None:
        self.public_pem = public_pem
        self.now = now
        self.issued: list[str] = []
        self.claims: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        scheme, _, app_jwt = request.headers["authorization"].partition(" ")
        assert scheme.lower() == "bearer"
        assert jwt.get_unverified_header(app_jwt)["alg"] == "RS256"
        # The signature must verify with the App's public key; times are checked against the
        # fake clock (PyJWT would check them against the real one).
        claims = jwt.decode(
            app_jwt,
            self.public_pem,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "require": ["iat", "exp", "iss"]},
        )
        now = self.now()
        assert claims["iss"] == str(APP_ID)
        assert claims["iat"] <= now - 60  # backdated for clock drift
        assert claims["exp"] > now
        assert claims["exp"] - claims["iat"] <= 600
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
        assert request.content == b""
        self.claims.append(claims)
        token = f"ghs_installation{len(self.issued) + 1}"
        self.issued.append(token)
        expires_at = datetime.fromtimestamp(now + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return httpx.Response(
            201,
            json={
                "token": token,
                "expires_at": expires_at,
                "permissions": {"checks": "write", "contents": "read", "deployments": "write"},
                "repository_selection": "selected",
            },
        )


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=True) as router:
        yield router


@pytest.fixture
def token_endpoint(api: respx.MockRouter, public_pem: bytes, clock: FakeClock) -> FakeTokenEndpoint:
    endpoint = FakeTokenEndpoint(public_pem, clock.time)
    api.post(TOKEN_PATH).mock(side_effect=endpoint)
    return endpoint


@pytest.fixture
async def app_client(private_pem: str, clock: FakeClock) -> AsyncIterator[GitHubClient]:
    app = GitHubApp(APP_ID, private_pem, clock=clock.time)
    policy = clock.policy(attempts=3, jitter=0.0)
    github = GitHubClient(InstallationAuth(app, INSTALLATION_ID), mask=Masker(), retry=policy)
    yield github
    await github.aclose()


async def test_the_installation_token_is_fetched_cached_and_refreshed(
    app_client: GitHubClient,
    api: respx.MockRouter,
    token_endpoint: FakeTokenEndpoint,
    clock: FakeClock,
) -> None:
    repo_route = api.get(R).respond(200, json=sample("repository"))

    assert await app_client.default_branch(REPO) == "main"
    assert token_endpoint.issued == ["ghs_installation1"]
    assert_request(repo_route.calls.last.request, "GET", R, token="ghs_installation1")

    clock.now += 3600 - 300 - 1  # one second before the refresh margin begins
    await app_client.default_branch(REPO)
    assert token_endpoint.issued == ["ghs_installation1"]  # cached: no second token request
    assert_request(repo_route.calls.last.request, "GET", R, token="ghs_installation1")

    clock.now += 2  # inside the last five minutes: a new token
    await app_client.default_branch(REPO)
    assert token_endpoint.issued == ["ghs_installation1", "ghs_installation2"]
    assert_request(repo_route.calls.last.request, "GET", R, token="ghs_installation2")
    assert repo_route.call_count == 3
    # Each token request carried a JWT made at the (fake) time of the request.
    first, second = token_endpoint.claims
    assert second["iat"] - first["iat"] == 3600 - 300 + 1


async def test_the_check_run_goes_out_with_the_installation_token(
    app_client: GitHubClient, api: respx.MockRouter, token_endpoint: FakeTokenEndpoint
) -> None:
    route = api.post(f"{R}/check-runs").respond(201, json=sample("check-run"))
    created = await app_client.create_check_run(
        REPO, "ec26c3e57ca3a959ca5aad62de7213c562f8c821", CheckRun("tests", CheckStatus.QUEUED)
    )
    assert created.id == 4242
    assert route.calls.last.request.headers["authorization"] == "Bearer ghs_installation1"


async def test_concurrent_callers_share_one_token_request(
    private_pem: str, clock: FakeClock
) -> None:
    app = GitHubApp(APP_ID, private_pem, clock=clock.time)
    requests: list[str] = []

    async def slow_token_request(path: str, app_jwt: str) -> dict[str, Any]:
        requests.append(path)
        for _ in range(5):
            await asyncio.sleep(0)  # let every other caller reach the lock meanwhile
        return {"token": "ghs_shared", "expires_at": "2026-03-02T11:00:00Z"}

    tokens = await asyncio.gather(
        *(app.installation_token(INSTALLATION_ID, slow_token_request) for _ in range(10))
    )
    assert tokens == ["ghs_shared"] * 10
    assert requests == [TOKEN_PATH]


async def test_tokens_are_cached_per_installation(private_pem: str, clock: FakeClock) -> None:
    app = GitHubApp(APP_ID, private_pem, clock=clock.time)
    paths: list[str] = []

    async def token_request(path: str, app_jwt: str) -> dict[str, Any]:
        paths.append(path)
        return {"token": f"ghs_{len(paths)}", "expires_at": "2026-03-02T11:00:00Z"}

    assert await app.installation_token(1, token_request) == "ghs_1"
    assert await app.installation_token(2, token_request) == "ghs_2"
    assert await app.installation_token(1, token_request) == "ghs_1"
    assert paths == ["/app/installations/1/access_tokens", "/app/installations/2/access_tokens"]


async def test_a_refused_installation_token_is_fetched_again(
    app_client: GitHubClient, api: respx.MockRouter, token_endpoint: FakeTokenEndpoint
) -> None:
    api.get(R).mock(
        side_effect=[
            httpx.Response(401, json={"message": "Bad credentials"}),
            httpx.Response(200, json=sample("repository")),
        ]
    )
    with pytest.raises(AuthenticationFailed):
        await app_client.default_branch(REPO)
    assert await app_client.default_branch(REPO) == "main"
    assert token_endpoint.issued == ["ghs_installation1", "ghs_installation2"]


async def test_the_private_key_can_be_escaped_pem(private_pem: str, public_pem: bytes) -> None:
    escaped = private_pem.strip().replace("\n", "\\n")  # as pasted into an env var
    for source in (escaped, private_pem):
        app_jwt = await GitHubApp(APP_ID, source).jwt()
        claims = jwt.decode(app_jwt, public_pem, algorithms=["RS256"])
        assert claims["iss"] == str(APP_ID)


def test_the_private_key_is_pem_text_never_a_path(private_pem: str, tmp_path: Path) -> None:
    key_file = tmp_path / "shipyard.private-key.pem"
    key_file.write_text(private_pem)
    assert pem_text(private_pem.strip().replace("\n", "\\n")) == private_pem.strip()
    with pytest.raises(ValueError, match="not PEM text") as refused:
        GitHubApp(APP_ID, str(key_file))
    assert str(key_file) not in str(refused.value)


async def test_client_for_uses_the_app_when_given_an_installation(
    api: respx.MockRouter, private_pem: str, public_pem: bytes
) -> None:
    endpoint = FakeTokenEndpoint(public_pem, time.time)  # client_for's App uses the real clock
    token_route = api.post(TOKEN_PATH).mock(side_effect=endpoint)
    repo_route = api.get(R).respond(200, json=sample("repository"))
    config = GitHubConfig(api_url=API, app_id=APP_ID, private_key=private_pem, token=TOKEN)

    for _ in range(2):  # a client per job, as workers build them: the token is shared
        github = client_for(config, Masker(), installation_id=INSTALLATION_ID)
        assert isinstance(github, GitHubClient)
        assert github.is_app
        await github.default_branch(REPO)
        await github.aclose()
    assert token_route.call_count == 1
    assert_request(repo_route.calls.last.request, "GET", R, token="ghs_installation1")


async def test_client_for_falls_back_to_the_token_without_an_installation(
    api: respx.MockRouter, private_pem: str
) -> None:
    route = api.get(R).respond(200, json=sample("repository"))
    config = GitHubConfig(api_url=API, app_id=APP_ID, private_key=private_pem, token=TOKEN)
    github = client_for(config, Masker())
    assert isinstance(github, GitHubClient)
    assert not github.is_app
    await github.default_branch(REPO)
    assert_request(route.calls.last.request, "GET", R, token=TOKEN)
    await github.aclose()


def test_client_for_with_only_an_app_and_no_installation_is_none(private_pem: str) -> None:
    config = GitHubConfig(api_url=API, app_id=APP_ID, private_key=private_pem)
    assert client_for(config, Masker()) is None
    assert client_for(config, Masker(), installation_id=INSTALLATION_ID) is not None


def test_shared_apps_are_one_per_app_and_key(private_pem: str) -> None:
    one = shared_app(API, APP_ID, private_pem)
    assert shared_app(API + "/", APP_ID, private_pem) is one
    assert shared_app(API, APP_ID + 1, private_pem) is not one
    assert shared_app("https://ghe.example.com/api/v3", APP_ID, private_pem) is not one


async def test_secrets_stay_out_of_reprs_and_errors(
    app_client: GitHubClient, api: respx.MockRouter, private_pem: str, clock: FakeClock
) -> None:
    seen_jwts: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        app_jwt = request.headers["authorization"].partition(" ")[2]
        seen_jwts.append(app_jwt)
        return httpx.Response(401, json={"message": f"'{app_jwt}' could not be decoded"})

    api.post(TOKEN_PATH).mock(side_effect=refuse)
    with pytest.raises(AuthenticationFailed) as refused:
        await app_client.default_branch(REPO)
    assert refused.value.path == TOKEN_PATH
    key_body = private_pem.splitlines()[1]
    app = GitHubApp(APP_ID, private_pem, clock=clock.time)
    texts = [
        str(refused.value),
        repr(refused.value),
        repr(app_client),
        repr(app),
        repr(InstallationAuth(app, INSTALLATION_ID)),
    ]
    for text in texts:
        assert seen_jwts[0] not in text
        assert key_body not in text
        assert "BEGIN" not in text
    assert repr(app_client) == (
        "GitHubClient(api_url='https://api.github.com', "
        f"credentials=InstallationAuth(app_id={APP_ID}, installation_id={INSTALLATION_ID}))"
    )
    await app.installation_token(  # a cached token is not in the App's repr either
        INSTALLATION_ID,
        _answer({"token": "ghs_cached_secret", "expires_at": "2026-03-02T11:00:00Z"}),
    )
    assert "ghs_cached_secret" not in repr(app)
    assert "ghs_cached_secret" not in repr(app._tokens)


async def test_the_mask_learns_the_key_and_each_minted_token(
    api: respx.MockRouter, token_endpoint: FakeTokenEndpoint, private_pem: str, clock: FakeClock
) -> None:
    mask = Masker()
    app = GitHubApp(APP_ID, private_pem, clock=clock.time)
    policy = clock.policy(attempts=3, jitter=0.0)
    github = GitHubClient(InstallationAuth(app, INSTALLATION_ID), mask=mask, retry=policy)
    key_body = private_pem.splitlines()[1]
    assert key_body not in mask(private_pem)  # taught at construction, line by line too
    api.get(R).respond(401, json={"message": "ghs_installation1 has expired"})

    with pytest.raises(AuthenticationFailed) as refused:
        await github.default_branch(REPO)

    assert token_endpoint.issued == ["ghs_installation1"]
    assert str(refused.value).endswith("answered 401: *** has expired")
    assert mask("token ghs_installation1") == "token ***"
    await github.aclose()


def _answer(body: dict[str, Any]) -> Any:
    async def token_request(path: str, app_jwt: str) -> dict[str, Any]:
        return dict(body)

    return token_request
