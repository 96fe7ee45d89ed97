"""What each Git host should be told of a deployment job, request by request, in the words of
its API's documentation: GitHub's deployments, deployment statuses and commit statuses;
GitLab's environments, deployments and commit statuses; Gitea's commit statuses; and the
pull request comment on each. The requests are `deploy_hosts.Sent`, to compare with what a
faked host received. Descriptions are as reporting cuts them (`described`)."""

from __future__ import annotations

from dataclasses import dataclass

from tests.support.deploy_hosts import Sent, job_page, on_repo
from tests.support.releases import sha_of

GITHUB, GITLAB, GITEA = "github", "gitlab", "gitea"
MAX_DESCRIPTION = 140  # the longest description reporting sends


def described(text: str) -> str:
    """A description as reporting sends it: its whitespace collapsed, and when longer than
    MAX_DESCRIPTION characters, cut to one less and ended with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_DESCRIPTION else f"{text[: MAX_DESCRIPTION - 1]}…"


@dataclass(frozen=True)
class Deployed:
    """A job deploying release `release` (named so, at commit `sha_of(release)`) to
    `environment`, whose URL is `url`."""

    id: int
    release_id: int
    release: str
    environment: str
    url: str
    production: bool = False

    @property
    def sha(self) -> str:
        return sha_of(self.release)

    @property
    def words(self) -> str:
        """What reporting calls the job: `deploy <release> to <environment>`."""
        return f"deploy {self.release} to {self.environment}"

    def rollback_words(self, previous: str) -> str:
        """What the deployment of its rollback to release `previous` says it does."""
        return f"roll {self.environment} back to {previous}"

    @property
    def context(self) -> str:
        return f"shipyard/deploy/{self.environment}"

    @property
    def page(self) -> str:
        return job_page(self.id)

    def payload(self, kind: str) -> dict[str, object]:
        return {"shipyard": {"job": self.id, "release": self.release_id, "kind": kind}}


# --- GitHub ------------------------------------------------------------------------------------


def github_status(job: Deployed, state: str, text: str, *, sha: str | None = None) -> Sent:
    """POST /repos/{owner}/{repo}/statuses/{sha}: {state, context, description, target_url}."""
    body = {
        "state": state,
        "context": job.context,
        "description": described(text),
        "target_url": job.page,
    }
    return on_repo(GITHUB, "POST", f"/statuses/{sha or job.sha}", body)


def github_deployment(
    job: Deployed, *, kind: str = "deploy", sha: str | None = None, text: str | None = None
) -> Sent:
    """POST /repos/{owner}/{repo}/deployments, the deployed commit as `ref`, described as the
    job (`text` for a rollback's own)."""
    body = {
        "ref": sha or job.sha,
        "environment": job.environment,
        "payload": job.payload(kind),
        "auto_merge": False,
        "required_contexts": [],
        "production_environment": job.production,
        "transient_environment": False,
        "description": described(text or job.words),
    }
    return on_repo(GITHUB, "POST", "/deployments", body)


def github_deployment_status(job: Deployed, deployment_id: int, state: str, text: str) -> Sent:
    """POST /repos/{owner}/{repo}/deployments/{id}/statuses: {state, environment_url, log_url,
    description}."""
    body = {
        "state": state,
        "environment_url": job.url,
        "log_url": job.page,
        "description": described(text),
    }
    return on_repo(GITHUB, "POST", f"/deployments/{deployment_id}/statuses", body)


def github_pulls_of(sha: str) -> Sent:
    """GET /repos/{owner}/{repo}/commits/{sha}/pulls: the pull requests of a commit."""
    return on_repo(GITHUB, "GET", f"/commits/{sha}/pulls", per_page="100")


def github_comments(number: int) -> Sent:
    return on_repo(GITHUB, "GET", f"/issues/{number}/comments", per_page="100")


def github_new_comment(number: int, body: str) -> Sent:
    return on_repo(GITHUB, "POST", f"/issues/{number}/comments", {"body": body})


def github_edited_comment(comment_id: int, body: str) -> Sent:
    return on_repo(GITHUB, "PATCH", f"/issues/comments/{comment_id}", {"body": body})


def github_until_running(job: Deployed, deployment_id: int) -> list[Sent]:
    """From the promotion to the job running its tasks, the commit's pull requests asked for
    last (after reading the config: `deploy_hosts.read_config`). The running job's status is
    GitHub's `pending`: it has no `running`."""
    return [
        github_status(job, "pending", f"{job.words}: queued"),
        github_deployment(job),
        github_deployment_status(job, deployment_id, "queued", job.words),
        github_deployment_status(job, deployment_id, "in_progress", job.words),
        github_status(job, "pending", f"{job.words}: running"),
        github_pulls_of(job.sha),
    ]


# --- GitLab ------------------------------------------------------------------------------------


def gitlab_status(job: Deployed, state: str, text: str, *, sha: str | None = None) -> Sent:
    """POST /projects/:id/statuses/:sha: {state, name, description, target_url}."""
    body = {
        "state": state,
        "name": job.context,
        "description": described(text),
        "target_url": job.page,
    }
    return on_repo(GITLAB, "POST", f"/statuses/{sha or job.sha}", body)


def gitlab_environment_named(name: str) -> Sent:
    return on_repo(GITLAB, "GET", "/environments", name=name)


def gitlab_new_environment(name: str, url: str, tier: str) -> Sent:
    body = {"name": name, "tier": tier, "external_url": url}
    return on_repo(GITLAB, "POST", "/environments", body)


def gitlab_tag(name: str) -> Sent:
    """GET /projects/:id/repository/tags/:name: whether the deployed ref is a tag."""
    return on_repo(GITLAB, "GET", f"/repository/tags/{name}")


def gitlab_deployment(job: Deployed, *, sha: str | None = None) -> Sent:
    """POST /projects/:id/deployments, created running (the API takes no `created`)."""
    commit = sha or job.sha
    body = {
        "environment": job.environment,
        "sha": commit,
        "ref": commit,
        "tag": False,
        "status": "running",
    }
    return on_repo(GITLAB, "POST", "/deployments", body)


def gitlab_deployment_status(deployment_id: int, status: str) -> Sent:
    """PUT /projects/:id/deployments/:deployment_id: {status}. Never `running`: a deployment
    is created running, and queued or in progress sends nothing."""
    return on_repo(GITLAB, "PUT", f"/deployments/{deployment_id}", {"status": status})


def gitlab_merge_requests_of(sha: str) -> Sent:
    """GET /projects/:id/repository/commits/:sha/merge_requests, page by page."""
    rest = f"/repository/commits/{sha}/merge_requests"
    return on_repo(GITLAB, "GET", rest, per_page="100", page="1")


def gitlab_notes(iid: int) -> Sent:
    query = {"sort": "asc", "order_by": "created_at", "per_page": "100", "page": "1"}
    return on_repo(GITLAB, "GET", f"/merge_requests/{iid}/notes", **query)


def gitlab_new_note(iid: int, body: str) -> Sent:
    return on_repo(GITLAB, "POST", f"/merge_requests/{iid}/notes", {"body": body})


def gitlab_edited_note(iid: int, note_id: int, body: str) -> Sent:
    return on_repo(GITLAB, "PUT", f"/merge_requests/{iid}/notes/{note_id}", {"body": body})


# --- Gitea -------------------------------------------------------------------------------------


def gitea_status(job: Deployed, state: str, text: str, *, sha: str | None = None) -> Sent:
    """POST /repos/{owner}/{repo}/statuses/{sha}: {state, context, description, target_url},
    linking the job's page (the deployment too: it is made with the page as its log URL)."""
    body = {
        "state": state,
        "context": job.context,
        "description": text,
        "target_url": job.page,
    }
    return on_repo(GITEA, "POST", f"/statuses/{sha or job.sha}", body)


def gitea_open_pulls() -> Sent:
    """GET /repos/{owner}/{repo}/pulls?state=open, page by page (Gitea cannot list a
    commit's pull requests)."""
    return on_repo(GITEA, "GET", "/pulls", state="open", page="1", limit="50")


def gitea_comments(number: int) -> Sent:
    return on_repo(GITEA, "GET", f"/issues/{number}/comments")


def gitea_new_comment(number: int, body: str) -> Sent:
    return on_repo(GITEA, "POST", f"/issues/{number}/comments", {"body": body})


def gitea_edited_comment(comment_id: int, body: str) -> Sent:
    return on_repo(GITEA, "PATCH", f"/issues/comments/{comment_id}", {"body": body})
