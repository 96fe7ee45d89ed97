"""GitLab payloads to Events, from the hand-written samples in tests/samples/gitlab."""

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
WEB = "https://gitlab.example.com/harbour/shipyard-demo"
REPO = Repository(
    full_name="harbour/shipyard-demo",
    id=4711,
    web_url=WEB,
    clone_url=f"{WEB}.git",
    default_branch="main",
)
MIRA = Actor(login="mira", id=12)
# Merge request !12 as the samples give it, opened and commented on.
MR_12 = PullRequest(
    number=12,
    title="Add login page",
    head_ref="feature/login",
    head_sha=H,
    base_ref="main",
    state="opened",
    draft=False,
    merged=False,
    url=f"{WEB}/-/merge_requests/12",
    from_fork=False,
)

# Each sample and the X-Gitlab-Event it is delivered with.
SAMPLE_EVENTS = {
    "push": "Push Hook",
    "tag-push": "Tag Push Hook",
    "push-branch-deleted": "Push Hook",
    "merge-request-open": "Merge Request Hook",
    "merge-request-open-fork": "Merge Request Hook",
    "merge-request-merged": "Merge Request Hook",
    "note-merge-request": "Note Hook",
    "note-issue": "Note Hook",
    "pipeline": "Pipeline Hook",
    "job": "Job Hook",
    "deployment": "Deployment Hook",
    "release": "Release Hook",
    "system-tag-push": "System Hook",
}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = load_sample("gitlab", name)
    return data


def gitlab(event_name: str, payload: Any) -> Event:
    return normalise("gitlab", event_name, payload, delivery_id="d-1")


def expected(kind: EventKind, name: str, **fields: Any) -> Event:
    defaults: dict[str, Any] = {"repository": REPO, "actor": MIRA}
    return Event(provider="gitlab", delivery_id="d-1", kind=kind, name=name, **defaults | fields)


def test_every_sample_is_listed_with_its_event() -> None:
    assert sample_names("gitlab") == sorted(SAMPLE_EVENTS)


def test_push_to_a_branch() -> None:
    assert gitlab("Push Hook", load("push")) == expected(
        EventKind.PUSH, "Push Hook", ref="refs/heads/main", branch="main", sha=A, before=B
    )


def test_tag_push() -> None:
    assert gitlab("Tag Push Hook", load("tag-push")) == expected(
        EventKind.TAG,
        "Tag Push Hook",
        action="created",
        ref="refs/tags/v1.2.0",
        tag="v1.2.0",
        sha=A,
    )


def test_an_annotated_tag_is_the_commit_it_tags() -> None:
    """GitLab's `checkout_sha` is the tagged commit; `after` an annotated tag's object."""
    payload = load("tag-push")
    payload["after"], payload["checkout_sha"] = "c" * 40, A
    event = gitlab("Tag Push Hook", payload)
    assert (event.kind, event.tag, event.sha) == (EventKind.TAG, "v1.2.0", A)


def test_branch_deletion_is_a_push_with_no_sha() -> None:
    event = gitlab("Push Hook", load("push-branch-deleted"))
    assert (event.kind, event.action, event.sha) == (EventKind.PUSH, "deleted", None)
    assert (event.branch, event.before) == ("feature/old", B)


def test_older_push_without_project_takes_what_repository_has() -> None:
    payload = load("push")
    del payload["project"], payload["user_username"]
    event = gitlab("Push Hook", payload)
    assert event.repository == Repository(
        full_name=None, id=4711, web_url=WEB, clone_url=f"{WEB}.git", default_branch=None
    )
    assert event.actor == Actor(login=None, id=12)  # user_name is a display name, not a login


def test_merge_request_opened_in_the_same_project() -> None:
    assert gitlab("Merge Request Hook", load("merge-request-open")) == expected(
        EventKind.PULL_REQUEST,
        "Merge Request Hook",
        action="open",
        sha=H,
        pull_request=MR_12,
    )


def test_merge_request_from_a_fork_marked_work_in_progress() -> None:
    pr = gitlab("Merge Request Hook", load("merge-request-open-fork")).pull_request
    assert pr is not None
    assert (pr.number, pr.from_fork, pr.draft) == (13, True, True)


def test_merge_request_update_with_new_commits_carries_the_previous_head() -> None:
    payload = load("merge-request-open")
    payload["object_attributes"] |= {"action": "update", "oldrev": "c" * 40}
    event = gitlab("Merge Request Hook", payload)
    assert (event.action, event.before, event.sha) == ("update", "c" * 40, H)
    payload["object_attributes"].pop("oldrev")
    assert gitlab("Merge Request Hook", payload).before is None  # an edit, no new commits


def test_merge_request_merged() -> None:
    event = gitlab("Merge Request Hook", load("merge-request-merged"))
    assert event.action == "merge"
    assert event.pull_request is not None
    assert (event.pull_request.state, event.pull_request.merged) == ("merged", True)


def test_note_on_a_merge_request() -> None:
    assert gitlab("Note Hook", load("note-merge-request")) == expected(
        EventKind.COMMENT,
        "Note Hook",
        action="create",
        sha=H,
        comment=Comment(
            id=3301,
            body="/deploy staging",
            author=MIRA,
            url=f"{WEB}/-/merge_requests/12#note_3301",
            on_pull_request=True,
        ),
        pull_request=MR_12,
    )


def test_note_on_an_issue_has_no_pull_request() -> None:
    event = gitlab("Note Hook", load("note-issue"))
    assert event.kind is EventKind.COMMENT
    assert event.pull_request is None
    assert event.comment == Comment(
        id=3302,
        body="/deploy staging",
        author=MIRA,
        url=f"{WEB}/-/issues/3#note_3302",
        on_pull_request=False,
    )


def test_pipeline_for_a_tag_without_url_does_not_build_one() -> None:
    assert gitlab("Pipeline Hook", load("pipeline")) == expected(
        EventKind.PIPELINE,
        "Pipeline Hook",
        tag="v1.2.0",
        sha=A,
        before=None,
        pipeline=Pipeline(
            id=8812,
            status="running",
            url=None,
            head_repository="harbour/shipyard-demo",
            from_fork=False,  # a tag pipeline of the project itself
        ),
    )


@pytest.mark.parametrize("event_name", ["Job Hook", "Build Hook"])
def test_job_is_its_pipeline_with_the_job_status(event_name: str) -> None:
    assert gitlab(event_name, load("job")) == expected(
        EventKind.PIPELINE,
        event_name,
        branch="main",
        sha=A,
        before=B,
        pipeline=Pipeline(id=8813, status="failed"),
    )


def test_deployment() -> None:
    assert gitlab("Deployment Hook", load("deployment")) == expected(
        EventKind.DEPLOYMENT,
        "Deployment Hook",
        sha=None,  # only short_sha is sent
        deployment=Deployment(
            id=15,
            environment="staging",
            ref="main",
            status="success",
            url=f"{WEB}/-/jobs/796",
        ),
    )


def test_release() -> None:
    assert gitlab("Release Hook", load("release")) == expected(
        EventKind.RELEASE,
        "Release Hook",
        action="create",
        tag="v1.2.0",
        sha=A,
        actor=None,
        release=Release(tag="v1.2.0", name="v1.2.0 — Harbour"),
    )


def test_system_hook_tag_push_is_a_tag() -> None:
    assert gitlab("System Hook", load("system-tag-push")) == expected(
        EventKind.TAG,
        "System Hook",
        action="created",
        ref="refs/tags/v1.2.0",
        tag="v1.2.0",
        sha=A,
    )


def test_system_hook_merge_request_by_object_kind() -> None:
    event = gitlab("System Hook", load("merge-request-open"))
    assert event.kind is EventKind.PULL_REQUEST
    assert event.pull_request is not None
    assert event.pull_request.number == 12


def test_system_hook_of_another_event_is_other() -> None:
    event = gitlab("System Hook", {"event_name": "project_create", "project_id": 74})
    assert (event.kind, event.repository) == (EventKind.OTHER, Repository(id=74))


@pytest.mark.parametrize("event_name", ["Issue Hook", "Wiki Page Hook", "Emoji Hook", "push"])
def test_unknown_events_are_other(event_name: str) -> None:
    event = gitlab(event_name, load("push"))
    assert (event.kind, event.name, event.sha) == (EventKind.OTHER, event_name, None)
    assert event.repository == REPO


def test_empty_payload_gives_nones() -> None:
    assert gitlab("Merge Request Hook", {}) == Event(
        provider="gitlab",
        delivery_id="d-1",
        kind=EventKind.PULL_REQUEST,
        name="Merge Request Hook",
        pull_request=PullRequest(),
    )


# --- malformed payloads ----------------------------------------------------------------------


@pytest.mark.parametrize("payload", [[], "push", 3, None])
def test_payload_that_is_not_an_object(payload: Any) -> None:
    with pytest.raises(
        PayloadShapeError, match=r"gitlab 'Push Hook' payload must be a JSON object"
    ):
        gitlab("Push Hook", payload)


@pytest.mark.parametrize(
    ("event_name", "change", "field"),
    [
        ("Push Hook", {"project": "harbour/shipyard-demo"}, "payload.project"),
        ("Push Hook", {"user_id": False}, "payload.user_id"),
        ("Merge Request Hook", {"object_attributes": {"iid": {}}}, "payload.object_attributes.iid"),
        ("Pipeline Hook", {"object_attributes": {"id": "8812"}}, "payload.object_attributes.id"),
        (
            "Note Hook",
            {"merge_request": [], "object_attributes": {"noteable_type": "MergeRequest"}},
            "payload.merge_request",
        ),
        ("Job Hook", {"tag": "yes"}, "payload.tag"),
    ],
)
def test_wrong_types_name_the_event_and_field(
    event_name: str, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(PayloadShapeError, match=rf"gitlab {event_name!r} payload: {field} "):
        gitlab(event_name, change)


EVENT_NAMES = sorted(
    {*SAMPLE_EVENTS.values(), "Build Hook", "Confidential Note Hook", "Issue Hook"}
)
SHAPES = OddShapes("gitlab", SAMPLE_EVENTS, EVENT_NAMES, load)


def test_odd_value_at_any_field_gives_an_event_or_a_shape_error() -> None:
    SHAPES.check_odd_value_at_any_field()


def test_any_sample_under_any_event_name_gives_an_event_or_a_shape_error() -> None:
    SHAPES.check_any_sample_under_any_event_name()


def test_random_objects_give_an_event_or_a_shape_error() -> None:
    SHAPES.check_random_objects()
