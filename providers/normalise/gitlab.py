"""GitLab webhooks to Events: one small reader per X-Gitlab-Event name, looked up in a table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.bounds import BODY_MAX, REPOSITORY_MAX, TITLE_MAX
from providers.events import (
    Actor,
    Comment,
    Deployment,
    Event,
    EventKind,
    Pipeline,
    PullRequest,
    Release,
    Repository,
)
from providers.normalise._fields import Obj
from providers.normalise._parts import Parts, Reader, first, other, push, real_sha, short_ref


def normalise_gitlab(
    provider: str, event_name: str, payload: Mapping[str, Any], delivery_id: str
) -> Event:
    p = Obj.root(payload, provider, event_name)
    parts = _READERS.get(event_name, other)(p)
    return Event(
        provider=provider,
        delivery_id=delivery_id,
        name=event_name,
        repository=_repository(p),
        actor=_actor(p),
        **parts,
    )


def _repository(p: Obj) -> Repository | None:
    """From `project`; older payloads only have `repository` (name, url, homepage) and
    `project_id`. Its `name` is not the full path, so full_name stays None then."""
    project, legacy = p.obj("project"), p.obj("repository")
    if not any(p.present(key) for key in ("project", "repository", "project_id")):
        return None
    return Repository(
        full_name=project.string("path_with_namespace", limit=REPOSITORY_MAX),
        id=first(project.integer("id"), p.integer("project_id")),
        web_url=first(project.url("web_url"), legacy.url("homepage")),
        clone_url=first(project.url("git_http_url"), legacy.url("git_http_url")),
        default_branch=project.ref("default_branch"),
    )


def _actor(p: Obj) -> Actor | None:
    """`user` (username, id); push hooks say user_username and user_id instead."""
    user = p.obj("user")
    login = first(user.string("username"), p.string("user_username"))
    user_id = first(user.integer("id"), p.integer("user_id"))
    return None if login is None and user_id is None else Actor(login=login, id=user_id)


def _push(p: Obj) -> Parts:
    return push(p)


def _tag_push(p: Obj) -> Parts:
    return push(p, tag_push=True)


def _merge_request(mr: Obj) -> PullRequest:
    """From a merge request's attributes (a Merge Request Hook's object_attributes, or the
    merge_request of a note or a pipeline). The number is the iid, as in the MR's URL."""
    source, target = mr.integer("source_project_id"), mr.integer("target_project_id")
    state = mr.string("state")
    return PullRequest(
        number=mr.number("iid"),
        title=mr.text("title", limit=TITLE_MAX),
        head_ref=mr.ref("source_branch"),
        head_sha=mr.obj("last_commit").sha("id"),
        base_ref=mr.ref("target_branch"),
        state=state,
        draft=first(mr.boolean("draft"), mr.boolean("work_in_progress")),
        merged=None if state is None else state == "merged",
        url=mr.url("url"),
        from_fork=None if source is None or target is None else source != target,
    )


def _merge_request_hook(p: Obj) -> Parts:
    """`action` keeps GitLab's word: open, update, merge, close, reopen, approved... On an
    `update` that pushed commits GitLab adds `oldrev`, the previous head: that is `before`."""
    attributes = p.obj("object_attributes")
    pr = _merge_request(attributes)
    return {
        "kind": EventKind.PULL_REQUEST,
        "action": attributes.action(),
        "pull_request": pr,
        "sha": pr.head_sha,
        "before": attributes.sha("oldrev"),
    }


def _note(p: Obj) -> Parts:
    """A comment; on a merge request when noteable_type says so (else an issue, commit or
    snippet: then pull_request is None)."""
    note = p.obj("object_attributes")
    noteable = note.string("noteable_type")
    on_mr = noteable == "MergeRequest"
    pr = _merge_request(p.obj("merge_request")) if on_mr else None
    found = Comment(
        id=note.integer("id"),
        body=note.text("note", limit=BODY_MAX),
        author=_actor(p),
        url=note.url("url"),
        on_pull_request=on_mr,
    )
    commit = p.obj("commit").sha("id") if noteable == "Commit" else None
    return {
        "kind": EventKind.COMMENT,
        "action": note.action(),
        "comment": found,
        "pull_request": pr,
        "sha": pr.head_sha if pr is not None else commit,
    }


def _pipeline(p: Obj) -> Parts:
    """The pipeline's own URL only when GitLab sends one (older hooks do not). A merge
    request's pipeline is `from_fork` when the request's source project is not its target;
    a branch or tag pipeline of the project itself is not (and built the project's code)."""
    attributes = p.obj("object_attributes")
    ref = short_ref(attributes.ref("ref"), is_tag=attributes.boolean("tag"))
    merge_request = p.sub("merge_request")
    from_fork: bool | None = False
    if merge_request is not None:
        source = merge_request.integer("source_project_id")
        target = merge_request.integer("target_project_id")
        from_fork = None if source is None or target is None else source != target
    project = p.obj("project").string("path_with_namespace", limit=REPOSITORY_MAX)
    found = Pipeline(
        id=attributes.integer("id"),
        status=attributes.string("status"),
        url=attributes.url("url"),
        head_repository=None if from_fork is not False else project,
        from_fork=from_fork,
    )
    return {
        "kind": EventKind.PIPELINE,
        "pipeline": found,
        "ref": ref.ref,
        "branch": ref.branch,
        "tag": ref.tag,
        "sha": real_sha(attributes.sha("sha")),
        "before": real_sha(attributes.sha("before_sha")),
        "pull_request": None if merge_request is None else _merge_request(merge_request),
    }


def _job(p: Obj) -> Parts:
    """A job (Job Hook, formerly Build Hook): the pipeline is its pipeline_id, the status the
    job's. Old Build Hooks have no pipeline_id; then the id is None."""
    ref = short_ref(p.ref("ref"), is_tag=p.boolean("tag"))
    found = Pipeline(id=p.integer("pipeline_id"), status=p.string("build_status"))
    return {
        "kind": EventKind.PIPELINE,
        "pipeline": found,
        "ref": ref.ref,
        "branch": ref.branch,
        "tag": ref.tag,
        "sha": real_sha(p.sha("sha")),
        "before": real_sha(p.sha("before_sha")),
    }


def _deployment(p: Obj) -> Parts:
    """Only a short sha is sent (short_sha), so `sha` stays None; url is the deploying job."""
    found = Deployment(
        id=p.integer("deployment_id"),
        environment=p.string("environment"),
        ref=p.ref("ref"),
        status=p.string("status"),
        url=p.url("deployable_url"),
    )
    return {"kind": EventKind.DEPLOYMENT, "deployment": found}


def _release(p: Obj) -> Parts:
    tag = p.ref("tag")
    return {
        "kind": EventKind.RELEASE,
        "action": p.action(),
        "tag": tag,
        "sha": p.obj("commit").sha("id"),
        "release": Release(tag=tag, name=p.text("name", limit=TITLE_MAX)),
    }


_SYSTEM_EVENTS: dict[str, Reader] = {
    "push": _push,
    "tag_push": _tag_push,
    "merge_request": _merge_request_hook,
}


def _system(p: Obj) -> Parts:
    """System hooks carry many events; the payload's event_name (or object_kind) says which."""
    inner = first(p.string("event_name"), p.string("object_kind"))
    return _SYSTEM_EVENTS.get(inner or "", other)(p)


_READERS: dict[str, Reader] = {
    "Push Hook": _push,
    "Tag Push Hook": _tag_push,
    "Merge Request Hook": _merge_request_hook,
    "Note Hook": _note,
    "Confidential Note Hook": _note,
    "Pipeline Hook": _pipeline,
    "Job Hook": _job,
    "Build Hook": _job,
    "Deployment Hook": _deployment,
    "Release Hook": _release,
    "System Hook": _system,
}
