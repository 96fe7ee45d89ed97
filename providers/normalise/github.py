"""GitHub webhooks to Events: one small reader per X-GitHub-Event name, looked up in a table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.bounds import REPOSITORY_MAX
from providers.events import Actor, Deployment, Event, EventKind, Package, Pipeline
from providers.normalise._fields import Obj
from providers.normalise._parts import (
    Parts,
    Reader,
    ci_run,
    comment,
    first,
    image_of,
    issue_pull_request,
    other,
    pull_request,
    push,
    ref_created_or_deleted,
    release,
    repository,
    user,
    workflow_run,
)


def normalise_github(
    provider: str, event_name: str, payload: Mapping[str, Any], delivery_id: str
) -> Event:
    p = Obj.root(payload, provider, event_name)
    parts = _READERS.get(event_name, other)(p)
    parts.setdefault("action", p.action())
    return Event(
        provider=provider,
        delivery_id=delivery_id,
        name=event_name,
        repository=repository(p.sub("repository")),
        actor=first(user(p.sub("sender")), _pusher(p.sub("pusher"))),
        installation_id=p.obj("installation").integer("id"),
        **parts,
    )


def _pusher(o: Obj | None) -> Actor | None:
    """Old push payloads name the pusher ({name, email}) and have no sender."""
    return None if o is None else Actor(login=o.string("name"))


def _pull_request(p: Obj) -> Parts:
    pr = pull_request(p.obj("pull_request"), number=p.number("number"))
    return {"kind": EventKind.PULL_REQUEST, "pull_request": pr, "sha": pr.head_sha}


def _issue_comment(p: Obj) -> Parts:
    """A comment on an issue, or on a pull request when the issue has a `pull_request` link.
    Seen through the issue, the pull request's head is unknown: head_ref and head_sha are None."""
    issue = p.obj("issue")
    on_pr = issue.present("pull_request")
    return {
        "kind": EventKind.COMMENT,
        "comment": comment(p.obj("comment"), on_pull_request=on_pr),
        "pull_request": issue_pull_request(issue) if on_pr else None,
    }


def _review_comment(p: Obj) -> Parts:
    pr = pull_request(p.obj("pull_request"))
    found = comment(p.obj("comment"), on_pull_request=True)
    return {"kind": EventKind.COMMENT, "comment": found, "pull_request": pr, "sha": pr.head_sha}


def _commit_comment(p: Obj) -> Parts:
    c = p.obj("comment")
    found = comment(c, on_pull_request=False)
    return {"kind": EventKind.COMMENT, "comment": found, "sha": c.sha("commit_id")}


def _workflow_job(p: Obj) -> Parts:
    """A job of a workflow run: the pipeline is the run (its id), the status and URL the job's."""
    j = p.obj("workflow_job")
    return ci_run(
        j, pipeline_id=j.integer("run_id"), url=j.url("html_url"), branch=j.ref("head_branch")
    )


def _check_suite(p: Obj) -> Parts:
    s = p.obj("check_suite")
    return ci_run(s, pipeline_id=s.integer("id"), url=None, branch=s.ref("head_branch"))


def _check_run(p: Obj) -> Parts:
    r = p.obj("check_run")
    branch = r.obj("check_suite").ref("head_branch")
    return ci_run(r, pipeline_id=r.integer("id"), url=r.url("html_url"), branch=branch)


def _status(p: Obj) -> Parts:
    found = Pipeline(id=p.integer("id"), status=p.string("state"), url=p.url("target_url"))
    return {"kind": EventKind.PIPELINE, "pipeline": found, "sha": p.sha("sha")}


def _package(key: str) -> Reader:
    """`package` and `registry_package` (published, updated). A container image on GHCR is a
    Package: host ghcr.io, image owner/name lower-cased (as GHCR names it), the tag and the
    digest it points at. Other ecosystems (npm, Maven, NuGet…) are kind `package` without one.
    The shape (GitHub's webhook docs; its REST description's webhook-registry-package-*):
    {package_type: CONTAINER, name, namespace, owner{login}, package_version{version: the
    digest, container_metadata{tag{name, digest}}}}; `name` is "" for an untagged version."""

    def read(p: Obj) -> Parts:
        pkg = p.obj(key)
        if (first(pkg.string("package_type"), pkg.string("ecosystem")) or "").lower() != (
            "container"
        ):
            return {"kind": EventKind.PACKAGE}
        version = pkg.obj("package_version")
        tag = version.obj("container_metadata").obj("tag")
        versioned = version.string("version") or ""
        owner = first(pkg.obj("owner").string("login"), pkg.string("namespace"))
        found = Package(
            host="ghcr.io",
            image=image_of(owner, pkg.string("name", limit=REPOSITORY_MAX)),
            tag=tag.ref("name") or None,
            digest=first(
                tag.digest("digest"), version.digest("version") if ":" in versioned else None
            ),
            action=p.action(),
        )
        return {"kind": EventKind.PACKAGE, "package": found}

    return read


def _deployment(p: Obj) -> Parts:
    """`deployment` and `deployment_status`: the latter adds the state and its log URL."""
    d, s = p.obj("deployment"), p.obj("deployment_status")
    found = Deployment(
        id=d.integer("id"),
        environment=first(s.string("environment"), d.string("environment")),
        ref=d.ref("ref"),
        status=s.string("state"),
        url=first(s.url("log_url"), s.url("target_url")),
    )
    return {"kind": EventKind.DEPLOYMENT, "deployment": found, "sha": d.sha("sha")}


def _just(kind: EventKind) -> Reader:
    return lambda _: {"kind": kind}


_READERS: dict[str, Reader] = {
    "push": push,
    "create": ref_created_or_deleted,
    "delete": ref_created_or_deleted,
    "pull_request": _pull_request,
    "pull_request_review": _pull_request,
    "pull_request_review_thread": _pull_request,
    "issue_comment": _issue_comment,
    "pull_request_review_comment": _review_comment,
    "commit_comment": _commit_comment,
    "release": release,
    "workflow_run": workflow_run,
    "workflow_job": _workflow_job,
    "check_suite": _check_suite,
    "check_run": _check_run,
    "status": _status,
    "deployment": _deployment,
    "deployment_status": _deployment,
    "package": _package("package"),
    "registry_package": _package("registry_package"),
    "installation": _just(EventKind.INSTALLATION),
    "installation_repositories": _just(EventKind.INSTALLATION),
    "installation_target": _just(EventKind.INSTALLATION),
    "integration_installation": _just(EventKind.INSTALLATION),
    "integration_installation_repositories": _just(EventKind.INSTALLATION),
    "ping": _just(EventKind.PING),
}
