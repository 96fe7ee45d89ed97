"""The endpoint table: from the settings, for each host that has a client id and secret."""

from __future__ import annotations

import base64
import hashlib

import pytest

from app.auth.hosts import (
    authorize_redirect,
    callback_url,
    configured_hosts,
    github_web_url,
    pkce_pair,
)
from tests.support.oauth import ENDPOINTS, SIGN_IN, query_of
from tests.support.settings import make_settings


@pytest.mark.parametrize(
    ("api_url", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://api.github.com/", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("https://ghe.example.com/api/v3/", "https://ghe.example.com"),
        ("https://api.octo.ghe.com", "https://octo.ghe.com"),
        ("http://127.0.0.1:9000/api/v3", "http://127.0.0.1:9000"),
    ],
)
def test_githubs_web_root_comes_from_its_api_url(api_url: str, web: str) -> None:
    assert github_web_url(api_url) == web


def test_every_host_with_a_client_is_offered_at_its_endpoints() -> None:
    hosts = configured_hosts(make_settings("sqlite:///x.db", **SIGN_IN))
    assert list(hosts) == ["github", "gitlab", "gitea"]
    for name, (authorize, token, user, field) in ENDPOINTS.items():
        host = hosts[name]
        assert (host.authorize_url, host.token_url, host.user_url, host.login_field) == (
            authorize,
            token,
            user,
            field,
        )
    assert (hosts["github"].scope, hosts["gitlab"].scope) == (None, "read_user")
    assert "secret" not in repr(hosts["github"])


def test_enterprise_and_self_managed_urls_are_followed() -> None:
    settings = make_settings(
        "sqlite:///x.db",
        **SIGN_IN,
        GITHUB_API_URL="https://ghe.example.com/api/v3",
        GITLAB_URL="https://git.example.com/",
    )
    hosts = configured_hosts(settings)
    assert hosts["github"].authorize_url == "https://ghe.example.com/login/oauth/authorize"
    assert hosts["github"].user_url == "https://ghe.example.com/api/v3/user"
    assert hosts["gitlab"].token_url == "https://git.example.com/oauth/token"


def test_a_host_without_its_secret_or_gitea_without_its_url_is_not_offered() -> None:
    assert configured_hosts(make_settings("sqlite:///x.db")) == {}
    partial = {**SIGN_IN, "GITHUB_OAUTH_CLIENT_SECRET": "", "GITEA_URL": ""}
    assert list(configured_hosts(make_settings("sqlite:///x.db", **partial))) == ["gitlab"]


def test_the_authorize_redirect_asks_for_a_code_with_pkce() -> None:
    host = configured_hosts(make_settings("sqlite:///x.db", **SIGN_IN))["gitlab"]
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    redirect_uri = callback_url("https://shipyard.example.com/", "gitlab")
    assert redirect_uri == "https://shipyard.example.com/auth/gitlab/callback"
    url = authorize_redirect(host, redirect_uri=redirect_uri, state="st", challenge=challenge)
    assert url.startswith("https://gitlab.com/oauth/authorize?")
    assert query_of(url) == {
        "client_id": "gl-client-id",
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": "read_user",
    }
