"""Pull-request diffs and git credentials, on each host, at the documented endpoints."""

from __future__ import annotations

import base64

import httpx
import pytest
import responses
import respx

from app.secrets.masker import Masker
from providers.gitea import GiteaClient
from providers.github import GitHubClient, TokenAuth
from providers.gitlab import GitLabClient
from providers.vocabulary import Repo

REPO = Repo("acme/web")
DIFF = "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-a\n+b\n"


def _basic(header: str | None) -> str:
    assert header is not None
    scheme, _, value = header.partition(": ")[2].partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(value).decode()


@respx.mock
async def test_github_diff_uses_the_diff_media_type() -> None:
    route = respx.get("https://api.github.com/repos/acme/web/pulls/7").mock(
        return_value=httpx.Response(200, text=DIFF, headers={"content-type": "text/plain"})
    )
    client = GitHubClient(TokenAuth("ghp_secret"), mask=Masker())
    try:
        assert await client.pull_request_diff(REPO, 7) == DIFF
    finally:
        await client.aclose()
    request = route.calls.last.request
    assert request.headers["accept"] == "application/vnd.github.diff"
    assert request.headers["authorization"] == "Bearer ghp_secret"


@pytest.mark.parametrize(
    ("api_url", "clone_url"),
    [
        ("https://api.github.com", "https://github.com/acme/web.git"),
        ("https://ghe.example/api/v3", "https://ghe.example/acme/web.git"),
    ],
)
async def test_github_clone_auth(api_url: str, clone_url: str) -> None:
    client = GitHubClient(TokenAuth("ghp_secret"), mask=Masker(), api_url=api_url)
    auth = await client.clone_auth(REPO)
    await client.aclose()
    assert auth.url == clone_url
    assert _basic(auth.header) == "x-access-token:ghp_secret"
    assert "ghp_secret" not in auth.url
    assert "ghp_secret" not in repr(auth)


@respx.mock
async def test_gitea_diff_and_clone_auth() -> None:
    route = respx.get("https://git.example/api/v1/repos/acme/web/pulls/7.diff").mock(
        return_value=httpx.Response(200, text=DIFF)
    )
    client = GiteaClient("https://git.example", "gitea_secret", mask=Masker())
    try:
        assert await client.pull_request_diff(REPO, 7) == DIFF
        auth = await client.clone_auth(REPO)
    finally:
        await client.aclose()
    assert route.calls.last.request.headers["authorization"] == "token gitea_secret"
    assert auth.url == "https://git.example/acme/web.git"
    assert _basic(auth.header) == "shipyard:gitea_secret"


@responses.activate
async def test_gitlab_diff_joins_the_paged_diffs_and_clone_auth() -> None:
    url = "https://gitlab.example/api/v4/projects/acme%2Fweb/merge_requests/7/diffs"
    first = [{"old_path": "app.py", "new_path": "app.py", "diff": "@@ -1 +1 @@\n-a\n+b\n"}]
    second = [{"old_path": "old.txt", "new_path": "new.txt", "diff": ""}]
    responses.get(
        url,
        json=first,
        headers={"x-next-page": "2"},
        match=[responses.matchers.query_param_matcher({"per_page": "100", "page": "1"})],
    )
    responses.get(
        url,
        json=second,
        headers={"x-next-page": ""},
        match=[responses.matchers.query_param_matcher({"per_page": "100", "page": "2"})],
    )
    client = GitLabClient("https://gitlab.example", "glpat-secret", mask=Masker())
    try:
        diff = await client.pull_request_diff(REPO, 7)
        auth = await client.clone_auth(REPO)
    finally:
        await client.aclose()
    assert diff == DIFF + "diff --git a/old.txt b/new.txt\n--- a/old.txt\n+++ b/new.txt\n"
    assert responses.calls[0].request.headers["PRIVATE-TOKEN"] == "glpat-secret"
    assert auth.url == "https://gitlab.example/acme/web.git"
    assert _basic(auth.header) == "oauth2:glpat-secret"
