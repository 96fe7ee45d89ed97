"""Gitea and Forgejo webhooks to Events: one small reader per X-Gitea-Event name, in a table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.bounds import REPOSITORY_MAX
from providers.events import Event, EventKind, Package
from providers.normalise._fields import Obj
from providers.normalise._parts import (
    Parts,
    Reader,
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
    url_host,
    user,
    workflow_run,
)


def normalise_gitea(
    provider: str, event_name: str, payload: Mapping[str, Any], delivery_id: str
) -> Event:
    """Forgejo sends the same payloads; `provider` says which host it was."""
    p = Obj.root(payload, provider, event_name)
    parts = _READERS.get(event_name, other)(p)
    parts.setdefault("action", p.action())
    return Event(
        provider=provider,
        delivery_id=delivery_id,
        name=event_name,
        repository=repository(p.sub("repository")),
        actor=first(user(p.sub("sender")), user(p.sub("pusher"))),
        **parts,
    )


def _pull_request(p: Obj) -> Parts:
    pr = pull_request(p.obj("pull_request"), number=p.number("number"))
    return {"kind": EventKind.PULL_REQUEST, "pull_request": pr, "sha": pr.head_sha}


def _comment(p: Obj, *, on_pull_request: bool) -> Parts:
    """Seen through the issue, the pull request's head is unknown: head_ref and head_sha None."""
    issue = p.obj("issue")
    return {
        "kind": EventKind.COMMENT,
        "comment": comment(p.obj("comment"), on_pull_request=on_pull_request),
        "pull_request": issue_pull_request(issue) if on_pull_request else None,
    }


def _issue_comment(p: Obj) -> Parts:
    """`is_pull` says whether the issue is a pull request; older Gitea only links it."""
    is_pull = first(p.boolean("is_pull"), p.obj("issue").present("pull_request"))
    return _comment(p, on_pull_request=bool(is_pull))


def _pull_request_comment(p: Obj) -> Parts:
    return _comment(p, on_pull_request=True)


def _package(p: Obj) -> Parts:
    """A package `created` or `deleted`. A container image is a Package: host from the
    package's page, image owner/name; `version` is the tag, or the digest of a push by digest.
    Gitea's payload carries no digest for a tag. A deletion is kind `other`."""
    pkg = p.obj("package")
    if pkg.string("type") != "container":
        return {"kind": EventKind.PACKAGE}
    action = p.action()
    version = pkg.string("version") or None
    by_digest = version is not None and version.startswith("sha256:")
    owner = pkg.obj("owner")
    found = Package(
        host=url_host(pkg.url("html_url")),
        image=image_of(
            first(owner.string("login"), owner.string("username")),
            pkg.string("name", limit=REPOSITORY_MAX),
        ),
        tag=None if by_digest else version,
        digest=pkg.digest("version") if by_digest else None,
        action=action,
    )
    kind = EventKind.OTHER if action == "deleted" else EventKind.PACKAGE
    return {"kind": kind, "package": found}


_READERS: dict[str, Reader] = {
    "push": push,
    "create": ref_created_or_deleted,
    "delete": ref_created_or_deleted,
    "release": release,
    "issue_comment": _issue_comment,
    "pull_request_comment": _pull_request_comment,
    "package": _package,
    "workflow_run": workflow_run,
    # Every other pull_request_* event carries the pull request itself.
    **dict.fromkeys(
        (
            "pull_request",
            "pull_request_assign",
            "pull_request_label",
            "pull_request_milestone",
            "pull_request_review",
            "pull_request_review_approved",
            "pull_request_review_rejected",
            "pull_request_review_comment",
            "pull_request_review_request",
            "pull_request_sync",
        ),
        _pull_request,
    ),
}
