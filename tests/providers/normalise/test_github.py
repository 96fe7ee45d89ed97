"""GitHub payloads to Events, from the hand-written samples in tests/samples/github."""

from __future__ import annotations

from typing import Any

import pytest

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
from providers.normalise import PayloadShapeError, normalise
from tests.support.samples import load_sample, sample_names
from tests.support.shapes import OddShapes

A = "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5"
B = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
H = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
REPO = Repository(
    full_name="octo-org/shipyard-demo",
    id=1296269,
    web_url="https://github.com/octo-org/shipyard-demo",
    clone_url="https://github.com/octo-org/shipyard-demo.git",
    default_branch="main",
)
OCTOCAT = Actor(login="octocat", id=583231)
MIRA = Actor(login="mira", id=77)
PR_URL = "https://github.com/octo-org/shipyard-demo/pull/7"

# Each sample and the X-GitHub-Event it is delivered with.
SAMPLE_EVENTS = {
    "push": "push",
    "push-tag": "push",
    "push-branch-deleted": "push",
    "pull-request-opened": "pull_request",
    "pull-request-opened-fork": "pull_request",
    "pull-request-merged": "pull_request",
    "issue-comment-pr": "issue_comment",
    "issue-comment-issue": "issue_comment",
    "review-comment": "pull_request_review_comment",
    "release": "release",
    "workflow-run": "workflow_run",
    "check-run": "check_run",
    "deployment-status": "deployment_status",
    "installation": "installation",
    "ping": "ping",
    "create-tag": "create",
}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = load_sample("github", name)
    return data


def github(event_name: str, payload: Any) -> Event:
    return normalise("github", event_name, payload, delivery_id="d-1")


def expected(kind: EventKind, name: str, **fields: Any) -> Event:
    defaults: dict[str, Any] = {"repository": REPO, "actor": OCTOCAT, "installation_id": 4242}
    return Event(provider="github", delivery_id="d-1", kind=kind, name=name, **defaults | fields)


def test_every_sample_is_listed_with_its_event() -> None:
    assert sample_names("github") == sorted(SAMPLE_EVENTS)


def test_push_to_a_branch() -> None:
    assert github("push", load("push")) == expected(
        EventKind.PUSH, "push", ref="refs/heads/main", branch="main", sha=A, before=B
    )


def test_push_of_a_new_tag_is_kind_tag() -> None:
    assert github("push", load("push-tag")) == expected(
        EventKind.TAG,
        "push",
        action="created",
        ref="refs/tags/v1.2.0",
        tag="v1.2.0",
        sha=A,
        installation_id=None,
    )


def test_an_annotated_tag_is_the_commit_it_tags() -> None:
    """`after` is the tag object's sha; `head_commit` is the commit a release is of."""
    payload = load("push-tag")
    payload["after"], payload["head_commit"] = "c" * 40, {"id": A}
    event = github("push", payload)
    assert (event.kind, event.tag, event.sha) == (EventKind.TAG, "v1.2.0", A)


def test_branch_deletion_is_a_push_with_no_sha() -> None:
    assert github("push", load("push-branch-deleted")) == expected(
        EventKind.PUSH,
        "push",
        action="deleted",
        ref="refs/heads/feature/old",
        branch="feature/old",
        sha=None,
        before=B,
        installation_id=None,
    )


def test_push_without_sender_names_the_pusher() -> None:
    payload = load("push")
    del payload["sender"]
    assert github("push", payload).actor == Actor(login="octocat", id=None)


def test_pull_request_opened_from_the_same_repository() -> None:
    event = github("pull_request", load("pull-request-opened"))
    assert event == expected(
        EventKind.PULL_REQUEST,
        "pull_request",
        action="opened",
        sha=H,
        pull_request=PullRequest(
            number=7,
            title="Add login page",
            head_ref="feature/login",
            head_sha=H,
            base_ref="main",
            state="open",
            draft=False,
            merged=False,
            url=PR_URL,
            from_fork=False,
        ),
    )


def test_pull_request_opened_from_a_fork() -> None:
    pr = github("pull_request", load("pull-request-opened-fork")).pull_request
    assert pr is not None
    assert (pr.number, pr.draft, pr.from_fork) == (8, True, True)


def test_pull_request_with_deleted_head_repository_has_unknown_fork() -> None:
    payload = load("pull-request-opened-fork")
    payload["pull_request"]["head"]["repo"] = None
    pr = github("pull_request", payload).pull_request
    assert pr is not None
    assert pr.from_fork is None


def test_pull_request_merged_is_closed_and_merged() -> None:
    event = github("pull_request", load("pull-request-merged"))
    assert event.action == "closed"
    assert event.pull_request is not None
    assert (event.pull_request.state, event.pull_request.merged) == ("closed", True)


def test_issue_comment_on_a_pull_request() -> None:
    assert github("issue_comment", load("issue-comment-pr")) == expected(
        EventKind.COMMENT,
        "issue_comment",
        action="created",
        actor=MIRA,
        comment=Comment(
            id=1500001,
            body="/deploy staging",
            author=MIRA,
            url=f"{PR_URL}#issuecomment-1500001",
            on_pull_request=True,
        ),
        # Seen through the issue: no head, base or fork; merged_at null says not merged.
        pull_request=PullRequest(
            number=7, title="Add login page", state="open", merged=False, url=PR_URL
        ),
    )


def test_issue_comment_on_an_issue_has_no_pull_request() -> None:
    event = github("issue_comment", load("issue-comment-issue"))
    assert event.kind is EventKind.COMMENT
    assert event.pull_request is None
    assert event.comment is not None
    assert (event.comment.id, event.comment.on_pull_request) == (1500002, False)
    assert event.installation_id is None


def test_review_comment_is_a_comment_on_the_pull_request() -> None:
    event = github("pull_request_review_comment", load("review-comment"))
    assert event.kind is EventKind.COMMENT
    assert event.comment is not None
    assert event.comment.on_pull_request is True
    assert event.comment.body == "nit: trailing space"
    assert event.pull_request is not None
    assert (event.pull_request.number, event.pull_request.head_sha) == (7, H)
    assert event.pull_request.merged is None  # the payload does not say
    assert event.sha == H


def test_release() -> None:
    assert github("release", load("release")) == expected(
        EventKind.RELEASE,
        "release",
        action="published",
        tag="v1.2.0",
        release=Release(tag="v1.2.0", name="v1.2.0 — Harbour", draft=False, prerelease=True),
    )


def test_workflow_run_status_is_its_conclusion() -> None:
    assert github("workflow_run", load("workflow-run")) == expected(
        EventKind.PIPELINE,
        "workflow_run",
        action="completed",
        branch="main",
        sha=A,
        pipeline=Pipeline(
            id=30433642,
            status="failure",
            url="https://github.com/octo-org/shipyard-demo/actions/runs/30433642",
        ),
    )


def test_check_run_without_conclusion_gives_its_live_status() -> None:
    event = github("check_run", load("check-run"))
    assert event.kind is EventKind.PIPELINE
    assert event.pipeline == Pipeline(
        id=128620228,
        status="in_progress",
        url="https://github.com/octo-org/shipyard-demo/runs/128620228",
    )
    assert (event.sha, event.branch) == (H, "feature/login")


def test_deployment_status() -> None:
    event = github("deployment_status", load("deployment-status"))
    assert event == expected(
        EventKind.DEPLOYMENT,
        "deployment_status",
        action="created",
        sha=A,
        deployment=Deployment(
            id=8001,
            environment="staging",
            ref="main",
            status="success",
            url="https://ci.example.com/deploys/9001",
        ),
    )


def test_installation() -> None:
    assert github("installation", load("installation")) == expected(
        EventKind.INSTALLATION, "installation", action="created", repository=None
    )


@pytest.mark.parametrize(
    "event_name", ["installation_repositories", "integration_installation", "installation_target"]
)
def test_installation_variants(event_name: str) -> None:
    event = github(event_name, load("installation"))
    assert (event.kind, event.installation_id) == (EventKind.INSTALLATION, 4242)


def test_ping() -> None:
    assert github("ping", load("ping")) == expected(EventKind.PING, "ping", installation_id=None)


def test_create_of_a_tag_is_other_because_the_push_carries_it() -> None:
    assert github("create", load("create-tag")) == expected(
        EventKind.OTHER, "create", tag="v1.2.0", installation_id=None
    )


@pytest.mark.parametrize("event_name", ["package", "registry_package"])
def test_package_events(event_name: str) -> None:
    payload = {"action": "published", "package": {"id": 1, "name": "web"}, "repository": {}}
    event = github(event_name, payload)
    assert (event.kind, event.action) == (EventKind.PACKAGE, "published")
    assert event.repository == Repository()


@pytest.mark.parametrize("event_name", ["watch", "sponsorship", "", "Push"])
def test_unknown_events_are_other(event_name: str) -> None:
    event = github(event_name, load("push"))
    assert (event.kind, event.name) == (EventKind.OTHER, event_name)
    assert event.sha is None
    assert event.repository == REPO


def test_empty_payload_gives_nones() -> None:
    assert github("pull_request", {}) == Event(
        provider="github",
        delivery_id="d-1",
        kind=EventKind.PULL_REQUEST,
        name="pull_request",
        pull_request=PullRequest(),
    )


# --- malformed payloads ----------------------------------------------------------------------


@pytest.mark.parametrize("payload", [[], "push", 3, None, True])
def test_payload_that_is_not_an_object(payload: Any) -> None:
    with pytest.raises(PayloadShapeError, match=r"github 'push' payload must be a JSON object"):
        github("push", payload)


@pytest.mark.parametrize(
    ("event_name", "change", "field"),
    [
        ("push", {"repository": "octo-org/shipyard-demo"}, "payload.repository"),
        ("pull_request", {"pull_request": {"number": {}}}, "payload.pull_request.number"),
        ("pull_request", {"pull_request": {"head": []}}, "payload.pull_request.head"),
        ("push", {"sender": {"id": True}}, "payload.sender.id"),
        ("push", {"after": 7}, "payload.after"),
        ("release", {"release": {"draft": "no"}}, "payload.release.draft"),
        ("ping", {"installation": {"id": "4242"}}, "payload.installation.id"),
    ],
)
def test_wrong_types_name_the_event_and_field(
    event_name: str, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(PayloadShapeError, match=rf"github {event_name!r} payload: {field} "):
        github(event_name, change)


EVENT_NAMES = sorted(
    {
        *SAMPLE_EVENTS.values(),
        "delete",
        "pull_request_review",
        "commit_comment",
        "workflow_job",
        "check_suite",
        "status",
        "deployment",
        "package",
        "other",
    }
)
SHAPES = OddShapes("github", SAMPLE_EVENTS, EVENT_NAMES, load)


def test_odd_value_at_any_field_gives_an_event_or_a_shape_error() -> None:
    SHAPES.check_odd_value_at_any_field()


def test_any_sample_under_any_event_name_gives_an_event_or_a_shape_error() -> None:
    SHAPES.check_any_sample_under_any_event_name()


def test_random_objects_give_an_event_or_a_shape_error() -> None:
    SHAPES.check_random_objects()
