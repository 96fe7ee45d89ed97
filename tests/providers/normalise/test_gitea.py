"""Gitea (and Forgejo) payloads to Events, from the hand-written samples in tests/samples/gitea."""

from __future__ import annotations

from typing import Any

import pytest

from providers.events import (
    Actor,
    Comment,
    Event,
    EventKind,
    PullRequest,
    Release,
    Repository,
)
from providers.normalise import PayloadShapeError, normalise
from tests.support.samples import load_sample, sample_names
from tests.support.shapes import OddShapes

A = "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5"
B = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
H = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
WEB = "https://gitea.example.com/harbour/shipyard-demo"
REPO = Repository(
    full_name="harbour/shipyard-demo",
    id=3,
    web_url=WEB,
    clone_url=f"{WEB}.git",
    default_branch="main",
)
MIRA = Actor(login="mira", id=1)
ANA = Actor(login="ana", id=2)

# Each sample and the X-Gitea-Event it is delivered with.
SAMPLE_EVENTS = {
    "push": "push",
    "push-tag": "push",
    "push-branch-deleted": "push",
    "pull-request-opened": "pull_request",
    "pull-request-opened-fork": "pull_request",
    "pull-request-merged": "pull_request",
    "pull-request-comment": "pull_request_comment",
    "issue-comment-pr": "issue_comment",
    "issue-comment-issue": "issue_comment",
    "release": "release",
    "create-tag": "create",
}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = load_sample("gitea", name)
    return data


def gitea(event_name: str, payload: Any) -> Event:
    return normalise("gitea", event_name, payload, delivery_id="d-1")


def expected(kind: EventKind, name: str, **fields: Any) -> Event:
    defaults: dict[str, Any] = {"repository": REPO, "actor": MIRA}
    return Event(provider="gitea", delivery_id="d-1", kind=kind, name=name, **defaults | fields)


def test_every_sample_is_listed_with_its_event() -> None:
    assert sample_names("gitea") == sorted(SAMPLE_EVENTS)


def test_push_to_a_branch() -> None:
    assert gitea("push", load("push")) == expected(
        EventKind.PUSH, "push", ref="refs/heads/main", branch="main", sha=A, before=B
    )


def test_push_of_a_new_tag_is_kind_tag() -> None:
    assert gitea("push", load("push-tag")) == expected(
        EventKind.TAG, "push", action="created", ref="refs/tags/v1.2.0", tag="v1.2.0", sha=A
    )


def test_branch_deletion_is_a_push_with_no_sha() -> None:
    assert gitea("push", load("push-branch-deleted")) == expected(
        EventKind.PUSH,
        "push",
        action="deleted",
        ref="refs/heads/feature/old",
        branch="feature/old",
        before=B,
    )


def test_forgejo_uses_the_gitea_payloads_and_keeps_its_name() -> None:
    event = normalise("forgejo", "push", load("push"), delivery_id="d-1")
    assert event == gitea("push", load("push")).model_copy(update={"provider": "forgejo"})
    assert event.provider == "forgejo"


def test_pull_request_opened_in_the_same_repository() -> None:
    assert gitea("pull_request", load("pull-request-opened")) == expected(
        EventKind.PULL_REQUEST,
        "pull_request",
        action="opened",
        sha=H,
        pull_request=PullRequest(
            number=5,
            title="Add login page",
            head_ref="feature/login",
            head_sha=H,
            base_ref="main",
            state="open",
            draft=None,  # this Gitea does not say
            merged=False,
            url=f"{WEB}/pulls/5",
            from_fork=False,
        ),
    )


def test_pull_request_opened_from_a_fork() -> None:
    pr = gitea("pull_request", load("pull-request-opened-fork")).pull_request
    assert pr is not None
    assert (pr.number, pr.title, pr.from_fork) == (6, "Fix typo", True)


def test_pull_request_merged() -> None:
    event = gitea("pull_request", load("pull-request-merged"))
    assert event.action == "closed"
    assert event.pull_request is not None
    assert (event.pull_request.state, event.pull_request.merged) == ("closed", True)


@pytest.mark.parametrize(
    "event_name",
    [
        "pull_request_assign",
        "pull_request_label",
        "pull_request_review_approved",
        "pull_request_sync",
    ],
)
def test_pull_request_variants_are_pull_requests(event_name: str) -> None:
    event = gitea(event_name, load("pull-request-opened"))
    assert (event.kind, event.name) == (EventKind.PULL_REQUEST, event_name)
    assert event.pull_request is not None
    assert event.pull_request.number == 5


@pytest.mark.parametrize(
    ("sample", "event_name", "comment_id"),
    [
        ("pull-request-comment", "pull_request_comment", 61),
        ("issue-comment-pr", "issue_comment", 62),
    ],
)
def test_comment_on_a_pull_request(sample: str, event_name: str, comment_id: int) -> None:
    assert gitea(event_name, load(sample)) == expected(
        EventKind.COMMENT,
        event_name,
        action="created",
        actor=ANA,
        comment=Comment(
            id=comment_id,
            body="/deploy staging",
            author=ANA,
            url=f"{WEB}/pulls/5#issuecomment-{comment_id}",
            on_pull_request=True,
        ),
        pull_request=PullRequest(
            number=5, title="Add login page", state="open", merged=False, url=f"{WEB}/pulls/5"
        ),
    )


def test_older_issue_comment_without_is_pull_reads_the_link() -> None:
    payload = load("issue-comment-pr")
    del payload["is_pull"]
    comment = gitea("issue_comment", payload).comment
    assert comment is not None
    assert comment.on_pull_request is True


def test_issue_comment_on_an_issue_has_no_pull_request() -> None:
    event = gitea("issue_comment", load("issue-comment-issue"))
    assert event.kind is EventKind.COMMENT
    assert event.pull_request is None
    assert event.comment is not None
    assert (event.comment.id, event.comment.on_pull_request) == (63, False)


def test_release() -> None:
    assert gitea("release", load("release")) == expected(
        EventKind.RELEASE,
        "release",
        action="published",
        tag="v1.2.0",
        release=Release(tag="v1.2.0", name="v1.2.0 — Harbour", draft=False, prerelease=False),
    )


def test_create_of_a_tag_is_other_because_the_push_carries_it() -> None:
    assert gitea("create", load("create-tag")) == expected(
        EventKind.OTHER, "create", tag="v1.2.0", sha=A
    )


@pytest.mark.parametrize("event_name", ["issues", "fork", "repository", "wiki", "ping"])
def test_other_events_are_other(event_name: str) -> None:
    event = gitea(event_name, load("push"))
    assert (event.kind, event.name, event.sha) == (EventKind.OTHER, event_name, None)
    assert event.repository == REPO


def test_package_event() -> None:
    event = gitea("package", {"action": "created", "package": {"id": 1}, "sender": {"id": 1}})
    assert (event.kind, event.action, event.actor) == (EventKind.PACKAGE, "created", Actor(id=1))


# --- malformed payloads ----------------------------------------------------------------------


@pytest.mark.parametrize("payload", [[], "push", 3, None])
def test_payload_that_is_not_an_object(payload: Any) -> None:
    with pytest.raises(PayloadShapeError, match=r"gitea 'push' payload must be a JSON object"):
        gitea("push", payload)


def test_forgejo_errors_name_forgejo() -> None:
    with pytest.raises(PayloadShapeError, match=r"forgejo 'push' payload: payload.ref "):
        normalise("forgejo", "push", {"ref": ["refs/heads/main"]}, delivery_id="d-1")


@pytest.mark.parametrize(
    ("event_name", "change", "field"),
    [
        ("push", {"repository": "harbour/shipyard-demo"}, "payload.repository"),
        ("pull_request", {"pull_request": {"number": {}}}, "payload.pull_request.number"),
        ("pull_request", {"number": 5.0}, "payload.number"),
        ("issue_comment", {"is_pull": "true"}, "payload.is_pull"),
        ("issue_comment", {"comment": {"user": {"id": True}}}, "payload.comment.user.id"),
        ("release", {"release": {"prerelease": 0}}, "payload.release.prerelease"),
    ],
)
def test_wrong_types_name_the_event_and_field(
    event_name: str, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(PayloadShapeError, match=rf"gitea {event_name!r} payload: {field} "):
        gitea(event_name, change)


def test_unknown_provider_is_a_plain_value_error() -> None:
    with pytest.raises(ValueError, match="unknown provider 'gogs'") as raised:
        normalise("gogs", "push", load("push"), delivery_id="d-1")
    assert not isinstance(raised.value, PayloadShapeError)


EVENT_NAMES = sorted(
    {*SAMPLE_EVENTS.values(), "delete", "pull_request_review", "package", "issues"}
)
SHAPES = OddShapes("gitea", SAMPLE_EVENTS, EVENT_NAMES, load)


def test_odd_value_at_any_field_gives_an_event_or_a_shape_error() -> None:
    SHAPES.check_odd_value_at_any_field()


def test_any_sample_under_any_event_name_gives_an_event_or_a_shape_error() -> None:
    SHAPES.check_any_sample_under_any_event_name()


def test_random_objects_give_an_event_or_a_shape_error() -> None:
    SHAPES.check_random_objects()
