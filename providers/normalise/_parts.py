"""Event parts every host builds alike: refs, pushes, and the GitHub shapes Gitea copies."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Required, TypedDict, TypeVar
from urllib.parse import urlsplit

from providers.bounds import BODY_MAX, REPOSITORY_MAX, TITLE_MAX
from providers.events import (
    Actor,
    Comment,
    Deployment,
    EventKind,
    Package,
    Pipeline,
    PullRequest,
    Release,
    Repository,
)
from providers.normalise._fields import Obj

_T = TypeVar("_T")


class Parts(TypedDict, total=False):
    """What one event reader found; the host function adds provider, name, repository, actor."""

    kind: Required[EventKind]
    action: str | None
    ref: str | None
    branch: str | None
    tag: str | None
    sha: str | None
    before: str | None
    pull_request: PullRequest | None
    comment: Comment | None
    release: Release | None
    pipeline: Pipeline | None
    deployment: Deployment | None
    package: Package | None


Reader = Callable[[Obj], Parts]


def other(_: Obj) -> Parts:
    return {"kind": EventKind.OTHER}


def first(*values: _T | None) -> _T | None:
    return next((value for value in values if value is not None), None)


# --- refs and pushes --------------------------------------------------------------------------


class Ref(NamedTuple):
    ref: str | None
    branch: str | None
    tag: str | None


def full_ref(ref: str | None) -> Ref:
    """refs/heads/x is branch x, refs/tags/x is tag x; any other ref is neither."""
    if ref is not None and ref.startswith("refs/heads/"):
        return Ref(ref, ref.removeprefix("refs/heads/"), None)
    if ref is not None and ref.startswith("refs/tags/"):
        return Ref(ref, None, ref.removeprefix("refs/tags/"))
    return Ref(ref, None, None)


def short_ref(name: str | None, *, is_tag: bool | None) -> Ref:
    """A bare name the host says is a tag or a branch; the full ref only if the host gave one."""
    if name is not None and name.startswith("refs/"):
        return full_ref(name)
    if is_tag is None:
        return Ref(None, None, None)
    return Ref(None, None if is_tag else name, name if is_tag else None)


def _zero(sha: str | None) -> bool:
    return sha is not None and sha != "" and sha.strip("0") == ""


def real_sha(sha: str | None) -> str | None:
    """The sha, or None when it is empty or all zeros (the host's way of saying 'no commit')."""
    return None if not sha or _zero(sha) else sha


def push(o: Obj, *, tag_push: bool = False) -> Parts:
    """A push of any host: before/after/ref. A zero `after` deletes the ref, a zero `before`
    creates it; `sha` is then None and `action` says "deleted" or "created".

    For a tag, `sha` is the tagged commit: an annotated tag's `after` is the tag object, so the
    commit comes from `head_commit.id` (GitHub, Gitea) or `checkout_sha` (GitLab) when sent."""
    ref = full_ref(o.ref("ref"))
    before, after = o.sha("before"), o.sha("after")
    action = "deleted" if _zero(after) else "created" if _zero(before) else None
    is_tag = tag_push or ref.tag is not None
    commit = after
    if is_tag and not _zero(after):
        commit = first(o.obj("head_commit").sha("id"), o.sha("checkout_sha"), after)
    return {
        "kind": EventKind.TAG if is_tag else EventKind.PUSH,
        "action": action,
        "ref": ref.ref,
        "branch": ref.branch,
        "tag": ref.tag,
        "sha": real_sha(commit),
        "before": real_sha(before),
    }


def ref_created_or_deleted(o: Obj) -> Parts:
    """GitHub's and Gitea's `create` / `delete`: kind OTHER, on purpose.

    Every branch or tag they announce also arrives as a `push` (with the sha, and a zero
    before/after), which is what a release bot acts on. Making these `tag`/`push` too would
    start every tag release twice. The names are still filled in for anyone who looks.
    """
    ref_type = o.string("ref_type")
    ref = short_ref(o.ref("ref"), is_tag={"tag": True, "branch": False}.get(ref_type or ""))
    return {
        "kind": EventKind.OTHER,
        "ref": ref.ref,
        "branch": ref.branch,
        "tag": ref.tag,
        "sha": real_sha(o.sha("sha")),  # Gitea's create carries it; GitHub's does not
    }


# --- GitHub-shaped objects (Gitea's API copies GitHub's) ----------------------------------------


def user(o: Obj | None) -> Actor | None:
    if o is None:
        return None
    return Actor(login=first(o.string("login"), o.string("username")), id=o.integer("id"))


def repository(o: Obj | None) -> Repository | None:
    if o is None:
        return None
    return Repository(
        full_name=o.string("full_name", limit=REPOSITORY_MAX),
        id=o.integer("id"),
        web_url=o.url("html_url"),
        clone_url=o.url("clone_url"),
        default_branch=o.ref("default_branch"),
    )


def pull_request(pr: Obj, *, number: int | None = None) -> PullRequest:
    head, base = pr.obj("head"), pr.obj("base")
    return PullRequest(
        number=first(pr.number("number"), number),
        title=pr.text("title", limit=TITLE_MAX),
        head_ref=head.ref("ref"),
        head_sha=head.sha("sha"),
        base_ref=base.ref("ref"),
        state=pr.string("state"),
        draft=pr.boolean("draft"),
        merged=pr.boolean("merged"),
        url=pr.url("html_url"),
        from_fork=_from_fork(head.sub("repo"), base.sub("repo")),
    )


def _from_fork(head_repo: Obj | None, base_repo: Obj | None) -> bool | None:
    head = None if head_repo is None else head_repo.string("full_name", limit=REPOSITORY_MAX)
    base = None if base_repo is None else base_repo.string("full_name", limit=REPOSITORY_MAX)
    return None if head is None or base is None else head != base


def issue_pull_request(issue: Obj) -> PullRequest:
    """A pull request seen through its issue (a comment on it): no head, base or fork."""
    links = issue.obj("pull_request")
    merged = links.boolean("merged")  # Gitea says so
    if merged is None and links.has("merged_at"):  # GitHub gives the time it was merged, or null
        merged = links.string("merged_at") is not None
    return PullRequest(
        number=issue.number("number"),
        title=issue.text("title", limit=TITLE_MAX),
        state=issue.string("state"),
        draft=first(issue.boolean("draft"), links.boolean("draft")),
        merged=merged,
        url=issue.url("html_url"),
    )


def comment(c: Obj, *, on_pull_request: bool) -> Comment:
    return Comment(
        id=c.integer("id"),
        body=c.text("body", limit=BODY_MAX),
        author=user(c.sub("user")),
        url=c.url("html_url"),
        on_pull_request=on_pull_request,
    )


def ci_run(
    run: Obj,
    *,
    pipeline_id: int | None,
    url: str | None,
    branch: str | None,
    head_repository: str | None = None,
    from_fork: bool | None = None,
) -> Parts:
    """A CI run: its status is the conclusion once it has one, else the live status.
    `branch` is GitHub's head_branch (for a run a tag started, that is the tag's name)."""
    status = first(run.string("conclusion"), run.string("status"))
    found = Pipeline(
        id=pipeline_id,
        status=status,
        url=url,
        head_repository=head_repository,
        from_fork=from_fork,
    )
    return {
        "kind": EventKind.PIPELINE,
        "pipeline": found,
        "sha": run.sha("head_sha"),
        "branch": branch,
    }


def workflow_run(p: Obj) -> Parts:
    """GitHub's `workflow_run` (Gitea from 1.24 sends its shape): the run, and whose code it
    built: a run of a fork's branch has the fork as its head repository."""
    r = p.obj("workflow_run")
    head = r.obj("head_repository").string("full_name", limit=REPOSITORY_MAX)
    base = p.obj("repository").string("full_name", limit=REPOSITORY_MAX)
    return ci_run(
        r,
        pipeline_id=r.integer("id"),
        url=r.url("html_url"),
        branch=r.ref("head_branch"),
        head_repository=head,
        from_fork=None if head is None or base is None else head != base,
    )


def image_of(owner: str | None, name: str | None) -> str | None:
    """`owner/name`, lower-cased as registries name images (GHCR, Gitea's container registry)."""
    return f"{owner}/{name}".lower() if owner and name else None


def url_host(url: str | None) -> str | None:
    """The host (and port) of a URL the payload gives; None without one."""
    try:
        return (urlsplit(url).netloc or None) if url else None
    except ValueError:  # e.g. an unclosed [IPv6] bracket
        return None


def release(o: Obj) -> Parts:
    r = o.obj("release")
    tag = r.ref("tag_name")
    found = Release(
        tag=tag,
        name=r.text("name", limit=TITLE_MAX),
        draft=r.boolean("draft"),
        prerelease=r.boolean("prerelease"),
    )
    return {"kind": EventKind.RELEASE, "tag": tag, "release": found}
