"""Git hosts faked at their APIs for deployments, on top of `release_hosts` (the repository,
its `.shipyard.yml`, its commit statuses): GitHub's deployments and their statuses; GitLab's
environments, deployments and commit statuses, refusing the transitions GitLab's state machines
refuse; Gitea's none (a deployment is a commit status there); and on each, the open pull request
of a commit and its comments. Every call is recorded as the API takes it (`Sent`); one the fake
does not know is answered 404 and kept in `unexpected`."""

from __future__ import annotations

import itertools
import json
import re
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from app.db.engine import SessionFactory
from app.db.models.releases import ReleaseState
from app.settings import Settings
from tests.support.deploying import REPOSITORY
from tests.support.release_hosts import (
    AUTH,
    GITEA,
    GITLAB,
    PUBLIC_URL,
    SETTINGS,
    Answer,
    Call,
    FakeHost,
    FakeRepository,
    faked,
)
from tests.support.releases import add_release, digest_of, sha_of
from tests.support.samples import load_sample
from tests.support.settings import make_settings

BOT = "shipyard-bot"  # the user each host's token belongs to
_JSON = {"content-type": "application/json"}

# Where each host keeps the repository, as the client sends it (GitLab: its path, encoded).
REPO_PATH = {
    "github": f"/repos/{REPOSITORY}",
    "gitlab": f"/api/v4/projects/{quote(REPOSITORY, safe='')}",
    "gitea": f"/api/v1/repos/{REPOSITORY}",
}
USER_PATH = {"github": "/user", "gitlab": "/api/v4/user", "gitea": "/api/v1/user"}


def deploy_settings(database_url: str, provider: str, **more: Any) -> Settings:
    """Settings reaching `provider`'s faked API, jobs run in this process, links to PUBLIC_URL.
    Command targets run their scripts outside the sandbox (they note what ran in the test's
    directory)."""
    values: dict[str, Any] = {
        "SHIPYARD_PUBLIC_URL": PUBLIC_URL,
        "SHIPYARD_STEP_SANDBOX": "none",
        "SHIPYARD_HEARTBEAT": "0.2",
        **SETTINGS[provider],
        **more,
    }
    return make_settings(database_url, **values)


async def ready_release_on(sessions: SessionFactory, provider: str, name: str) -> int:
    """A ready release `name` of acme/web on `provider`, at commit `sha_of(name)`, pinning its
    component web by `digest_of("web-<name>")` (as `deploying.ready_release` on GitHub)."""
    return await add_release(
        sessions,
        name,
        provider=provider,
        repository=REPOSITORY,
        state=ReleaseState.READY,
        commit_sha=sha_of(name),
        components=[
            {
                "name": "web",
                "image": "registry.example.com/acme/web",
                "digest": digest_of(f"web-{name}"),
                "tag": name,
            }
        ],
    )


def job_page(job_id: int) -> str:
    """The deployment's page on Shipyard: the log URL every host is given."""
    return f"{PUBLIC_URL}/deployments/{job_id}"


# --- what a host received ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One request as the host's API took it."""

    method: str
    path: str  # as sent: percent-encoded as the client encoded it
    query: dict[str, str]
    auth: str | None  # the value of the host's authentication header
    body: Any  # the JSON body, or None


def sent(provider: str, calls: Sequence[Call]) -> list[Sent]:
    """`calls` as `Sent`; a call with a body must say it is JSON."""
    header = AUTH[provider][0]
    for call in calls:
        if call.body is not None:
            media_type = call.headers.get("content-type", "").split(";")[0].strip()
            assert media_type == "application/json", call
    return [
        Sent(call.method, urlsplit(call.url).path, call.query, call.headers.get(header), call.body)
        for call in calls
    ]


def on_repo(provider: str, method: str, rest: str, body: Any = None, **query: str) -> Sent:
    """A request to `rest` under the repository on `provider`, with the token."""
    return Sent(method, f"{REPO_PATH[provider]}{rest}", query, AUTH[provider][1], body)


def who_am_i(provider: str) -> Sent:
    """`GET /user`: the token's user, asked before Shipyard edits a comment it finds."""
    return Sent("GET", USER_PATH[provider], {}, AUTH[provider][1], None)


def read_config(provider: str) -> list[Sent]:
    """The default branch, then `.shipyard.yml` at it: what every promotion reads first."""
    config = {
        "github": "/contents/.shipyard.yml",
        "gitlab": "/repository/files/.shipyard.yml/raw",
        "gitea": "/raw/.shipyard.yml",
    }[provider]
    return [on_repo(provider, "GET", ""), on_repo(provider, "GET", config, ref="main")]


def progress_body(
    job_id: int,
    words: str,
    state: str,
    rows: Sequence[tuple[str, str, str]],
    error: str = "",
    environment: str = "staging",
    wave: str = "",
) -> str:
    """The pull request comment of a job: the environment's marker, the job's, its state, the
    wave it is at (`Wave 1/2`), a line per task (kind and component, target, state), and its
    error quoted."""
    lines = [
        f"<!-- shipyard:deploy-{environment} -->",
        f"<!-- shipyard:job-{job_id} -->",
        f"**Shipyard** · [{words}]({job_page(job_id)}) · **{state}**",
        "",
        *([wave, ""] if wave else []),
        "| task | target | state |",
        "| --- | --- | --- |",
        *(f"| {what} | {target} | {task_state} |" for what, target, task_state in rows),
    ]
    if error:
        lines += ["", f"> {error[:500]}"]
    return "\n".join(lines)


# --- the hosts' state --------------------------------------------------------------------------


def _json(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Answer:
    return status, {**_JSON, **(headers or {})}, json.dumps(data).encode()


def _under(path: str, prefix: str) -> str | None:
    """The rest of `path` below `prefix` (decoded), or None when it is not below it."""
    if path == prefix or path.startswith(prefix + "/"):
        return path[len(prefix) :]
    return None


@dataclass
class DeployHost:
    """A host's deployments, statuses and pull requests as its API keeps them.

    `open_pulls` maps a commit to the number of the open pull request whose head it is.
    """

    provider: str
    open_pulls: dict[str, int] = field(default_factory=dict)
    deployments: list[dict[str, Any]] = field(default_factory=list)  # as the host answered
    deployment_statuses: dict[int, list[str]] = field(default_factory=dict)  # id → states
    environments: list[dict[str, Any]] = field(default_factory=list)  # GitLab's
    commit_statuses: list[dict[str, Any]] = field(default_factory=list)  # GitLab's, accepted
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # pull → comments
    api: FakeHost | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))

    @property
    def calls(self) -> list[Call]:
        assert self.api is not None
        return self.api.calls

    @property
    def unexpected(self) -> list[Call]:
        assert self.api is not None
        return self.api.unexpected

    def sent(self, since: int = 0, until: int | None = None) -> list[Sent]:
        """What the host received from its `since`th call on (up to its `until`th)."""
        return sent(self.provider, self.calls[since:until])

    def answer(self, call: Call) -> Answer | None:
        if call.method == "GET" and call.path == USER_PATH[self.provider]:
            return _json(200, {"id": 9, "login": BOT, "username": BOT, "type": "User"})
        prefix = {"github": "/repos", "gitlab": "/api/v4/projects", "gitea": "/api/v1/repos"}
        rest = _under(call.path, f"{prefix[self.provider]}/{REPOSITORY}")
        if rest is None:
            return None
        answer_of = {"github": self._github, "gitlab": self._gitlab, "gitea": self._gitea}
        return answer_of[self.provider](call, rest)

    # GitHub: deployments and their statuses, a commit's pull requests, issue comments

    def _github(self, call: Call, rest: str) -> Answer | None:
        method = call.method
        if method == "POST" and rest == "/deployments":
            return self._github_deployment(call.body)
        if method == "POST" and (found := re.fullmatch(r"/deployments/(\d+)/statuses", rest)):
            return self._github_deployment_status(int(found[1]), call.body)
        if method == "GET" and (found := re.fullmatch(r"/commits/([0-9a-f]{40})/pulls", rest)):
            number = self.open_pulls.get(found[1])
            return _json(200, [] if number is None else [self._github_pull(number, found[1])])
        return self._issue_comments(call, rest, self._github_comment)

    def _github_deployment(self, body: dict[str, Any]) -> Answer:
        if not isinstance(body.get("ref"), str) or not body.get("environment"):
            return _json(422, {"message": "Invalid request.", "errors": ["ref is required"]})
        deployment_id = next(self._ids)
        url = f"https://api.github.com/repos/{REPOSITORY}/deployments/{deployment_id}"
        answer = load_sample("github_api", "deployment") | {
            "url": url,
            "id": deployment_id,
            "sha": body["ref"],
            "ref": body["ref"],
            "payload": body.get("payload", {}),
            "environment": body["environment"],
            "original_environment": body["environment"],
            "description": body.get("description"),
            "creator": {"login": BOT, "id": 9, "type": "User"},
            "statuses_url": f"{url}/statuses",
            "production_environment": body.get("production_environment", False),
            "transient_environment": body.get("transient_environment", False),
        }
        self.deployments.append(answer)
        self.deployment_statuses[deployment_id] = []
        return _json(201, answer)

    def _github_deployment_status(self, deployment_id: int, body: dict[str, Any]) -> Answer:
        if deployment_id not in self.deployment_statuses:
            return _json(404, {"message": "Not Found"})
        states = self.deployment_statuses[deployment_id]
        states.append(body["state"])
        answer = load_sample("github_api", "deployment-status") | {
            "id": deployment_id * 100 + len(states),
            "state": body["state"],
            "description": body.get("description", ""),
            "environment_url": body.get("environment_url", ""),
            "log_url": body.get("log_url", ""),
        }
        return _json(201, answer)

    def _github_pull(self, number: int, sha: str) -> dict[str, Any]:
        repo = {"id": 7, "name": "web", "full_name": REPOSITORY}
        pull: dict[str, Any] = load_sample("github_api", "pull")
        return pull | {
            "number": number,
            "state": "open",
            "html_url": f"https://github.com/{REPOSITORY}/pull/{number}",
            "head": {**pull["head"], "ref": "release", "sha": sha, "repo": repo},
            "base": {**pull["base"], "ref": "main", "repo": repo},
            "merged": False,
            "merged_at": None,
        }

    def _github_comment(self, number: int, comment_id: int, body: str) -> dict[str, Any]:
        comment: dict[str, Any] = load_sample("github_api", "issue-comment")
        return comment | {
            "id": comment_id,
            "body": body,
            "user": {"login": BOT, "id": 9, "type": "User"},
            "html_url": f"https://github.com/{REPOSITORY}/pull/{number}#issuecomment-{comment_id}",
            "issue_url": f"https://api.github.com/repos/{REPOSITORY}/issues/{number}",
        }

    # Gitea: statuses are `release_hosts`'; open pulls and issue comments here

    def _gitea(self, call: Call, rest: str) -> Answer | None:
        if call.method == "GET" and rest == "/pulls" and call.query.get("state") == "open":
            pulls = [self._gitea_pull(number, sha) for sha, number in self.open_pulls.items()]
            page = int(call.query.get("page", "1"))
            shown = pulls if page == 1 else []
            return _json(200, shown, {"x-total-count": str(len(pulls))})
        return self._issue_comments(call, rest, self._gitea_comment)

    def _gitea_pull(self, number: int, sha: str) -> dict[str, Any]:
        repo = {"id": 7, "name": "web", "full_name": REPOSITORY}
        pull: dict[str, Any] = load_sample("gitea_api", "pull_request")
        return pull | {
            "number": number,
            "state": "open",
            "html_url": f"{GITEA}/{REPOSITORY}/pulls/{number}",
            "head": {**pull["head"], "ref": "release", "sha": sha, "repo": repo},
            "base": {**pull["base"], "ref": "main", "repo": repo},
        }

    def _gitea_comment(self, number: int, comment_id: int, body: str) -> dict[str, Any]:
        comment: dict[str, Any] = load_sample("gitea_api", "comment")
        return comment | {
            "id": comment_id,
            "body": body,
            "user": {"id": 9, "login": BOT, "full_name": "Shipyard"},
            "html_url": f"{GITEA}/{REPOSITORY}/pulls/{number}#issuecomment-{comment_id}",
            "pull_request_url": f"{GITEA}/{REPOSITORY}/pulls/{number}",
        }

    def _issue_comments(self, call: Call, rest: str, shape: Any) -> Answer | None:
        """A pull request's conversation as GitHub keeps it (and Gitea, which copies it):
        listed, posted to, a comment edited by its id."""
        if found := re.fullmatch(r"/issues/(\d+)/comments", rest):
            number = int(found[1])
            kept = self.comments.setdefault(number, [])
            if call.method == "GET":
                return _json(200, kept)
            if call.method == "POST":
                kept.append(shape(number, next(self._ids), call.body["body"]))
                return _json(201, kept[-1])
        if call.method == "PATCH" and (found := re.fullmatch(r"/issues/comments/(\d+)", rest)):
            for number, kept in self.comments.items():
                for index, comment in enumerate(kept):
                    if comment["id"] == int(found[1]):
                        kept[index] = shape(number, comment["id"], call.body["body"])
                        return _json(200, kept[index])
            return _json(404, {"message": "Not Found"})
        return None

    # GitLab: environments, deployments, commit statuses, merge requests and their notes

    def _gitlab(self, call: Call, rest: str) -> Answer | None:
        method = call.method
        if rest == "/environments" and method == "GET":
            name = call.query.get("name")
            return _json(200, [env for env in self.environments if env["name"] == name])
        if rest == "/environments" and method == "POST":
            return self._gitlab_environment(call.body)
        if method == "PUT" and (found := re.fullmatch(r"/environments/(\d+)", rest)):
            env = next((e for e in self.environments if e["id"] == int(found[1])), None)
            if env is None:
                return _json(404, {"message": "404 Environment Not Found"})
            env.update(call.body)
            return _json(200, env)
        if method == "GET" and rest.startswith("/repository/tags/"):
            return _json(404, {"message": "404 Tag Not Found"})  # the repository has none
        if rest == "/deployments" and method == "POST":
            return self._gitlab_deployment(call.body)
        if found := re.fullmatch(r"/deployments/(\d+)", rest):
            return self._gitlab_deployment_update(method, int(found[1]), call.body)
        if method == "POST" and (found := re.fullmatch(r"/statuses/([0-9a-f]{40})", rest)):
            return self._gitlab_commit_status(found[1], call.body)
        mrs = re.fullmatch(r"/repository/commits/([0-9a-f]{40})/merge_requests", rest)
        if method == "GET" and mrs:
            number = self.open_pulls.get(mrs[1])
            listed = [] if number is None else [self._gitlab_merge_request(number, mrs[1])]
            return _json(200, listed, {"x-next-page": ""})
        return self._gitlab_notes(call, rest)

    def _gitlab_environment(self, body: dict[str, Any]) -> Answer:
        if any(env["name"] == body.get("name") for env in self.environments):
            return _json(400, {"message": {"name": ["has already been taken"]}})
        env = load_sample("gitlab_api", "environment") | {
            "id": next(self._ids),
            "name": body["name"],
            "slug": body["name"],
            "external_url": body.get("external_url"),
            "tier": body.get("tier", "other"),
        }
        self.environments.append(env)
        return _json(201, env)

    def _gitlab_deployment(self, body: dict[str, Any]) -> Answer:
        # The API creates a deployment only as running, success, failed or canceled.
        if body.get("status") not in ("running", "success", "failed", "canceled"):
            return _json(400, {"error": "status does not have a valid value"})
        env = next((e for e in self.environments if e["name"] == body.get("environment")), None)
        if env is None:  # GitLab would make it, with no URL and a guessed tier
            return _json(400, {"message": "the test's environment was not made first"})
        deployment_id = next(self._ids)
        answer = load_sample("gitlab_api", "deployment") | {
            "id": deployment_id,
            "iid": len(self.deployments) + 1,
            "ref": body["ref"],
            "sha": body["sha"],
            "status": body["status"],
            "environment": {k: env[k] for k in ("id", "name", "external_url")},
        }
        self.deployments.append(answer)
        self.deployment_statuses[deployment_id] = [body["status"]]
        return _json(201, answer)

    def _gitlab_deployment_update(
        self, method: str, deployment_id: int, body: dict[str, Any] | None
    ) -> Answer | None:
        found = next((d for d in self.deployments if d["id"] == deployment_id), None)
        if found is None:
            return _json(404, {"message": "404 Not found"})
        if method == "GET":
            return _json(200, found)
        if method != "PUT" or body is None:
            return None
        # The state machine: `run` only from created; succeed, drop and cancel from any
        # other state than their own. A refused transition answers 400.
        status, now = body.get("status"), found["status"]
        allowed = now == "created" if status == "running" else status != now
        if status not in ("running", "success", "failed", "canceled") or not allowed:
            return _json(400, {"message": {"status": ["is invalid"]}})
        found["status"] = status
        self.deployment_statuses[deployment_id].append(status)
        return _json(200, found)

    def _gitlab_commit_status(self, sha: str, body: dict[str, Any]) -> Answer:
        """GitLab keeps one status per (commit, name) while it is pending or running, and
        moves it: pending again (`enqueue`) from pending or running, or running again, is
        refused with 400; a finished one is kept and a new one made."""
        state, name = body.get("state"), body.get("name")
        if state not in ("pending", "running", "success", "failed", "canceled"):
            return _json(400, {"error": "state does not have a valid value"})
        active = next(
            (
                s
                for s in reversed(self.commit_statuses)
                if s["sha"] == sha and s["name"] == name and s["status"] in ("pending", "running")
            ),
            None,
        )
        if active is not None and state in ("pending", "running"):
            event = "enqueue" if state == "pending" else "run"
            if state == "pending" or active["status"] == "running":
                message = (
                    f"Cannot transition status via :{event} from :{active['status']} "
                    f'(Reason(s): Status cannot transition via "{event}")'
                )
                return _json(400, {"message": message})
        values = {
            "status": state,
            "description": body.get("description"),
            "target_url": body.get("target_url"),
        }
        if active is not None:  # moved on: the same status, in its new state
            active.update(values)
            return _json(201, active)
        status = load_sample("gitlab_api", "commit_status") | {
            "id": next(self._ids),
            "sha": sha,
            "name": name,
            **values,
        }
        self.commit_statuses.append(status)
        return _json(201, status)

    def _gitlab_merge_request(self, iid: int, sha: str) -> dict[str, Any]:
        mr: dict[str, Any] = load_sample("gitlab_api", "merge_request")
        return mr | {
            "iid": iid,
            "id": 90 + iid,
            "state": "opened",
            "sha": sha,
            "web_url": f"{GITLAB}/{REPOSITORY}/-/merge_requests/{iid}",
        }

    def _gitlab_notes(self, call: Call, rest: str) -> Answer | None:
        found = re.fullmatch(r"/merge_requests/(\d+)/notes(?:/(\d+))?", rest)
        if found is None:
            return None
        iid = int(found[1])
        kept = self.comments.setdefault(iid, [])
        if call.method == "GET" and found[2] is None:
            return _json(200, kept, {"x-next-page": ""})
        if call.method == "POST" and found[2] is None:
            kept.append(self._gitlab_note(iid, next(self._ids), call.body["body"]))
            return _json(201, kept[-1])
        if call.method == "PUT" and found[2] is not None:
            for index, note in enumerate(kept):
                if note["id"] == int(found[2]):
                    kept[index] = self._gitlab_note(iid, note["id"], call.body["body"])
                    return _json(200, kept[index])
            return _json(404, {"message": "404 Note Not Found"})
        return None

    def _gitlab_note(self, iid: int, note_id: int, body: str) -> dict[str, Any]:
        note: dict[str, Any] = load_sample("gitlab_api", "note")
        return note | {
            "id": note_id,
            "body": body,
            "author": {**note["author"], "username": BOT},
            "system": False,
            "noteable_type": "MergeRequest",
            "noteable_iid": iid,
        }


@contextmanager
def deploy_host(
    provider: str, config: str, *, open_pulls: Mapping[str, int] | None = None
) -> Iterator[DeployHost]:
    """`provider`'s API for acme/web with `config` as its `.shipyard.yml` at main, for the
    block; `open_pulls` maps a commit to the open pull request whose head it is."""
    host = DeployHost(provider, dict(open_pulls or {}))
    repositories = {REPOSITORY: FakeRepository(config=textwrap.dedent(config))}
    with faked(provider, repositories, answers=host.answer) as api:
        host.api = api
        yield host
