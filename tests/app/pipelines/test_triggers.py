"""Trigger matching: a table of events from every host against one config of every trigger."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from app.features import parse_config
from app.globs import match_glob
from app.pipelines.config import pipelines_of
from app.pipelines.triggers import (
    PipelineNotFound,
    TriggerMatch,
    manual_pipeline,
    match_pipelines,
    normalise_pipeline_status,
)
from app.repo_config import RepoConfig
from providers.events import Comment, Event, EventKind, Pipeline, PullRequest, Release
from providers.normalise import normalise
from steps.base import StepConfig, StepContext, StepType
from tests.support.samples import load_sample


class Noop:
    type_name: ClassVar[str] = "noop"
    Config: ClassVar[type[StepConfig]] = StepConfig

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        return {}


STEP_TYPES: dict[str, StepType] = {"noop": Noop()}

CONFIG_TEXT = """
pipelines:
  pr-default:
    on: {pull_request: true}
    steps: [{name: s, type: noop}]
  pr-closed:
    on: {pull_request: [closed, merged]}
    steps: [{name: s, type: noop}]
  pr-release-branches:
    on: {pull_request: {actions: [opened], branches: ["release/**"]}}
    steps: [{name: s, type: noop}]
  push-main:
    on: {push: [main, "release/*"]}
    steps: [{name: s, type: noop}]
  push-any:
    on: {push: true}
    steps: [{name: s, type: noop}]
  tags:
    on: {tag: ["v*"]}
    steps: [{name: s, type: noop}]
  comment:
    on: {comment: ["/review", "/test all"]}
    steps: [{name: s, type: noop}]
  release:
    on: {release: true}
    steps: [{name: s, type: noop}]
  prerelease:
    on: {release: [prereleased]}
    steps: [{name: s, type: noop}]
  ci-failed-main:
    on: {pipeline: {status: [failed], branches: [main]}}
    steps: [{name: s, type: noop}]
  ci-any:
    on: {pipeline: true}
    steps: [{name: s, type: noop}]
  manual:
    on: {manual: true}
    steps: [{name: s, type: noop}]
"""


@pytest.fixture(scope="module")
def config() -> RepoConfig:
    return parse_config(CONFIG_TEXT, step_types=STEP_TYPES)


# --- events, built as the normalisers build them -----------------------------------------------

PR_EVENT_NAMES = {
    "github": "pull_request",
    "gitlab": "Merge Request Hook",
    "gitea": "pull_request",
    "forgejo": "pull_request_sync",
}


def make(provider: str, kind: EventKind, name: str, **fields: Any) -> Event:
    return Event(provider=provider, delivery_id="d-1", kind=kind, name=name, **fields)


def pr(
    provider: str,
    action: str,
    *,
    base: str = "main",
    merged: bool = False,
    draft: bool = False,
    before: str | None = None,
) -> Event:
    found = PullRequest(number=7, head_ref="feature/x", base_ref=base, merged=merged, draft=draft)
    name = PR_EVENT_NAMES.get(provider, "pull_request")
    return make(
        provider, EventKind.PULL_REQUEST, name, action=action, pull_request=found, before=before
    )


def push(branch: str, *, provider: str = "github", action: str | None = None) -> Event:
    name = "Push Hook" if provider == "gitlab" else "push"
    ref = f"refs/heads/{branch}"
    return make(provider, EventKind.PUSH, name, action=action, ref=ref, branch=branch)


def tag(name: str, *, action: str | None = "created") -> Event:
    return make("github", EventKind.TAG, "push", action=action, ref=f"refs/tags/{name}", tag=name)


def comment(
    body: str | None,
    *,
    on_pr: bool = True,
    action: str | None = "created",
    provider: str = "github",
) -> Event:
    name = "Note Hook" if provider == "gitlab" else "issue_comment"
    return make(
        provider,
        EventKind.COMMENT,
        name,
        action=action,
        comment=Comment(id=1, body=body, on_pull_request=on_pr),
        pull_request=PullRequest(number=7) if on_pr else None,
    )


def release(provider: str, action: str, *, prerelease: bool | None = None) -> Event:
    name = "Release Hook" if provider == "gitlab" else "release"
    found = Release(tag="v1.0.0", prerelease=prerelease)
    return make(provider, EventKind.RELEASE, name, action=action, tag="v1.0.0", release=found)


def ci(status: str, *, name: str = "workflow_run", branch: str = "main") -> Event:
    provider = "gitlab" if name in ("Pipeline Hook", "Job Hook") else "github"
    found = Pipeline(id=1, status=status)
    return make(provider, EventKind.PIPELINE, name, branch=branch, pipeline=found)


def found(config: RepoConfig, event: Event) -> list[tuple[str, str, str | None]]:
    return [(m.pipeline, m.trigger, m.action) for m in match_pipelines(config, event)]


PR_DEFAULT, PR_CLOSED, PR_RELEASE = "pr-default", "pr-closed", "pr-release-branches"

CASES: list[tuple[str, Event, list[tuple[str, str, str | None]]]] = [
    # GitHub pull requests
    ("github opened", pr("github", "opened"), [(PR_DEFAULT, "pull_request", "opened")]),
    ("github sync", pr("github", "synchronize"), [(PR_DEFAULT, "pull_request", "synchronize")]),
    ("github reopened", pr("github", "reopened"), [(PR_DEFAULT, "pull_request", "reopened")]),
    ("github closed", pr("github", "closed"), [(PR_CLOSED, "pull_request", "closed")]),
    (
        "github closed+merged is merged",
        pr("github", "closed", merged=True),
        [(PR_CLOSED, "pull_request", "merged")],
    ),
    ("github labeled", pr("github", "labeled"), []),
    ("github edited", pr("github", "edited"), []),
    ("github ready_for_review", pr("github", "ready_for_review"), []),
    ("github does not speak gitea", pr("github", "synchronized"), []),
    ("github draft", pr("github", "opened", draft=True), [(PR_DEFAULT, "pull_request", "opened")]),
    # GitLab merge requests
    ("gitlab open", pr("gitlab", "open"), [(PR_DEFAULT, "pull_request", "opened")]),
    (
        "gitlab update with new commits",
        pr("gitlab", "update", before="c" * 40),
        [(PR_DEFAULT, "pull_request", "synchronize")],
    ),
    ("gitlab update of the title only", pr("gitlab", "update"), []),
    ("gitlab reopen", pr("gitlab", "reopen"), [(PR_DEFAULT, "pull_request", "reopened")]),
    ("gitlab close", pr("gitlab", "close"), [(PR_CLOSED, "pull_request", "closed")]),
    (
        "gitlab merge",
        pr("gitlab", "merge", merged=True),
        [(PR_CLOSED, "pull_request", "merged")],
    ),
    ("gitlab approved", pr("gitlab", "approved"), []),
    ("gitlab does not speak github", pr("gitlab", "opened"), []),
    ("gitlab draft", pr("gitlab", "open", draft=True), [(PR_DEFAULT, "pull_request", "opened")]),
    # Gitea and Forgejo pull requests
    ("gitea opened", pr("gitea", "opened"), [(PR_DEFAULT, "pull_request", "opened")]),
    (
        "gitea synchronized",
        pr("gitea", "synchronized"),
        [(PR_DEFAULT, "pull_request", "synchronize")],
    ),
    ("gitea reopened", pr("gitea", "reopened"), [(PR_DEFAULT, "pull_request", "reopened")]),
    ("gitea closed", pr("gitea", "closed"), [(PR_CLOSED, "pull_request", "closed")]),
    (
        "gitea closed+merged",
        pr("gitea", "closed", merged=True),
        [(PR_CLOSED, "pull_request", "merged")],
    ),
    ("gitea label_updated", pr("gitea", "label_updated"), []),
    (
        "forgejo synchronized",
        pr("forgejo", "synchronized"),
        [(PR_DEFAULT, "pull_request", "synchronize")],
    ),
    ("unknown host", pr("bitbucket", "opened"), []),
    # branch filters on pull requests are on the base branch
    (
        "pr into release/1.2/x",
        pr("github", "opened", base="release/1.2/x"),
        [(PR_DEFAULT, "pull_request", "opened"), (PR_RELEASE, "pull_request", "opened")],
    ),
    (
        "pr into release/ itself",
        pr("github", "opened", base="release"),
        [(PR_DEFAULT, "pull_request", "opened")],
    ),
    (
        "sync into release/1.2 (actions filter)",
        pr("github", "synchronize", base="release/1.2"),
        [(PR_DEFAULT, "pull_request", "synchronize")],
    ),
    # pushes
    ("push main", push("main"), [("push-main", "push", None), ("push-any", "push", None)]),
    (
        "push release/1.2",
        push("release/1.2"),
        [("push-main", "push", None), ("push-any", "push", None)],
    ),
    (
        "push release/1.2/hotfix: * stays in a segment",
        push("release/1.2/x"),
        [("push-any", "push", None)],
    ),
    ("push mainline", push("mainline"), [("push-any", "push", None)]),
    ("new branch", push("feature/x", action="created"), [("push-any", "push", "created")]),
    ("deleted branch", push("main", action="deleted"), []),
    (
        "gitlab push",
        push("main", provider="gitlab"),
        [("push-main", "push", None), ("push-any", "push", None)],
    ),
    # tags
    ("tag v1.2.0", tag("v1.2.0"), [("tags", "tag", "created")]),
    ("tag v1.2.0 deleted", tag("v1.2.0", action="deleted"), []),
    ("tag release-1", tag("release-1"), []),
    ("tag v1/rc: * stays in a segment", tag("v1/rc"), []),
    # comments
    ("comment /review", comment("/review"), [("comment", "comment", "created")]),
    ("comment with args", comment("/review please\nthanks"), [("comment", "comment", "created")]),
    ("comment indented", comment("  /review"), [("comment", "comment", "created")]),
    ("comment two-word command", comment("/test all now"), [("comment", "comment", "created")]),
    ("comment /reviewer", comment("/reviewer"), []),
    ("comment /test alone", comment("/test"), []),
    ("command not first", comment("please /review"), []),
    ("command on the second line", comment("hi\n/review"), []),
    ("comment on an issue", comment("/review", on_pr=False), []),
    ("comment edited", comment("/review", action="edited"), []),
    ("comment deleted", comment("/review", action="deleted"), []),
    ("comment without body", comment(None), []),
    (
        "gitlab note",
        comment("/review", provider="gitlab", action="create"),
        [("comment", "comment", "created")],
    ),
    ("gitlab note edited", comment("/review", provider="gitlab", action="update"), []),
    (
        "old gitlab note without action",
        comment("/review", provider="gitlab", action=None),
        [("comment", "comment", "created")],
    ),
    # releases
    ("github published", release("github", "published"), [("release", "release", "published")]),
    (
        "github prereleased",
        release("github", "prereleased"),
        [("prerelease", "release", "prereleased")],
    ),
    ("github created", release("github", "created"), []),
    ("gitlab create", release("gitlab", "create"), [("release", "release", "published")]),
    ("gitlab update", release("gitlab", "update"), []),
    ("gitea published", release("gitea", "published"), [("release", "release", "published")]),
    (
        "gitea published pre-release",
        release("gitea", "published", prerelease=True),
        [("release", "release", "published"), ("prerelease", "release", "prereleased")],
    ),
    ("gitea updated", release("gitea", "updated"), []),
    # CI runs
    (
        "workflow failed on main",
        ci("failure"),
        [("ci-failed-main", "pipeline", "failed"), ("ci-any", "pipeline", "failed")],
    ),
    (
        "workflow timed out on main",
        ci("timed_out"),
        [("ci-failed-main", "pipeline", "failed"), ("ci-any", "pipeline", "failed")],
    ),
    ("workflow failed elsewhere", ci("failure", branch="dev"), [("ci-any", "pipeline", "failed")]),
    ("workflow succeeded", ci("success"), [("ci-any", "pipeline", "success")]),
    ("workflow cancelled", ci("cancelled"), [("ci-any", "pipeline", "cancelled")]),
    ("workflow running", ci("in_progress"), []),
    ("workflow skipped", ci("skipped"), []),
    (
        "gitlab pipeline canceled",
        ci("canceled", name="Pipeline Hook"),
        [("ci-any", "pipeline", "cancelled")],
    ),
    (
        "gitlab pipeline success",
        ci("success", name="Pipeline Hook"),
        [("ci-any", "pipeline", "success")],
    ),
    ("gitlab pipeline running", ci("running", name="Pipeline Hook"), []),
    ("gitlab job is not a run", ci("failed", name="Job Hook"), []),
    ("check run is not a run", ci("failure", name="check_run"), []),
    ("commit status is not a run", ci("failure", name="status"), []),
    # nothing else starts a pipeline (manual pipelines are never matched by an event)
    ("deployment", make("github", EventKind.DEPLOYMENT, "deployment", action="created"), []),
    ("ping", make("github", EventKind.PING, "ping"), []),
    ("other", make("github", EventKind.OTHER, "create", tag="v1.0.0"), []),
]


@pytest.mark.parametrize(("event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matching(
    config: RepoConfig, event: Event, expected: list[tuple[str, str, str | None]]
) -> None:
    assert found(config, event) == expected


def test_a_comment_match_names_its_command(config: RepoConfig) -> None:
    assert match_pipelines(config, comment("/test all please")) == [
        TriggerMatch("comment", "comment", action="created", command="/test all")
    ]


def test_matches_follow_the_order_of_the_file() -> None:
    text = CONFIG_TEXT.replace(
        "  push-main:",
        "  zzz-first:\n    on: push\n    steps: [{name: s, type: noop}]\n  push-main:",
        1,
    )
    config = parse_config(text, step_types=STEP_TYPES)
    assert [m.pipeline for m in match_pipelines(config, push("main"))] == [
        "zzz-first",
        "push-main",
        "push-any",
    ]


# --- the same, from real payloads --------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "event_name", "sample", "expected"),
    [
        ("github", "pull_request", "pull-request-opened", [(PR_DEFAULT, "pull_request", "opened")]),
        ("github", "pull_request", "pull-request-merged", [(PR_CLOSED, "pull_request", "merged")]),
        (
            "gitlab",
            "Merge Request Hook",
            "merge-request-open",
            [(PR_DEFAULT, "pull_request", "opened")],
        ),
        (
            "gitlab",
            "Merge Request Hook",
            "merge-request-merged",
            [(PR_CLOSED, "pull_request", "merged")],
        ),
        ("gitea", "pull_request", "pull-request-opened", [(PR_DEFAULT, "pull_request", "opened")]),
        ("gitea", "pull_request", "pull-request-merged", [(PR_CLOSED, "pull_request", "merged")]),
        ("github", "push", "push", [("push-main", "push", None), ("push-any", "push", None)]),
        ("gitlab", "Push Hook", "push", [("push-main", "push", None), ("push-any", "push", None)]),
        ("gitea", "push", "push", [("push-main", "push", None), ("push-any", "push", None)]),
        ("github", "push", "push-branch-deleted", []),
        ("gitlab", "Push Hook", "push-branch-deleted", []),
        ("gitea", "push", "push-branch-deleted", []),
        ("github", "push", "push-tag", [("tags", "tag", "created")]),
        ("gitlab", "Tag Push Hook", "tag-push", [("tags", "tag", "created")]),
        ("github", "create", "create-tag", []),  # the tag's push starts it, once
        ("github", "issue_comment", "issue-comment-pr", []),  # "/deploy staging": not ours
        ("github", "release", "release", [("release", "release", "published")]),
        ("gitlab", "Release Hook", "release", [("release", "release", "published")]),
        ("gitea", "release", "release", [("release", "release", "published")]),
        (
            "github",
            "workflow_run",
            "workflow-run",
            [("ci-failed-main", "pipeline", "failed"), ("ci-any", "pipeline", "failed")],
        ),
        ("gitlab", "Pipeline Hook", "pipeline", []),  # still running
        ("gitlab", "Job Hook", "job", []),
    ],
)
def test_matching_real_payloads(
    config: RepoConfig,
    provider: str,
    event_name: str,
    sample: str,
    expected: list[tuple[str, str, str | None]],
) -> None:
    payload = load_sample(provider, sample)
    event = normalise(provider, event_name, payload, delivery_id="d-1")
    assert found(config, event) == expected


def test_a_comment_command_from_a_real_payload() -> None:
    config = parse_config(
        "pipelines:\n  deploy:\n    on: {comment: [/deploy]}\n    steps: [{name: s, type: noop}]\n",
        step_types=STEP_TYPES,
    )
    for provider, event_name, sample in [
        ("github", "issue_comment", "issue-comment-pr"),
        ("gitlab", "Note Hook", "note-merge-request"),
        ("gitea", "pull_request_comment", "pull-request-comment"),
    ]:
        payload = load_sample(provider, sample)
        event = normalise(provider, event_name, payload, delivery_id="d-1")
        assert match_pipelines(config, event) == [
            TriggerMatch("deploy", "comment", action="created", command="/deploy")
        ], provider


# --- globs, statuses, manual runs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("main", "main", True),
        ("main", "mainline", False),
        ("*", "main", True),
        ("*", "feature/x", False),
        ("**", "feature/x/y", True),
        ("release/*", "release/1.2", True),
        ("release/*", "release/1.2/hotfix", False),
        ("release/**", "release/1.2/hotfix", True),
        ("release/**", "releases/1", False),
        ("**/hotfix", "hotfix", True),
        ("**/hotfix", "release/1.2/hotfix", True),
        ("**/hotfix", "release/hotfix-2", False),
        ("v?.*", "v1.2", True),
        ("v?.*", "v10.2", False),
        ("v[0-9]*", "v1.2.0", True),
        ("v[0-9]*", "vx", False),
        ("v[!0-9]*", "vx", True),
        ("v[!0-9]*", "v/", False),
        ("feat.x", "featax", False),  # dots are literal
        ("[oops", "[oops", True),  # an unclosed bracket is literal
        ("Main", "main", False),  # case-sensitive
    ],
)
def test_globs(pattern: str, name: str, matches: bool) -> None:
    assert match_glob(pattern, name) is matches


@pytest.mark.parametrize(
    ("status", "normalised"),
    [
        ("success", "success"),
        ("failure", "failed"),
        ("failed", "failed"),
        ("timed_out", "failed"),
        ("startup_failure", "failed"),
        ("cancelled", "cancelled"),
        ("canceled", "cancelled"),
        ("completed", None),
        ("running", None),
        ("skipped", None),
        ("neutral", None),
        (None, None),
    ],
)
def test_pipeline_statuses(status: str | None, normalised: str | None) -> None:
    assert normalise_pipeline_status(status) == normalised


def test_manual_pipeline(config: RepoConfig) -> None:
    assert manual_pipeline(config, "manual") is pipelines_of(config)["manual"]
    with pytest.raises(PipelineNotFound) as caught:
        manual_pipeline(config, "deploy")
    assert isinstance(caught.value, KeyError)
    assert str(caught.value) == "no pipeline named 'deploy'; pipelines that run by hand: manual"
    with pytest.raises(PipelineNotFound, match="pipeline 'push-main' has no `manual: true`"):
        manual_pipeline(config, "push-main")


def test_manual_pipeline_without_any() -> None:
    config = parse_config(
        "pipelines:\n  p: {on: push, steps: [{name: s, type: noop}]}\n", step_types=STEP_TYPES
    )
    with pytest.raises(LookupError, match=r"run by hand: none \(add `manual: true`"):
        manual_pipeline(config, "p")
