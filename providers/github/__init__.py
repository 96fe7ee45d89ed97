"""GitHub (github.com and Enterprise Server): the client, its auth, and how one is built."""

from __future__ import annotations

from providers.base import Provider
from providers.github.auth import (
    Credentials,
    GitHubApp,
    InstallationAuth,
    TokenAuth,
    forget_shared_apps,
    pem_text,
    shared_app,
)
from providers.github.client import GitHubClient
from providers.github.config import GitHubConfig
from providers.github.transport import ACCEPT, API_VERSION, USER_AGENT
from providers.mask import Mask
from providers.vocabulary import TokenScope

__all__ = [
    "ACCEPT",
    "API_VERSION",
    "USER_AGENT",
    "Credentials",
    "GitHubApp",
    "GitHubClient",
    "GitHubConfig",
    "InstallationAuth",
    "TokenAuth",
    "client_for",
    "forget_shared_apps",
    "pem_text",
    "shared_app",
]


def client_for(
    config: GitHubConfig,
    mask: Mask,
    *,
    installation_id: int | None = None,
    scope: TokenScope | None = None,
) -> Provider | None:
    """A GitHub client: as the App's installation, else with the token; None if neither is set.

    The App needs its id, its private key and an installation; without an installation the
    token is used, if there is one. With `scope`, the App's installation tokens reach only
    the scope's repositories with only its permissions (cached per installation and scope);
    a plain token cannot be narrowed, so there the scope has nothing to act on.
    """
    if config.app_id and config.private_key and installation_id is not None:
        app = shared_app(config.api_url, config.app_id, config.private_key)
        auth = InstallationAuth(app, installation_id, scope=scope)
        return GitHubClient(auth, mask=mask, api_url=config.api_url)
    if config.token:
        return GitHubClient(TokenAuth(config.token), mask=mask, api_url=config.api_url)
    return None
