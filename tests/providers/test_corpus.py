"""Every real delivery in ../shared/corpus (go-playground/webhooks testdata) normalises right."""

from __future__ import annotations

import json
from typing import Any

import pytest

from providers.events import Event
from providers.normalise import normalise
from tests.support.corpus import KINDS, case_key, corpus_cases, corpus_dir, event_name

# Skips this module without the corpus, fails it under CI=true.
CORPUS = corpus_dir()
CASES = corpus_cases(CORPUS)


def _normalise(case: dict[str, Any], provider: str | None = None) -> Event:
    payload = json.loads((CORPUS / case["file"]).read_bytes())
    return normalise(provider or case["provider"], event_name(case), payload, delivery_id="corpus")


BAXTER = "baxterthehacker/public-repo"
GH_SHA = "9049f1265b7d61be4a8904a9a27120d2064dab3b"
GL_PUSH_SHA = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
GL_TAG_SHA = "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7"
GL_JOB_SHA = "2293ada6b400935a1378653304eaf6221e0fdb8f"
GITEA_SHA = "67b56589a45103f891bdee7c0546e5d40bc02001"
GITEA_HEAD = "48e773f892a831faa47c0a160d1b7f0cd369ae2a"

# Field values read from the payload files, for the cases a release bot acts on.
FIELDS: dict[tuple[str, str], dict[str, Any]] = {
    ("github/push.json", "push"): {
        "repository.full_name": "binkkatal/sample_app",
        "repository.default_branch": "master",
        "ref": "refs/heads/master",
        "branch": "master",
        "tag": None,
        "sha": "fd489864e7642b48eaad6e3f155c10e46810ec72",
        "before": "737d38c599c1b2991664dfc6155d6bf516fcce36",
        "actor.login": "binkkatal",
    },
    ("github/create.json", "create"): {"tag": "0.0.1", "branch": None, "sha": None},
    ("github/pull-request.json", "pull_request"): {
        "repository.full_name": BAXTER,
        "action": "opened",
        "pull_request.number": 1,
        "pull_request.head_ref": "changes",
        "pull_request.head_sha": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        "pull_request.base_ref": "master",
        "pull_request.merged": False,
        "pull_request.from_fork": False,
        "installation_id": 234,
    },
    ("github/pull-request-review.json", "pull_request_review"): {
        "action": "submitted",
        "pull_request.number": 8,
        "pull_request.from_fork": True,  # skalnik/public-repo into baxterthehacker's
    },
    ("github/pull-request-issue-comment.json", "issue_comment"): {
        "repository.full_name": "chhsia0/knative-route-demo",
        "comment.body": "/build",
        "comment.on_pull_request": True,
        "pull_request.number": 3,
        "pull_request.title": "Updated to v2.",
        "pull_request.head_sha": None,
    },
    ("github/issue-comment.json", "issue_comment"): {
        "comment.body": "You are totally right! I'll get this fixed right away.",
        "comment.on_pull_request": False,
        "pull_request": None,
    },
    ("github/pull-request-review-comment.json", "pull_request_review_comment"): {
        "comment.body": "Maybe you should use more emojji on this line.",
        "comment.on_pull_request": True,
        "pull_request.number": 1,
    },
    ("github/commit-comment.json", "commit_comment"): {
        "comment.body": "This is a really good change! :+1:",
        "comment.on_pull_request": False,
        "sha": GH_SHA,
    },
    ("github/release.json", "release"): {
        "repository.full_name": BAXTER,
        "release.tag": "0.0.1",
        "release.prerelease": False,
        "tag": "0.0.1",
    },
    ("github/workflow_run.json", "workflow_run"): {
        "pipeline.id": 565676767,
        "pipeline.status": "finished",
        "sha": "d6b80f8411bdc1a44407ff20619a74068b03ea5a",
    },
    ("github/workflow_job.json", "workflow_job"): {
        "pipeline.id": 128,
        "pipeline.status": "finished",
    },
    ("github/check-run.json", "check_run"): {
        "repository.full_name": "github/hello-world",
        "pipeline.id": 4,
        "pipeline.status": "neutral",
        "sha": "d6fde92930d4715a2b49857d24b940956b26d2d3",
        "installation_id": 1,
    },
    ("github/status.json", "status"): {
        "pipeline.id": 214015194,
        "pipeline.status": "success",
        "sha": GH_SHA,
    },
    ("github/deployment-status.json", "deployment_status"): {
        "deployment.id": 710692,
        "deployment.environment": "production",
        "deployment.status": "success",
        "sha": GH_SHA,
    },
    ("github/installation.json", "installation"): {"installation_id": 2, "action": "deleted"},
    ("github/ping.json", "ping"): {"repository": None},
    ("gitlab/push-event.json", "Push Hook"): {
        "repository.full_name": "mike/diaspora",
        "repository.id": 15,
        "ref": "refs/heads/master",
        "branch": "master",
        "sha": GL_PUSH_SHA,
        "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
        "actor.id": 4,
    },
    ("gitlab/tag-event.json", "Tag Push Hook"): {
        "repository.full_name": "jsmith/example",
        "tag": "v1.0.0",
        "branch": None,
        "sha": GL_TAG_SHA,
        "before": None,
        "action": "created",
    },
    ("gitlab/merge-request-event.json", "Merge Request Hook"): {
        "repository.full_name": "gitlabhq/gitlab-test",
        "action": "open",
        "pull_request.number": 1,
        "pull_request.head_ref": "ms-viewport",
        "pull_request.head_sha": GL_PUSH_SHA,
        "pull_request.base_ref": "master",
        "pull_request.from_fork": False,
        "actor.login": "root",
    },
    ("gitlab/comment-merge-request-event.json", "Note Hook"): {
        "comment.body": "This MR needs work.",
        "comment.on_pull_request": True,
        "pull_request.number": 1,
        "pull_request.head_sha": "562e173be03b8ff2efb05345d12df18815438a4b",
    },
    ("gitlab/comment-commit-event.json", "Note Hook"): {
        "comment.body": "This is a commit comment. How does this work?",
        "comment.on_pull_request": False,
        "pull_request": None,
        "sha": "cfe32cf61b73a0d5e9f13e774abde7ff789b1660",
    },
    ("gitlab/comment-issue-event.json", "Note Hook"): {
        "comment.body": "Hello world",
        "comment.on_pull_request": False,
        "pull_request": None,
    },
    ("gitlab/comment-snippet-event.json", "Note Hook"): {
        "comment.body": "Is this snippet doing what it's supposed to be doing?",
        "comment.on_pull_request": False,
    },
    ("gitlab/pipeline-event.json", "Pipeline Hook"): {
        "repository.full_name": "gitlab-org/gitlab-test",
        "pipeline.id": 31,
        "pipeline.status": "success",
        "pipeline.url": "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/pipelines/31",
        "branch": "master",
        "sha": "bcbb5ec396a2c0f828686f14fac9b80b780504f2",
        "pull_request.number": 1,
    },
    ("gitlab/build-event.json", "Build Hook"): {
        "pipeline.id": None,  # old Build Hooks have no pipeline_id
        "pipeline.status": "created",
        "sha": GL_JOB_SHA,
        "branch": "gitlab-script-trigger",
    },
    ("gitlab/job-event.json", "Job Hook"): {
        "pipeline.id": 2366,
        "pipeline.status": "created",
        "pipeline.url": None,
        "sha": GL_JOB_SHA,
    },
    ("gitlab/deployment-event.json", "Deployment Hook"): {
        "repository.full_name": "root/test-deployment-webhooks",
        "deployment.id": 15,
        "deployment.environment": "staging",
        "deployment.status": "success",
    },
    ("gitlab/release-event.json", "Release Hook"): {
        "release.tag": "v1.1",
        "release.name": "v1.1",
        "tag": "v1.1",
        "sha": "ee0a3fb31ac16e11b9dbb596ad16d4af654d08f8",
    },
    ("gitlab/system-push-event.json", "System Hook"): {"branch": "master", "sha": GL_PUSH_SHA},
    # The system hook's sample is of an annotated tag: its checkout_sha is the tagged commit.
    ("gitlab/system-tag-event.json", "System Hook"): {
        "tag": "v1.0.0",
        "sha": "5937ac0a7beb003549fc5fd26fc247adbce4a52e",
    },
    ("gitlab/system-merge-request-event.json", "System Hook"): {
        "pull_request.number": 1,
        "pull_request.head_sha": "ba3e0d8ff79c80d5b0bbb4f3e2e343e0aaa662b7",
    },
    ("gitea/push-event.json", "push"): {
        "repository.full_name": "example/example",
        "repository.clone_url": "http://localhost:3000/example/example.git",
        "branch": "master",
        "sha": GITEA_SHA,
        "before": None,
        "action": "created",
        "actor.login": "example",
    },
    ("gitea/create-event.json", "create"): {"branch": "master", "sha": GITEA_SHA},
    ("gitea/pull-request-event.json", "pull_request"): {
        "action": "opened",
        "pull_request.number": 2,
        "pull_request.head_sha": GITEA_HEAD,
        "pull_request.base_ref": "master",
        "pull_request.from_fork": True,  # example2/example into example/example
        "sha": GITEA_HEAD,
    },
    ("gitea/pull-request-comment-event.json", "pull_request_comment"): {
        "comment.body": "example",
        "comment.on_pull_request": True,
        "pull_request.number": 2,
        "pull_request.merged": False,
    },
    ("gitea/issue-comment-event.json", "issue_comment"): {
        "comment.on_pull_request": False,
        "pull_request": None,
    },
    ("gitea/release-event.json", "release"): {
        "repository.full_name": "example/example",
        "release.tag": "example",
        "release.name": "0.0.0",
        "action": "published",
    },
}


def _field(event: Event, path: str) -> Any:
    value: Any = event
    for name in path.split("."):
        value = getattr(value, name)
    return value


@pytest.mark.parametrize("case", CASES, ids=["{}[{}]".format(*case_key(case)) for case in CASES])
def test_case_normalises_to_its_kind_and_fields(case: dict[str, Any]) -> None:
    key = case_key(case)
    event = _normalise(case)
    assert (event.provider, event.name) == (case["provider"], key[1])
    assert key in KINDS, f"add {key} to KINDS"
    assert event.kind is KINDS[key]
    actual = {path: _field(event, path) for path in FIELDS.get(key, {})}
    assert actual == FIELDS.get(key, {})


def test_tables_name_only_cases_of_the_manifest() -> None:
    cases = {case_key(case) for case in CASES}
    assert set(KINDS) == cases
    assert set(FIELDS) <= cases


@pytest.mark.parametrize(
    "case",
    [case for case in CASES if case["provider"] == "gitea"],
    ids=lambda case: "{}[{}]".format(*case_key(case)),
)
def test_forgejo_reads_gitea_payloads_the_same(case: dict[str, Any]) -> None:
    as_forgejo = _normalise(case, provider="forgejo")
    assert as_forgejo.provider == "forgejo"
    assert as_forgejo == _normalise(case).model_copy(update={"provider": "forgejo"})
