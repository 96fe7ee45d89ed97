"""The Git hosts' CI as integrations: GitHub Actions, GitLab CI and Gitea (Forgejo) Actions.

A build starts and is read through the provider layer (`providers.registry.create_provider`,
a client built from the integration's endpoint and token, closed after each call), exactly as
`trigger_ci` does with the run's own host. `repository` is the default repository; a trigger
may name another. A run id is `<repository>#<run>` (a bare run id is read in the default
repository). GitLab has one pipeline per project: the workflow a trigger names is ignored.

Discovering "pipelines" lists the repository's workflows (GitHub, Gitea: `GET …/actions/
workflows`) or its recent pipelines (GitLab: `GET /projects/:id/pipelines`), through the
same REST door as the SCM integrations.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

from pydantic import field_validator

from app.integrations.ci.base import RUN_STATUS
from app.integrations.connector import Connector, ConnectorContext, Resource
from app.integrations.errors import Code, IntegrationError
from app.integrations.kinds import CheckLevel
from app.integrations.scm import (
    GiteaHostConfig,
    GitHubHostConfig,
    GitLabHostConfig,
    HostApi,
    HostKind,
    api_base,
    reachable,
    repositories,
    web_root,
)
from app.integrations.spec import ProviderSpec
from app.secrets.masker import Masker
from providers import errors
from providers.base import Provider
from providers.gitea import GiteaConfig
from providers.github import GitHubConfig
from providers.github.translate import repo_path
from providers.gitlab import GitLabConfig
from providers.gitlab.translate import project_path
from providers.registry import HostConfigs, create_provider
from providers.vocabulary import Repo, WorkflowRun
from steps.integrations import CiRun, CiTrigger

__all__ = [
    "GITEA_ACTIONS",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "PROVIDERS",
    "GitHubActionsConfig",
    "GitLabCiConfig",
    "GiteaActionsConfig",
    "HostCiConnector",
    "integration_error",
]

_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+")
RECENT_PIPELINES = 20  # GitLab: how many of the newest pipelines discovery lists


def _repository(value: str | None) -> str | None:
    if value is not None and not _REPOSITORY.fullmatch(value):
        raise ValueError(f"repository {value!r} is not owner/name (GitLab: group/…/project)")
    return value


class GitHubActionsConfig(GitHubHostConfig):
    repository: str | None = None

    check_repository = field_validator("repository")(_repository)


class GitLabCiConfig(GitLabHostConfig):
    repository: str | None = None

    check_repository = field_validator("repository")(_repository)


class GiteaActionsConfig(GiteaHostConfig):
    repository: str | None = None

    check_repository = field_validator("repository")(_repository)


def host_configs(kind: HostKind, endpoint: str, token: str) -> HostConfigs:
    """The provider layer's configs for one host, from the integration's endpoint and token."""
    mask = Masker()
    if kind == "github":
        return HostConfigs(mask, github=GitHubConfig(api_url=endpoint, token=token))
    if kind == "gitlab":
        return HostConfigs(mask, gitlab=GitLabConfig(url=web_root(kind, endpoint), token=token))
    return HostConfigs(mask, gitea=GiteaConfig(url=web_root(kind, endpoint), token=token))


_CODES: tuple[tuple[type[errors.ProviderError], Code], ...] = (
    (errors.AuthenticationFailed, "AUTHENTICATION_FAILED"),
    (errors.Forbidden, "PERMISSION_DENIED"),
    (errors.NotFound, "RESOURCE_NOT_FOUND"),
    (errors.ValidationFailed, "INVALID_CONFIG"),  # the host refused what was asked of it
    (errors.RateLimited, "RATE_LIMITED"),
    (errors.TransportError, "CONNECTION_REFUSED"),
    (errors.Unsupported, "UNSUPPORTED"),
    (errors.NotConfigured, "INVALID_CONFIG"),
)


def integration_error(error: errors.ProviderError) -> IntegrationError:
    """A provider error in the hub's taxonomy (its message is masked by the client)."""
    code: Code = next((c for kind, c in _CODES if isinstance(error, kind)), "PROVIDER_ERROR")
    after = None
    if isinstance(error, errors.RateLimited):
        after = max(0.0, error.retry_at - time.time())
    return IntegrationError(code, str(error), retry_after=after)


class HostCiConnector:
    """One host's CI, reached with the integration's token."""

    def __init__(self, context: ConnectorContext, kind: HostKind) -> None:
        self._context = context
        self._kind = kind

    @contextlib.asynccontextmanager
    async def _provider(self) -> AsyncIterator[Provider]:
        token = await self._context.require_credential("an access token")
        provider = create_provider(
            self._kind, host_configs(self._kind, self._context.endpoint(), token)
        )
        try:
            yield provider
        except errors.ProviderError as error:
            raise integration_error(error) from None
        finally:
            await provider.aclose()

    async def _api(self) -> HostApi:
        token = await self._context.require_credential("an access token")
        endpoint = self._context.endpoint()
        base = api_base(self._kind, endpoint)
        return HostApi(self._kind, base, token, self._context.http, self._context.config.timeout)

    def _default(self) -> str | None:
        value = getattr(self._context.config, "repository", None)
        return value if isinstance(value, str) else None

    def _repo(self, repository: str | None) -> Repo:
        name = repository or self._default()
        if not name:
            raise IntegrationError(
                "INVALID_CONFIG",
                "names no repository: set the integration's repository, or give one",
            )
        return Repo(name)

    def _run_id(self, run_id: str) -> tuple[Repo, str]:
        repository, hash_sign, number = run_id.partition("#")
        if not hash_sign:
            return self._repo(None), run_id
        return self._repo(repository), number

    def _ci_run(self, repo: Repo, run: WorkflowRun) -> CiRun:
        return CiRun(
            integration=self._context.name,
            id=f"{repo.full_name}#{run.id}",
            status=RUN_STATUS[run.status],
            url=run.url,
            conclusion=run.conclusion,
        )

    async def trigger(self, request: CiTrigger) -> CiRun:
        """Dispatch the workflow (GitLab: run the pipeline) at `ref`, else at the repository's
        default branch, with `inputs` (GitLab: as variables)."""
        repo = self._repo(request.repository)
        async with self._provider() as provider:
            ref = request.ref or await provider.default_branch(repo)
            run = await provider.trigger_workflow(repo, request.job, ref, dict(request.inputs))
        return self._ci_run(repo, run)

    async def read(self, run_id: str) -> CiRun:
        repo, number = self._run_id(run_id)
        async with self._provider() as provider:
            run = await provider.get_workflow_run(repo, number)
        return self._ci_run(repo, run)

    async def check(self, level: CheckLevel) -> str:
        if level == "connectivity":
            return await reachable(
                self._kind,
                self._context.endpoint(),
                self._context.http,
                self._context.config.timeout,
            )
        if level == "authentication":
            async with self._provider() as provider:
                identity = await provider.identity()
            return f"signed in as {identity.login}"
        default = self._default()
        if default is None:
            found = await repositories(await self._api(), "repositories", pages=1)
            return f"lists {len(found)} repositories (no default repository: steps name one)"
        async with self._provider() as provider:
            branch = await provider.default_branch(Repo(default))
        return f"reads {default} (default branch {branch})"

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        """The repository's workflows, or (GitLab) its newest pipelines; `scope` may name
        another repository than the default."""
        if resource_type != "pipelines":
            raise IntegrationError("UNSUPPORTED", f"cannot discover {resource_type!r}")
        repo = self._repo(scope.get("repository"))
        api = await self._api()
        if self._kind == "gitlab":
            found = await api.listing(
                f"{project_path(repo)}/pipelines",
                {"per_page": str(RECENT_PIPELINES)},
                pages=1,
            )
            return [_pipeline(repo, pipeline) for pipeline in found]
        params = {"per_page": "100"} if self._kind == "github" else {}
        found = await api.listing(
            f"{repo_path(repo)}/actions/workflows", params, key="workflows", pages=1
        )
        return [_workflow(workflow) for workflow in found]


def _workflow(workflow: Mapping[str, Any]) -> Resource:
    """A workflow, named by its file (what `trigger_ci`'s `workflow` takes)."""
    path = str(workflow.get("path") or "")
    name = PurePosixPath(path.partition("@")[0]).name or str(workflow.get("name"))
    details = {key: workflow[key] for key in ("name", "path", "state") if key in workflow}
    return Resource(
        type="pipelines",
        name=name,
        id=str(workflow.get("id")),
        url=workflow.get("html_url"),
        details=details,
    )


def _pipeline(repo: Repo, pipeline: Mapping[str, Any]) -> Resource:
    """A pipeline, its id as a run id `wait_ci` takes."""
    keys = ("status", "ref", "sha", "source", "created_at")
    return Resource(
        type="pipelines",
        name=f"#{pipeline.get('id')} on {pipeline.get('ref')}",
        id=f"{repo.full_name}#{pipeline.get('id')}",
        url=pipeline.get("web_url"),
        details={key: pipeline[key] for key in keys if key in pipeline},
    )


def _connect(kind: HostKind) -> Callable[[ConnectorContext], Connector]:
    def connect(context: ConnectorContext) -> Connector:
        return HostCiConnector(context, kind)

    return connect


GITHUB_ACTIONS = ProviderSpec(
    name="github-actions",
    type="ci",
    title="GitHub Actions",
    config=GitHubActionsConfig,
    connect=_connect("github"),
    resource_types=("pipelines",),
)
GITLAB_CI = ProviderSpec(
    name="gitlab-ci",
    type="ci",
    title="GitLab CI/CD",
    config=GitLabCiConfig,
    connect=_connect("gitlab"),
    resource_types=("pipelines",),
)
GITEA_ACTIONS = ProviderSpec(
    name="gitea-actions",
    type="ci",
    title="Gitea / Forgejo Actions",
    config=GiteaActionsConfig,
    connect=_connect("gitea"),
    resource_types=("pipelines",),
)
PROVIDERS = (GITHUB_ACTIONS, GITLAB_CI, GITEA_ACTIONS)
