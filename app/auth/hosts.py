"""Each Git host's OAuth endpoints, from the settings: one table, no I/O. A host is offered
for sign-in when its client id and secret are set (Gitea also needs GITEA_URL)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

from pydantic import SecretStr

from app.settings import Settings

__all__ = [
    "SETTINGS_HINTS",
    "OAuthHost",
    "authorize_redirect",
    "callback_url",
    "configured_hosts",
    "github_web_url",
    "pkce_pair",
]

# What to set for each host, for the page that says sign-in is not configured.
SETTINGS_HINTS = {
    "GitHub": "GITHUB_OAUTH_CLIENT_ID and GITHUB_OAUTH_CLIENT_SECRET (the GitHub App's own "
    "client id and secret, or an OAuth App's)",
    "GitLab": "GITLAB_OAUTH_CLIENT_ID and GITLAB_OAUTH_CLIENT_SECRET (an OAuth application with "
    "the read_user scope; GITLAB_URL for self-managed GitLab)",
    "Gitea / Forgejo": "GITEA_OAUTH_CLIENT_ID and GITEA_OAUTH_CLIENT_SECRET (an OAuth2 "
    "application), with GITEA_URL",
}


@dataclass(frozen=True)
class OAuthHost:
    """Where one host signs people in, and Shipyard's client there."""

    name: str  # "github", "gitlab", "gitea": the session's host
    display_name: str
    authorize_url: str
    token_url: str
    user_url: str
    login_field: str  # the user object's field holding the login
    scope: str | None
    client_id: str
    client_secret: str = field(repr=False)


def github_web_url(api_url: str) -> str:
    """GitHub's web root from its API URL: api.github.com → github.com; Enterprise Server's
    `https://ghe.example/api/v3` → `https://ghe.example`; `api.<sub>.ghe.com` → `<sub>.ghe.com`."""
    parts = urlsplit(api_url.rstrip("/"))
    path = parts.path.removesuffix("/api/v3")
    netloc = parts.netloc
    if netloc.startswith("api.") and netloc.count(".") >= 2:
        netloc = netloc.removeprefix("api.")
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def configured_hosts(settings: Settings) -> dict[str, OAuthHost]:
    """The hosts people can sign in with, by name, in the order the sign-in page lists them."""
    hosts: list[OAuthHost] = []
    github_id, github_secret = settings.github_oauth_client_id, settings.github_oauth_client_secret
    if github_id and _secret(github_secret):
        web = github_web_url(settings.github_api_url)
        hosts.append(
            OAuthHost(
                "github",
                "GitHub",
                authorize_url=f"{web}/login/oauth/authorize",
                token_url=f"{web}/login/oauth/access_token",
                user_url=f"{settings.github_api_url.rstrip('/')}/user",
                login_field="login",
                scope=None,  # a user's public profile needs no scope (a GitHub App has none)
                client_id=github_id,
                client_secret=_secret(github_secret),
            )
        )
    gitlab_id, gitlab_secret = settings.gitlab_oauth_client_id, settings.gitlab_oauth_client_secret
    if gitlab_id and _secret(gitlab_secret):
        web = settings.gitlab_url.rstrip("/")
        hosts.append(
            OAuthHost(
                "gitlab",
                "GitLab",
                authorize_url=f"{web}/oauth/authorize",
                token_url=f"{web}/oauth/token",
                user_url=f"{web}/api/v4/user",
                login_field="username",
                scope="read_user",
                client_id=gitlab_id,
                client_secret=_secret(gitlab_secret),
            )
        )
    gitea_id, gitea_secret = settings.gitea_oauth_client_id, settings.gitea_oauth_client_secret
    if gitea_id and _secret(gitea_secret) and settings.gitea_url:
        web = settings.gitea_url.rstrip("/")
        hosts.append(
            OAuthHost(
                "gitea",
                "Gitea",
                authorize_url=f"{web}/login/oauth/authorize",
                token_url=f"{web}/login/oauth/access_token",
                user_url=f"{web}/api/v1/user",
                login_field="login",
                scope="read:user",  # scoped tokens (1.19+) need one; older servers ignore it
                client_id=gitea_id,
                client_secret=_secret(gitea_secret),
            )
        )
    return {host.name: host for host in hosts}


def callback_url(public_url: str, host: str) -> str:
    """The redirect URI to register with the host: `<SHIPYARD_PUBLIC_URL>/auth/<host>/callback`."""
    return f"{public_url.rstrip('/')}/auth/{host}/callback"


def pkce_pair() -> tuple[str, str]:
    """(code verifier, its S256 challenge) for RFC 7636."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_redirect(host: OAuthHost, *, redirect_uri: str, state: str, challenge: str) -> str:
    """The host's authorize page, asking for a code for Shipyard's client (with PKCE)."""
    query = {
        "client_id": host.client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if host.scope:
        query["scope"] = host.scope
    return f"{host.authorize_url}?{urlencode(query)}"
