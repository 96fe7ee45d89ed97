"""The real webhook deliveries in ../shared/corpus (go-playground/webhooks testdata).

`corpus_dir()` is where they are; without them a test module skips, except under CI=true,
where their absence fails it (like the real services in tests/services.py). `KINDS` is the
kind every case of the manifest normalises to.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from providers.events import EventKind

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def corpus_dir() -> Path:
    """The corpus directory. Absent: skips the calling module, or fails it under CI=true."""
    if (CORPUS / "manifest.json").is_file():
        return CORPUS
    message = f"no webhook corpus at {CORPUS}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must run these tests", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def corpus_cases(corpus: Path) -> list[dict[str, Any]]:
    """The manifest's cases: file, provider and headers of each delivery."""
    cases: list[dict[str, Any]] = json.loads((corpus / "manifest.json").read_text())["cases"]
    return cases


def event_name(case: dict[str, Any]) -> str:
    """The event the case's headers name (X-GitHub-Event, X-Gitlab-Event, X-Gitea-Event)."""
    headers: dict[str, str] = case["headers"]
    return next(value for header, value in headers.items() if header.lower().endswith("-event"))


def case_key(case: dict[str, Any]) -> tuple[str, str]:
    """(file, event name): what KINDS is keyed by."""
    return case["file"], event_name(case)


K = EventKind

# The kind of every case in the manifest, keyed by (file, event header).
KINDS: dict[tuple[str, str], EventKind] = {
    ("github/check-run.json", "check_run"): K.PIPELINE,
    ("github/check-suite.json", "check_suite"): K.PIPELINE,
    ("github/commit-comment.json", "commit_comment"): K.COMMENT,
    ("github/create.json", "create"): K.OTHER,  # a tag; its push is the `tag` event
    ("github/delete.json", "delete"): K.OTHER,
    ("github/dependabot_alert.json", "dependabot_alert"): K.OTHER,
    ("github/deploy_key.json", "deploy_key"): K.OTHER,
    ("github/deployment.json", "deployment"): K.DEPLOYMENT,
    ("github/deployment-status.json", "deployment_status"): K.DEPLOYMENT,
    ("github/fork.json", "fork"): K.OTHER,
    ("github/gollum.json", "gollum"): K.OTHER,
    ("github/installation.json", "installation"): K.INSTALLATION,
    ("github/installation-repositories.json", "installation_repositories"): K.INSTALLATION,
    ("github/integration-installation.json", "integration_installation"): K.INSTALLATION,
    (
        "github/integration-installation-repositories.json",
        "integration_installation_repositories",
    ): K.INSTALLATION,
    ("github/issue-comment.json", "issue_comment"): K.COMMENT,
    ("github/pull-request-issue-comment.json", "issue_comment"): K.COMMENT,
    ("github/issues.json", "issues"): K.OTHER,
    ("github/label.json", "label"): K.OTHER,
    ("github/member.json", "member"): K.OTHER,
    ("github/membership.json", "membership"): K.OTHER,
    ("github/milestone.json", "milestone"): K.OTHER,
    ("github/organization.json", "organization"): K.OTHER,
    ("github/org-block.json", "org_block"): K.OTHER,
    ("github/page-build.json", "page_build"): K.OTHER,
    ("github/ping.json", "ping"): K.PING,
    ("github/project-card.json", "project_card"): K.OTHER,
    ("github/project-column.json", "project_column"): K.OTHER,
    ("github/project.json", "project"): K.OTHER,
    ("github/public.json", "public"): K.OTHER,
    ("github/pull-request.json", "pull_request"): K.PULL_REQUEST,
    ("github/pull-request-review.json", "pull_request_review"): K.PULL_REQUEST,
    ("github/pull-request-review-comment.json", "pull_request_review_comment"): K.COMMENT,
    ("github/push.json", "push"): K.PUSH,
    ("github/release.json", "release"): K.RELEASE,
    ("github/repository.json", "repository"): K.OTHER,
    ("github/repository-edited.json", "repository"): K.OTHER,
    ("github/repository-vulnerability-alert.json", "repository_vulnerability_alert"): K.OTHER,
    ("github/security-advisory.json", "security_advisory"): K.OTHER,
    ("github/status.json", "status"): K.PIPELINE,
    ("github/team.json", "team"): K.OTHER,
    ("github/team-add.json", "team_add"): K.OTHER,
    ("github/watch.json", "watch"): K.OTHER,
    ("github/workflow_dispatch.json", "workflow_dispatch"): K.OTHER,
    ("github/workflow_job.json", "workflow_job"): K.PIPELINE,
    ("github/workflow_run.json", "workflow_run"): K.PIPELINE,
    ("github/github-app-authorization.json", "github_app_authorization"): K.OTHER,
    ("github/code_scanning_alert.json", "code_scanning_alert"): K.OTHER,
    ("gitlab/push-event.json", "Push Hook"): K.PUSH,
    ("gitlab/tag-event.json", "Tag Push Hook"): K.TAG,
    ("gitlab/issue-event.json", "Issue Hook"): K.OTHER,
    ("gitlab/confidential-issue-event.json", "Confidential Issue Hook"): K.OTHER,
    ("gitlab/comment-commit-event.json", "Note Hook"): K.COMMENT,
    ("gitlab/confidential-comment-event.json", "Confidential Note Hook"): K.COMMENT,
    ("gitlab/comment-merge-request-event.json", "Note Hook"): K.COMMENT,
    ("gitlab/comment-issue-event.json", "Note Hook"): K.COMMENT,
    ("gitlab/comment-snippet-event.json", "Note Hook"): K.COMMENT,
    ("gitlab/merge-request-event.json", "Merge Request Hook"): K.PULL_REQUEST,
    ("gitlab/wikipage-event.json", "Wiki Page Hook"): K.OTHER,
    ("gitlab/pipeline-event.json", "Pipeline Hook"): K.PIPELINE,
    ("gitlab/build-event.json", "Build Hook"): K.PIPELINE,
    ("gitlab/build-event.json", "Job Hook"): K.PIPELINE,
    ("gitlab/job-event.json", "Job Hook"): K.PIPELINE,
    ("gitlab/deployment-event.json", "Deployment Hook"): K.DEPLOYMENT,
    ("gitlab/release-event.json", "Release Hook"): K.RELEASE,
    ("gitlab/system-push-event.json", "System Hook"): K.PUSH,
    ("gitlab/system-tag-event.json", "System Hook"): K.TAG,
    ("gitlab/system-merge-request-event.json", "System Hook"): K.PULL_REQUEST,
    ("gitea/create-event.json", "create"): K.OTHER,  # a branch; its push is the `push` event
    ("gitea/delete-event.json", "delete"): K.OTHER,
    ("gitea/fork-event.json", "fork"): K.OTHER,
    ("gitea/issues-event.json", "issues"): K.OTHER,
    ("gitea/issue-assign-event.json", "issue_assign"): K.OTHER,
    ("gitea/issue-label-event.json", "issue_label"): K.OTHER,
    ("gitea/issue-milestone-event.json", "issue_milestone"): K.OTHER,
    ("gitea/issue-comment-event.json", "issue_comment"): K.COMMENT,
    ("gitea/push-event.json", "push"): K.PUSH,
    ("gitea/pull-request-event.json", "pull_request"): K.PULL_REQUEST,
    ("gitea/pull-request-assign-event.json", "pull_request_assign"): K.PULL_REQUEST,
    ("gitea/pull-request-label-event.json", "pull_request_label"): K.PULL_REQUEST,
    ("gitea/pull-request-milestone-event.json", "pull_request_milestone"): K.PULL_REQUEST,
    ("gitea/pull-request-comment-event.json", "pull_request_comment"): K.COMMENT,
    ("gitea/pull-request-review-event.json", "pull_request_review"): K.PULL_REQUEST,
    ("gitea/repository-event.json", "repository"): K.OTHER,
    ("gitea/release-event.json", "release"): K.RELEASE,
}
