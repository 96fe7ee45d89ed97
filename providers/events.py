"""The normalised event: one vocabulary for what GitHub, GitLab and Gitea tell Shipyard."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class EventKind(StrEnum):
    PUSH = "push"
    TAG = "tag"
    PULL_REQUEST = "pull_request"
    COMMENT = "comment"
    RELEASE = "release"
    PIPELINE = "pipeline"
    DEPLOYMENT = "deployment"
    PACKAGE = "package"
    INSTALLATION = "installation"
    PING = "ping"
    OTHER = "other"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Repository(_Frozen):
    full_name: str | None = None
    id: int | None = None
    web_url: str | None = None
    clone_url: str | None = None
    default_branch: str | None = None


class Actor(_Frozen):
    login: str | None = None
    id: int | None = None


class PullRequest(_Frozen):
    number: int | None = None  # GitLab: the merge request's iid
    title: str | None = None
    head_ref: str | None = None
    head_sha: str | None = None
    base_ref: str | None = None
    state: str | None = None
    draft: bool | None = None
    merged: bool | None = None
    url: str | None = None
    from_fork: bool | None = None


class Comment(_Frozen):
    id: int | None = None
    body: str | None = None
    author: Actor | None = None
    url: str | None = None
    on_pull_request: bool = False


class Release(_Frozen):
    tag: str | None = None
    name: str | None = None
    draft: bool | None = None
    prerelease: bool | None = None


class Pipeline(_Frozen):
    id: int | None = None
    status: str | None = None
    url: str | None = None
    # Whose code the run built: None when the payload does not say. A run of a fork's branch
    # (GitHub's workflow_run from a fork, GitLab's merge-request pipeline from a fork) is
    # `from_fork`, whatever its branch is called.
    head_repository: str | None = None
    from_fork: bool | None = None


class Package(_Frozen):
    """An image pushed to a container registry (a registry's notification, GitHub's
    `package` / `registry_package`). `image` is the repository path without the host."""

    host: str | None = None  # the registry's host (and port), as clients address it
    image: str | None = None  # e.g. "acme/web"
    tag: str | None = None
    digest: str | None = None  # "sha256:…", of the manifest (or index) pushed
    media_type: str | None = None
    action: str | None = None  # "push", "pull", "delete", GitHub's "published"…


class Deployment(_Frozen):
    id: int | None = None
    environment: str | None = None
    ref: str | None = None  # as the host names it: a branch, a tag or a sha
    status: str | None = None
    url: str | None = None  # the page the host links for it (log or job page)


class Event(_Frozen):
    """What a delivery means, whichever host sent it. A field the payload lacks is None."""

    provider: str
    delivery_id: str
    kind: EventKind
    name: str  # the host's own event name, e.g. "pull_request" or "Merge Request Hook"
    action: str | None = None
    repository: Repository | None = None
    ref: str | None = None
    branch: str | None = None
    tag: str | None = None
    sha: str | None = None
    before: str | None = None
    actor: Actor | None = None
    pull_request: PullRequest | None = None
    comment: Comment | None = None
    release: Release | None = None
    pipeline: Pipeline | None = None
    deployment: Deployment | None = None
    package: Package | None = None
    installation_id: int | None = None
