"""SCM integrations: a GitHub, GitLab or Gitea (Forgejo) account, by its token, and the
repositories it can see. `HostApi` is the small REST door for what the provider interface
does not offer (listing repositories, workflows and pipelines); the CI integrations use it too.

GitHub lists `/user/repos` (an installation token, `ghs_…`: `/installation/repositories`),
GitLab `/projects?membership=true`, Gitea `/user/repos`. GitLab calls them projects and the
others repositories: both resource types list the same thing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Self

import httpx
from pydantic import model_validator

from app.integrations.connector import (
    Connector,
    ConnectorContext,
    ProviderConfig,
    Resource,
    http_error,
)
from app.integrations.errors import IntegrationError
from app.integrations.kinds import CheckLevel
from app.integrations.spec import ProviderSpec

__all__ = [
    "GITEA",
    "GITHUB",
    "GITLAB",
    "MAX_PAGES",
    "PROVIDERS",
    "GitHubHostConfig",
    "GitLabHostConfig",
    "GiteaHostConfig",
    "HostApi",
    "HostKind",
    "ScmConnector",
    "api_base",
    "reachable",
    "repositories",
    "web_root",
    "whoami",
]

HostKind = Literal["github", "gitlab", "gitea"]
MAX_PAGES = 10  # a listing stops after this many pages (of 100; Gitea: 50)
_USER_AGENT = "shipyard"


class GitHubHostConfig(ProviderConfig):
    """`endpoint` is the REST API: https://api.github.com, or https://HOST/api/v3."""

    endpoint: str | None = "https://api.github.com"


class GitLabHostConfig(ProviderConfig):
    """`endpoint` is the server: https://gitlab.com, or a self-managed one's root URL."""

    endpoint: str | None = "https://gitlab.com"


class GiteaHostConfig(ProviderConfig):
    """`endpoint` is the Gitea or Forgejo server's root URL (a trailing /api/v1 is allowed)."""

    @model_validator(mode="after")
    def _needs_endpoint(self) -> Self:
        if not self.endpoint:
            raise ValueError("endpoint is required: the Gitea server's URL")
        return self


def api_base(kind: HostKind, endpoint: str) -> str:
    """Where the host's REST API lives, from the integration's endpoint."""
    if kind == "gitlab":
        return f"{endpoint.removesuffix('/api/v4')}/api/v4"
    if kind == "gitea":
        return f"{endpoint.removesuffix('/api/v1')}/api/v1"
    return endpoint


def web_root(kind: HostKind, endpoint: str) -> str:
    """The server's root URL (what the GitLab and Gitea clients are built from)."""
    return api_base(kind, endpoint).removesuffix("/api/v4").removesuffix("/api/v1")


@dataclass(frozen=True)
class HostApi:
    """GET on one host's REST API with a token: JSON answers, pages followed by their Link
    header, every failure an IntegrationError naming the path (never the query or token)."""

    kind: HostKind
    base: str
    token: str
    http: httpx.AsyncClient
    timeout: float

    def headers(self) -> dict[str, str]:
        if self.kind == "github":
            return {
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": _USER_AGENT,
            }
        if self.kind == "gitlab":
            return {"PRIVATE-TOKEN": self.token, "User-Agent": _USER_AGENT}
        return {
            "Authorization": f"token {self.token}",
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
        }

    @property
    def is_installation(self) -> bool:
        """A GitHub App installation token: it has no user, only repositories."""
        return self.kind == "github" and self.token.startswith("ghs_")

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        return await self._get(f"{self.base}{path}", path, params)

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return _json(await self.get(path, params), path)

    async def listing(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        key: str | None = None,
        pages: int = MAX_PAGES,
    ) -> list[dict[str, Any]]:
        """Every item of a paged list (at most `pages` pages); `key` names the list in an
        answer that is an object (`{"workflows": [...]}`)."""
        items: list[dict[str, Any]] = []
        response = await self.get(path, params)
        for page in range(pages):
            answer = _json(response, path)
            found = answer.get(key) if key and isinstance(answer, dict) else answer
            if not isinstance(found, list):
                raise IntegrationError("PROVIDER_ERROR", f"GET {path}: the answer is not a list")
            items.extend(item for item in found if isinstance(item, dict))
            following = response.links.get("next", {}).get("url")
            # The token goes only where the API is: a next page elsewhere is not followed.
            if not following or not following.startswith(f"{self.base}/") or page + 1 >= pages:
                break
            response = await self._get(following, path, None)
        return items

    async def _get(self, url: str, path: str, params: Mapping[str, str] | None) -> httpx.Response:
        try:
            response = await self.http.get(
                url, params=params, headers=self.headers(), timeout=self.timeout
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise _host_error(error, f"GET {path}") from None
        return response


def _host_error(error: httpx.HTTPError, what: str) -> IntegrationError:
    """http_error, with GitHub's 403 that is a rate limit (no requests left) as RATE_LIMITED."""
    if isinstance(error, httpx.HTTPStatusError):
        headers = error.response.headers
        if error.response.status_code == 403 and headers.get("x-ratelimit-remaining") == "0":
            reset = headers.get("x-ratelimit-reset", "")
            after = max(0.0, float(reset) - time.time()) if reset.isdigit() else 60.0
            return IntegrationError("RATE_LIMITED", f"{what}: rate limited", retry_after=after)
    return http_error(error, what)


def _json(response: httpx.Response, path: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise IntegrationError("PROVIDER_ERROR", f"GET {path}: the answer is not JSON") from None


async def reachable(
    kind: HostKind, endpoint: str, http: httpx.AsyncClient, time_limit: float
) -> str:
    """The API root answers (without a token: 401 and 403 still mean it is there)."""
    base = api_base(kind, endpoint)
    url = f"{base}/" if kind == "github" else f"{base}/version"
    try:
        response = await http.get(url, headers={"User-Agent": _USER_AGENT}, timeout=time_limit)
        if response.status_code not in (401, 403):
            response.raise_for_status()
    except httpx.HTTPError as error:
        raise http_error(error, f"GET {url}") from None
    return f"{base} answers ({response.status_code})"


async def whoami(api: HostApi) -> str:
    """Who the token is: its user's login, or for an installation token how much it reaches."""
    if api.is_installation:
        answer = await api.get_json("/installation/repositories", {"per_page": "1"})
        count = answer.get("total_count") if isinstance(answer, dict) else None
        return f"an installation token reaching {count} repositories"
    user = await api.get_json("/user")
    login = (user.get("login") or user.get("username")) if isinstance(user, dict) else None
    if not login:
        raise IntegrationError("PROVIDER_ERROR", "GET /user: the answer names no user")
    return f"signed in as {login}"


async def repositories(api: HostApi, resource_type: str, pages: int = MAX_PAGES) -> list[Resource]:
    """The repositories (GitLab: projects) the token can see, as `resource_type` resources."""
    if api.kind == "gitlab":
        found = await api.listing(
            "/projects", {"membership": "true", "per_page": "100"}, pages=pages
        )
        return [
            Resource(
                type=resource_type,
                name=str(project.get("path_with_namespace")),
                id=str(project.get("id")),
                url=project.get("web_url"),
                details=_pick(project, "visibility", "default_branch", "archived"),
            )
            for project in found
        ]
    if api.is_installation:
        found = await api.listing(
            "/installation/repositories", {"per_page": "100"}, key="repositories", pages=pages
        )
    elif api.kind == "github":
        found = await api.listing("/user/repos", {"per_page": "100"}, pages=pages)
    else:
        found = await api.listing("/user/repos", {"limit": "50"}, pages=pages)
    return [
        Resource(
            type=resource_type,
            name=str(repo.get("full_name")),
            id=str(repo.get("id")),
            url=repo.get("html_url"),
            details=_pick(repo, "private", "default_branch", "archived"),
        )
        for repo in found
    ]


def _pick(item: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {name: item[name] for name in names if name in item}


class ScmConnector:
    """A Git host account: checked and listed through its REST API with the token."""

    def __init__(self, context: ConnectorContext, kind: HostKind) -> None:
        self._context = context
        self._kind = kind

    async def api(self) -> HostApi:
        token = await self._context.require_credential("an access token")
        endpoint = self._context.endpoint()
        return HostApi(
            self._kind,
            api_base(self._kind, endpoint),
            token,
            self._context.http,
            self._context.config.timeout,
        )

    async def check(self, level: CheckLevel) -> str:
        if level == "connectivity":
            config = self._context.config
            return await reachable(
                self._kind, self._context.endpoint(), self._context.http, config.timeout
            )
        api = await self.api()
        if level == "authentication":
            return await whoami(api)
        found = await repositories(api, "repositories", pages=1)
        return f"lists {len(found)} repositories on its first page"

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        if resource_type not in ("projects", "repositories"):
            raise IntegrationError("UNSUPPORTED", f"cannot discover {resource_type!r}")
        return await repositories(await self.api(), resource_type)


def _connect(kind: HostKind) -> Callable[[ConnectorContext], Connector]:
    def connect(context: ConnectorContext) -> Connector:
        return ScmConnector(context, kind)

    return connect


_RESOURCES = ("projects", "repositories")

GITHUB = ProviderSpec(
    name="github",
    type="scm",
    title="GitHub",
    config=GitHubHostConfig,
    connect=_connect("github"),
    resource_types=_RESOURCES,
)
GITLAB = ProviderSpec(
    name="gitlab",
    type="scm",
    title="GitLab",
    config=GitLabHostConfig,
    connect=_connect("gitlab"),
    resource_types=_RESOURCES,
)
GITEA = ProviderSpec(
    name="gitea",
    type="scm",
    title="Gitea / Forgejo",
    config=GiteaHostConfig,
    connect=_connect("gitea"),
    resource_types=_RESOURCES,
)

PROVIDERS = (GITHUB, GITLAB, GITEA)
