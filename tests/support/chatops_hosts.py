"""Git hosts faked at their APIs for ChatOps, on top of `deploy_hosts` (deployments, statuses,
Shipyard's own comments): the repository's people and their roles, what they comment on its
pull requests (read back by id), the pull requests (head, fork, draft), the CI each commit
reports, comparisons with the base branch, and the reactions Shipyard leaves — GitHub's
reactions, GitLab's award emoji, Gitea's reactions — each in its own host's API shapes.

Roles are said in GitHub's words (admin, maintain, write, triage, read) and translated into
each host's: GitLab's access levels, Gitea's admin / write / read. CI states are said in
Shipyard's (pending, success, failure) and translated too. What Shipyard asks for is in
`calls` (every request as the host took it); the expected requests are `Sent`s
(`deploy_hosts.on_repo`), built here for the reactions and the replies."""

from __future__ import annotations

import itertools
import json
import re
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.support.deploy_hosts import BOT, DeployHost, Sent, on_repo
from tests.support.deploying import REPOSITORY
from tests.support.release_hosts import (
    GITEA,
    GITHUB_API,
    GITLAB,
    Answer,
    Call,
    FakeRegistry,
    FakeRepository,
    faked,
)
from tests.support.releases import sha_of
from tests.support.samples import load_sample

__all__ = [
    "BOT",
    "FORK",
    "ChatopsHost",
    "FakePull",
    "chatops_host",
    "head_of",
    "reaction_request",
    "reply_request",
]

FORK = "mallory/web"  # where a fork's pull request comes from
PROJECT_ID, FORK_PROJECT_ID = 42, 43  # GitLab's ids of acme/web and of the fork
_JSON = {"content-type": "application/json"}

# A role in GitHub's words, in each host's: GitHub's (legacy permission, role name), GitLab's
# access level, Gitea's permission (which has no maintain or triage).
_GITHUB_ROLE = {
    "admin": ("admin", "admin"),
    "maintain": ("write", "maintain"),
    "write": ("write", "write"),
    "triage": ("read", "triage"),
    "read": ("read", "read"),
}
_GITLAB_LEVEL = {"admin": 50, "maintain": 40, "write": 30, "triage": 20, "read": 10}
_GITEA_ROLE = {"admin": "admin", "write": "write", "read": "read"}
# A CI state in Shipyard's words, in each host's.
_CI_STATE = {
    "github": {"pending": "pending", "success": "success", "failure": "failure"},
    "gitlab": {"pending": "running", "success": "success", "failure": "failed"},
    "gitea": {"pending": "pending", "success": "success", "failure": "failure"},
}
# A reaction (Shipyard's word, GitHub's) as each host's API names it.
_REACTION_WORD = {
    "github": {"eyes": "eyes", "rocket": "rocket", "+1": "+1", "-1": "-1"},
    "gitlab": {"eyes": "eyes", "rocket": "rocket", "+1": "thumbsup", "-1": "thumbsdown"},
    "gitea": {"eyes": "eyes", "rocket": "rocket", "+1": "+1", "-1": "-1"},
}


def head_of(number: int) -> str:
    """The head commit of pull request `number`, unless a test gives it another."""
    return sha_of(f"pull-{number}")


def _json(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Answer:
    return status, {**_JSON, **(headers or {})}, json.dumps(data).encode()


@dataclass
class FakePull:
    """A pull request (GitLab: merge request) as the host has it now."""

    number: int
    head: str = ""
    fork: bool = False
    draft: bool = False
    state: str = "open"  # open, closed, merged
    base: str = "main"
    branch: str = ""

    def __post_init__(self) -> None:
        self.head = self.head or head_of(self.number)
        self.branch = self.branch or f"feature-{self.number}"


@dataclass
class ChatopsHost:
    """One host's side of ChatOps, answering before `deploy` (which answers the rest).

    `roles` maps a login to its role (GitHub's words; a login not in it is no collaborator);
    `ci` maps a commit to its reports, context → state (pending, success, failure); `behind`
    is how many commits every pull request's head is behind its base. `reactions` are the
    (comment id, reaction in the host's word) Shipyard left, in order."""

    deploy: DeployHost
    roles: dict[str, str] = field(default_factory=dict)
    pulls: dict[int, FakePull] = field(default_factory=dict)
    ci: dict[str, dict[str, str]] = field(default_factory=dict)
    behind: int = 0
    reactions: list[tuple[int, str]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(70001))

    @property
    def provider(self) -> str:
        return self.deploy.provider

    @property
    def calls(self) -> list[Call]:
        return self.deploy.calls

    @property
    def unexpected(self) -> list[Call]:
        return self.deploy.unexpected

    def sent(self, since: int = 0) -> list[Sent]:
        return self.deploy.sent(since)

    def pull(self, number: int, **values: Any) -> FakePull:
        """Pull request `number` (made with `values`, or as it is)."""
        if number not in self.pulls or values:
            self.pulls[number] = FakePull(number, **values)
        return self.pulls[number]

    # --- what people write -------------------------------------------------------------------

    def say(self, number: int, login: str, body: str) -> int:
        """`login` comments `body` on pull request `number`: the host keeps it (listed with the
        others, read back by its id); its id."""
        self.pull(number)
        comment_id = next(self._ids)
        shape = {"github": _github_comment, "gitlab": _gitlab_note, "gitea": _gitea_comment}
        made = shape[self.provider](number, comment_id, login, body)
        self.deploy.comments.setdefault(number, []).append(made)
        return comment_id

    def comments_on(self, number: int) -> list[dict[str, Any]]:
        return self.deploy.comments.get(number, [])

    def by_shipyard(self, number: int) -> list[str]:
        """The bodies of Shipyard's comments on `number`, as they are now."""
        author = {"github": "user", "gitlab": "author", "gitea": "user"}[self.provider]
        login = "username" if self.provider == "gitlab" else "login"
        return [
            comment["body"] for comment in self.comments_on(number) if comment[author][login] == BOT
        ]

    def replies(self, number: int) -> list[str]:
        """The replies Shipyard posted on pull request `number` (its comments but the live
        ones, which carry a marker), in the order it posted them."""
        path = reply_request(self.provider, number, "").path
        return [
            call.body["body"]
            for call in self.sent()
            if call.method == "POST"
            and call.path == path
            and not call.body["body"].startswith("<!-- shipyard:")
        ]

    def live_history(self, number: int, environment: str) -> list[str]:
        """Every body Shipyard gave the live comment of `environment` on pull request `number`
        (posted, then edited), in order."""
        marker = f"<!-- shipyard:deploy-{environment} -->"
        ids = {c["id"] for c in self.comments_on(number) if c["body"].startswith(marker)}
        posted = reply_request(self.provider, number, "").path
        return [
            call.body["body"]
            for call in self.sent()
            if (
                call.method == "POST"
                and call.path == posted
                and call.body["body"].startswith(marker)
            )
            or (
                call.method in ("PATCH", "PUT")
                and call.path.rpartition("/")[2].isdigit()
                and int(call.path.rpartition("/")[2]) in ids
            )
        ]

    def reactions_on(self, comment_id: int) -> list[str]:
        """The reactions left on a comment, in Shipyard's words (GitHub's), in order."""
        words = {host: word for word, host in _REACTION_WORD[self.provider].items()}
        return [words[word] for found, word in self.reactions if found == comment_id]

    def report(self, commit: str, context: str, state: str) -> None:
        """CI reports `state` for `context` on `commit`."""
        self.ci.setdefault(commit, {})[context] = state

    # --- the API -----------------------------------------------------------------------------

    def answer(self, call: Call) -> Answer | None:
        prefix = {"github": "/repos", "gitlab": "/api/v4/projects", "gitea": "/api/v1/repos"}
        root = f"{prefix[self.provider]}/{REPOSITORY}"
        rest = call.path[len(root) :] if call.path.startswith(root + "/") else None
        answered: Answer | None = None
        if self.provider == "gitlab" and call.method == "GET" and call.path == "/api/v4/users":
            answered = self._gitlab_users(call.query.get("username", ""))
        elif rest is not None:
            answer_of = {"github": self._github, "gitlab": self._gitlab, "gitea": self._gitea}
            answered = answer_of[self.provider](call, rest)
        return answered if answered is not None else self.deploy.answer(call)

    def _comment(self, comment_id: int) -> tuple[int, dict[str, Any]] | None:
        for number, kept in self.deploy.comments.items():
            for comment in kept:
                if comment["id"] == comment_id:
                    return number, comment
        return None

    def _react(self, comment_id: int, word: str) -> bool:
        if self._comment(comment_id) is None:
            return False
        self.reactions.append((comment_id, word))
        return True

    def _reports(self, commit: str) -> list[tuple[str, str]]:
        """(context, state in the host's word) for `commit`: CI's, and the statuses Shipyard
        set on it (which the host lists with the others)."""
        words = _CI_STATE[self.provider]
        reports = [(context, words[state]) for context, state in self.ci.get(commit, {}).items()]
        assert self.deploy.api is not None
        if self.provider == "gitlab":
            own = [
                (s["name"], s["status"]) for s in self.deploy.commit_statuses if s["sha"] == commit
            ]
        else:
            own = [
                (s.body["context"], s.body["state"])
                for s in self.deploy.api.statuses
                if s.sha == commit
            ]
        return reports + own

    # GitHub: issue comments by id and their reactions, pulls, combined status, check runs,
    # compare, collaborators' permission

    def _github(self, call: Call, rest: str) -> Answer | None:
        method = call.method
        if found := re.fullmatch(r"/issues/comments/(\d+)/reactions", rest):
            if method == "POST" and self._react(int(found[1]), call.body["content"]):
                user = {"login": BOT, "id": 9, "type": "User"}
                made = load_sample("github_api", "reaction") | {"content": call.body["content"]}
                return _json(201, made | {"user": user})
            return _json(404, {"message": "Not Found"})
        if method == "GET" and (found := re.fullmatch(r"/issues/comments/(\d+)", rest)):
            kept = self._comment(int(found[1]))
            return _json(200, kept[1]) if kept else _json(404, {"message": "Not Found"})
        if method == "GET" and (found := re.fullmatch(r"/pulls/(\d+)", rest)):
            return self._pull_or_404(int(found[1]), _github_pull)
        if method == "GET" and (found := re.fullmatch(r"/commits/([0-9a-f]{40})/status", rest)):
            statuses = [
                {"id": index, "state": state, "context": context, "description": None}
                for index, (context, state) in enumerate(self._reports(found[1]), 1)
            ]
            return _json(200, {"state": "pending", "sha": found[1], "statuses": statuses})
        if method == "GET" and re.fullmatch(r"/commits/[0-9a-f]{40}/check-runs", rest):
            return _json(200, {"total_count": 0, "check_runs": []})
        if method == "GET" and (found := re.fullmatch(r"/compare/([^/]+)\.\.\.([^/]+)", rest)):
            commits = [{"sha": found[2], "commit": {"message": "a change"}}]
            answer = {"ahead_by": 1, "behind_by": self.behind, "commits": commits, "files": []}
            return _json(200, answer)
        if method == "GET" and (found := re.fullmatch(r"/collaborators/([^/]+)/permission", rest)):
            role = self.roles.get(found[1])
            if role is None:
                return _json(404, {"message": f"{found[1]} is not a user"})
            permission, role_name = _GITHUB_ROLE[role]
            user = {"login": found[1], "id": 77, "type": "User"}
            return _json(200, {"permission": permission, "role_name": role_name, "user": user})
        return None

    def _pull_or_404(self, number: int, shape: Any) -> Answer:
        pull = self.pulls.get(number)
        if pull is None:
            return _json(404, {"message": "Not Found"})
        return _json(200, shape(pull))

    # GitLab: notes by id and their award emoji, merge requests, a commit's statuses,
    # compare (both ways), users and members

    def _gitlab(self, call: Call, rest: str) -> Answer | None:
        method = call.method
        emoji = re.fullmatch(r"/merge_requests/(\d+)/notes/(\d+)/award_emoji", rest)
        if emoji and method == "POST":
            if not self._react(int(emoji[2]), call.body["name"]):
                return _json(404, {"message": "404 Note Not Found"})
            made = load_sample("gitlab_api", "award_emoji") | {
                "name": call.body["name"],
                "awardable_id": int(emoji[2]),
            }
            return _json(201, made)
        if method == "GET" and (found := re.fullmatch(r"/merge_requests/(\d+)/notes/(\d+)", rest)):
            kept = self._comment(int(found[2]))
            if kept is None or kept[0] != int(found[1]):
                return _json(404, {"message": "404 Note Not Found"})
            return _json(200, kept[1])
        if method == "GET" and (found := re.fullmatch(r"/merge_requests/(\d+)", rest)):
            return self._pull_or_404(int(found[1]), _gitlab_merge_request)
        statuses = re.fullmatch(r"/repository/commits/([0-9a-f]{40})/statuses", rest)
        if method == "GET" and statuses:
            listed = [
                {"id": index, "sha": statuses[1], "status": state, "name": context}
                for index, (context, state) in enumerate(self._reports(statuses[1]), 1)
            ]
            return _json(200, listed if call.query.get("page", "1") == "1" else [])
        if method == "GET" and rest == "/repository/compare":
            base, head = call.query["from"], call.query["to"]
            ahead = [head] if base == "main" else ["0" * 40] * self.behind
            return _json(200, {"commits": [{"id": sha} for sha in ahead], "diffs": []})
        if method == "GET" and (found := re.fullmatch(r"/members/all/(\d+)", rest)):
            login = self._gitlab_login(int(found[1]))
            if login is None:
                return _json(404, {"message": "404 Not found"})
            level = _GITLAB_LEVEL[self.roles[login]]
            member = load_sample("gitlab_api", "member") | {"id": int(found[1]), "username": login}
            return _json(200, member | {"access_level": level})
        return None

    def _gitlab_logins(self) -> list[str]:
        return sorted(self.roles)

    def _gitlab_login(self, user_id: int) -> str | None:
        logins = self._gitlab_logins()
        return logins[user_id - 100] if 0 <= user_id - 100 < len(logins) else None

    def _gitlab_users(self, username: str) -> Answer:
        logins = self._gitlab_logins()
        if username not in logins:
            return _json(200, [])
        user = load_sample("gitlab_api", "users")[0]
        return _json(200, [user | {"id": 100 + logins.index(username), "username": username}])

    # Gitea: issue comments by id and their reactions, pulls, a commit's statuses, compare,
    # collaborators' permission

    def _gitea(self, call: Call, rest: str) -> Answer | None:
        method = call.method
        if found := re.fullmatch(r"/issues/comments/(\d+)/reactions", rest):
            if method == "POST" and self._react(int(found[1]), call.body["content"]):
                user = {"id": 9, "login": BOT, "full_name": "Shipyard"}
                made = {"user": user, "content": call.body["content"]}
                return _json(201, made | {"created_at": "2025-03-01T10:06:00Z"})
            return _json(404, {"message": "The target couldn't be found."})
        if method == "GET" and (found := re.fullmatch(r"/issues/comments/(\d+)", rest)):
            kept = self._comment(int(found[1]))
            if kept is None:
                return _json(404, {"message": "The target couldn't be found."})
            return _json(200, kept[1])
        if method == "GET" and (found := re.fullmatch(r"/pulls/(\d+)", rest)):
            return self._pull_or_404(int(found[1]), _gitea_pull)
        statuses = re.fullmatch(r"/commits/([0-9a-f]{40})/statuses", rest)
        if method == "GET" and statuses:
            listed = [
                {"id": index, "status": state, "context": context, "description": ""}
                for index, (context, state) in enumerate(self._reports(statuses[1]), 1)
            ]
            shown = listed if call.query.get("page", "1") == "1" else []
            return _json(200, shown, {"x-total-count": str(len(listed))})
        if method == "GET" and (found := re.fullmatch(r"/compare/([^/]+)\.\.\.([^/]+)", rest)):
            count = 1 if found[1] == "main" else self.behind
            return _json(200, {"total_commits": count, "commits": []})
        if method == "GET" and (found := re.fullmatch(r"/collaborators/([^/]+)/permission", rest)):
            role = self.roles.get(found[1])
            if role is None:
                return _json(404, {"message": "user does not exist"})
            permission = _GITEA_ROLE[role]
            user = {"id": 5, "login": found[1], "full_name": found[1]}
            return _json(200, {"permission": permission, "role_name": permission, "user": user})
        return None


# --- each host's shapes --------------------------------------------------------------------------


def _github_comment(number: int, comment_id: int, login: str, body: str) -> dict[str, Any]:
    comment: dict[str, Any] = load_sample("github_api", "issue-comment")
    api = f"https://api.github.com/repos/{REPOSITORY}"
    return comment | {
        "id": comment_id,
        "url": f"{api}/issues/comments/{comment_id}",
        "html_url": f"https://github.com/{REPOSITORY}/pull/{number}#issuecomment-{comment_id}",
        "issue_url": f"{api}/issues/{number}",
        "body": body,
        "user": {"login": login, "id": 1000 + len(login), "type": "User"},
        "author_association": "MEMBER",
    }


def _gitlab_note(number: int, note_id: int, login: str, body: str) -> dict[str, Any]:
    note: dict[str, Any] = load_sample("gitlab_api", "note")
    return note | {
        "id": note_id,
        "body": body,
        "author": {**note["author"], "username": login, "name": login},
        "system": False,
        "noteable_type": "MergeRequest",
        "noteable_iid": number,
        "project_id": PROJECT_ID,
    }


def _gitea_comment(number: int, comment_id: int, login: str, body: str) -> dict[str, Any]:
    comment: dict[str, Any] = load_sample("gitea_api", "comment")
    return comment | {
        "id": comment_id,
        "html_url": f"{GITEA}/{REPOSITORY}/pulls/{number}#issuecomment-{comment_id}",
        "pull_request_url": f"{GITEA}/{REPOSITORY}/pulls/{number}",
        "issue_url": "",
        "user": {"id": 1000 + len(login), "login": login, "full_name": login},
        "body": body,
    }


def _github_pull(pull: FakePull) -> dict[str, Any]:
    sample: dict[str, Any] = load_sample("github_api", "pull")
    own = {"id": 7, "name": "web", "full_name": REPOSITORY}
    fork = {"id": 8, "name": "web", "full_name": FORK}
    return sample | {
        "number": pull.number,
        "url": f"{GITHUB_API}/repos/{REPOSITORY}/pulls/{pull.number}",
        "html_url": f"https://github.com/{REPOSITORY}/pull/{pull.number}",
        "state": "closed" if pull.state != "open" else "open",
        "draft": pull.draft,
        "merged": pull.state == "merged",
        "merged_at": "2026-03-02T11:00:00Z" if pull.state == "merged" else None,
        "head": {
            **sample["head"],
            "ref": pull.branch,
            "sha": pull.head,
            "repo": fork if pull.fork else own,
        },
        "base": {**sample["base"], "ref": pull.base, "repo": own},
    }


def _gitlab_merge_request(pull: FakePull) -> dict[str, Any]:
    sample: dict[str, Any] = load_sample("gitlab_api", "merge_request")
    state = {"open": "opened", "closed": "closed", "merged": "merged"}[pull.state]
    return sample | {
        "iid": pull.number,
        "id": 90 + pull.number,
        "project_id": PROJECT_ID,
        "state": state,
        "draft": pull.draft,
        "work_in_progress": pull.draft,
        "source_branch": pull.branch,
        "target_branch": pull.base,
        "sha": pull.head,
        "source_project_id": FORK_PROJECT_ID if pull.fork else PROJECT_ID,
        "target_project_id": PROJECT_ID,
        "web_url": f"{GITLAB}/{REPOSITORY}/-/merge_requests/{pull.number}",
    }


def _gitea_pull(pull: FakePull) -> dict[str, Any]:
    sample: dict[str, Any] = load_sample("gitea_api", "pull_request")
    own = {"id": 7, "name": "web", "full_name": REPOSITORY}
    fork = {"id": 8, "name": "web", "full_name": FORK}
    return sample | {
        "number": pull.number,
        "url": f"{GITEA}/api/v1/repos/{REPOSITORY}/pulls/{pull.number}",
        "html_url": f"{GITEA}/{REPOSITORY}/pulls/{pull.number}",
        "state": "closed" if pull.state != "open" else "open",
        "draft": pull.draft,
        "merged": pull.state == "merged",
        "head": {
            **sample["head"],
            "label": pull.branch,
            "ref": pull.branch,
            "sha": pull.head,
            "repo_id": 8 if pull.fork else 7,
            "repo": fork if pull.fork else own,
        },
        "base": {**sample["base"], "label": pull.base, "ref": pull.base, "repo_id": 7, "repo": own},
    }


# --- what Shipyard should send -------------------------------------------------------------------


def writes(sent: list[Sent]) -> list[Sent]:
    """What Shipyard wrote to the host (every request but a read)."""
    return [call for call in sent if call.method != "GET"]


def reaction_request(provider: str, number: int, comment_id: int, reaction: str) -> Sent:
    """The reaction (Shipyard's word: eyes, rocket, +1, -1) on a command, as the host's API
    takes it: GitHub's and Gitea's `POST …/issues/comments/{id}/reactions {"content"}`,
    GitLab's `POST …/merge_requests/:iid/notes/:note_id/award_emoji {"name"}`."""
    word = _REACTION_WORD[provider][reaction]
    if provider == "gitlab":
        rest = f"/merge_requests/{number}/notes/{comment_id}/award_emoji"
        return on_repo(provider, "POST", rest, {"name": word})
    return on_repo(provider, "POST", f"/issues/comments/{comment_id}/reactions", {"content": word})


def reply_request(provider: str, number: int, body: str) -> Sent:
    """A new comment on pull request `number`: GitHub's and Gitea's issue comment, GitLab's
    merge-request note."""
    rest = (
        f"/merge_requests/{number}/notes" if provider == "gitlab" else f"/issues/{number}/comments"
    )
    return on_repo(provider, "POST", rest, {"body": body})


@contextmanager
def chatops_host(
    provider: str,
    config: str,
    *,
    roles: Mapping[str, str] | None = None,
    pulls: Mapping[int, FakePull] | None = None,
    registry: FakeRegistry | None = None,
) -> Iterator[ChatopsHost]:
    """`provider`'s API for acme/web, with `config` as its `.shipyard.yml` at main, `roles`
    (login → role, GitHub's words) and `pulls` (and `registry`, when given), for the block.
    Shipyard's own user (BOT) writes on the repository."""
    deploy = DeployHost(provider)
    host = ChatopsHost(deploy, roles={BOT: "write", **(roles or {})}, pulls=dict(pulls or {}))
    repositories = {REPOSITORY: FakeRepository(config=textwrap.dedent(config))}
    with faked(provider, repositories, registry, answers=host.answer) as api:
        deploy.api = api
        yield host
