"""Fake Git hosts at the network boundary (respx for httpx, responses for python-gitlab), each
serving one repository's .shipyard.yml and recording statuses and comments as its API takes them."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import responses
import respx

REPO = "acme/web"
FORK = "evil/web"
HEAD_SHA = "a" * 40
NEXT_SHA = "b" * 40


@dataclass
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeHost:
    """What a test needs from a host: its name, settings, and what it was sent."""

    provider: str
    settings: dict[str, str]
    config: str
    sent: list[Sent] = field(default_factory=list)
    fork_pulls: set[int] = field(default_factory=set)  # pull requests from FORK, not REPO

    def statuses(self) -> list[dict[str, Any]]:
        return [s.body for s in self.sent if s.method == "POST" and "/statuses/" in s.url]

    def comment_posts(self) -> list[Sent]:
        return [
            s
            for s in self.sent
            if s.method == "POST" and (s.url.endswith("/comments") or s.url.endswith("/notes"))
        ]

    def status_urls(self) -> list[str]:
        return [s.url for s in self.sent if s.method == "POST" and "/statuses/" in s.url]


def _record(host: FakeHost, request: httpx.Request) -> None:
    body = json.loads(request.content) if request.content else None
    host.sent.append(Sent(request.method, str(request.url), dict(request.headers), body))


def _serve_comments(
    mock: respx.MockRouter, host: FakeHost, api: str, *, first_id: int, login: str, html_url: str
) -> None:
    """A pull request's comments as GitHub's API (and Gitea's, which copies it) keeps them:
    listed, and appended to by a POST that is answered with the new comment."""
    comments: list[dict[str, Any]] = []

    def list_comments(request: httpx.Request) -> httpx.Response:
        _record(host, request)
        return httpx.Response(200, json=comments)

    def post_comment(request: httpx.Request) -> httpx.Response:
        _record(host, request)
        comment = {
            "id": first_id + len(comments),
            "body": json.loads(request.content)["body"],
            "user": {"login": login},
            "html_url": html_url,
        }
        comments.append(comment)
        return httpx.Response(201, json=comment)

    mock.get(url__regex=rf"{api}/issues/\d+/comments").mock(side_effect=list_comments)
    mock.post(url__regex=rf"{api}/issues/\d+/comments").mock(side_effect=post_comment)


AUTHOR = "octocat"  # who opens the pull requests; an admin of the repository


def github_pull(
    number: int, host_url: str, author: str = AUTHOR, head_repo: str = REPO
) -> dict[str, Any]:
    """A pull request as GitHub (and Gitea, which copies it) answers it: from the repository
    itself unless `head_repo` names a fork."""
    repo = {"full_name": REPO}
    return {
        "number": number,
        "title": "Add feature",
        "state": "open",
        "html_url": f"{host_url}/{REPO}/pull/{number}",
        "user": {"login": author},
        "head": {"ref": "feature", "sha": HEAD_SHA, "repo": {"full_name": head_repo}},
        "base": {"ref": "main", "sha": "0" * 40, "repo": repo},
        "merged": False,
        "draft": False,
    }


def _serve_people(
    mock: respx.MockRouter, host: FakeHost, api_root: str, repo_api: str, identity: str
) -> None:
    """Who Shipyard is (`/user`), the pull requests, and everyone an admin."""

    def pull(request: httpx.Request) -> httpx.Response:
        _record(host, request)
        number = int(str(request.url).rstrip("/").rsplit("/", 1)[1])
        head = FORK if number in host.fork_pulls else REPO
        pull = github_pull(number, "https://git.example", head_repo=head)
        return httpx.Response(200, json=pull)

    mock.get(f"{api_root}/user").mock(return_value=httpx.Response(200, json={"login": identity}))
    mock.get(url__regex=rf"{repo_api}/pulls/\d+$").mock(side_effect=pull)
    mock.get(url__regex=rf"{repo_api}/collaborators/[^/]+/permission").mock(
        return_value=httpx.Response(200, json={"permission": "admin", "role_name": "admin"})
    )


@contextmanager
def github(config: str, *, failing_reads: int = 0) -> Iterator[FakeHost]:
    """`failing_reads`: how many reads of the config answer 502 before one succeeds."""
    host = FakeHost("github", {"GITHUB_TOKEN": "ghp_e2e_token"}, config)
    api = "https://api.github.com/repos/acme/web"
    failures = iter(range(failing_reads))

    def contents(request: httpx.Request) -> httpx.Response:
        _record(host, request)
        if next(failures, None) is not None:
            return httpx.Response(502, json={"message": "Server Error"})
        content = base64.b64encode(host.config.encode()).decode()
        return httpx.Response(200, json={"type": "file", "encoding": "base64", "content": content})

    def status(request: httpx.Request) -> httpx.Response:
        _record(host, request)
        return httpx.Response(201, json={"id": len(host.sent)})

    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{api}/contents/.shipyard.yml").mock(side_effect=contents)
        mock.post(url__startswith=f"{api}/statuses/").mock(side_effect=status)
        _serve_comments(
            mock,
            host,
            api,
            first_id=900,
            login="shipyard[bot]",
            html_url="https://github.com/acme/web/pull/7#issuecomment-900",
        )
        _serve_people(mock, host, "https://api.github.com", api, "shipyard[bot]")
        yield host


@contextmanager
def gitea(config: str) -> Iterator[FakeHost]:
    host = FakeHost(
        "gitea", {"GITEA_URL": "https://gitea.example", "GITEA_TOKEN": "gitea_e2e_token"}, config
    )
    api = "https://gitea.example/api/v1/repos/acme/web"

    def raw(request: httpx.Request) -> httpx.Response:
        _record(host, request)
        return httpx.Response(200, content=host.config.encode())

    def status(request: httpx.Request) -> httpx.Response:
        _record(host, request)
        return httpx.Response(201, json={"id": len(host.sent), **json.loads(request.content)})

    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{api}/raw/.shipyard.yml").mock(side_effect=raw)
        mock.post(url__startswith=f"{api}/statuses/").mock(side_effect=status)
        _serve_comments(
            mock,
            host,
            api,
            first_id=500,
            login="shipyard",
            html_url="https://gitea.example/acme/web/pulls/7#issuecomment-500",
        )
        _serve_people(mock, host, "https://gitea.example/api/v1", api, "shipyard")
        yield host


@contextmanager
def gitlab(config: str) -> Iterator[FakeHost]:
    host = FakeHost(
        "gitlab",
        {"GITLAB_URL": "https://gitlab.example", "GITLAB_TOKEN": "glpat-e2e-token"},
        config,
    )
    project = "https://gitlab.example/api/v4/projects/acme%2Fweb"
    notes: list[dict[str, Any]] = []

    def record(request: Any) -> None:
        body = json.loads(request.body) if request.body else None
        host.sent.append(Sent(request.method, unquote(request.url), dict(request.headers), body))

    def raw(request: Any) -> tuple[int, dict[str, str], bytes]:
        record(request)
        return 200, {"content-type": "text/plain"}, host.config.encode()

    def status(request: Any) -> tuple[int, dict[str, str], str]:
        record(request)
        answer = {"id": len(host.sent), "status": json.loads(request.body)["state"]}
        return 201, {}, json.dumps(answer)

    def list_notes(request: Any) -> tuple[int, dict[str, str], str]:
        record(request)
        return 200, {}, json.dumps(notes)

    def post_note(request: Any) -> tuple[int, dict[str, str], str]:
        record(request)
        note = {
            "id": 300 + len(notes),
            "body": json.loads(request.body)["body"],
            "author": {"username": "shipyard"},
            "system": False,
        }
        notes.append(note)
        return 201, {}, json.dumps(note)

    def merge_request(request: Any) -> tuple[int, dict[str, str], str]:
        record(request)
        iid = int(request.url.rstrip("/").rsplit("/", 1)[1])
        answer = {
            "iid": iid,
            "title": "Add feature",
            "state": "opened",
            "source_branch": "feature",
            "target_branch": "main",
            "sha": HEAD_SHA,
            "source_project_id": 1,
            "target_project_id": 1,
            "author": {"username": AUTHOR},
            "web_url": f"https://gitlab.example/{REPO}/-/merge_requests/{iid}",
        }
        return 200, {}, json.dumps(answer)

    api = "https://gitlab.example/api/v4"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add("GET", f"{api}/user", json={"username": "shipyard", "id": 99})
        mock.add("GET", f"{api}/users", json=[{"username": AUTHOR, "id": 2}])
        mock.add("GET", f"{project}/members/all/2", json={"access_level": 50})
        mr_url = re.compile(rf"{re.escape(project)}/merge_requests/\d+$")
        mock.add_callback("GET", mr_url, callback=merge_request, content_type="application/json")
        mock.add_callback("GET", f"{project}/repository/files/.shipyard.yml/raw", callback=raw)
        mock.add_callback(
            "POST", re.compile(rf"{re.escape(project)}/statuses/\w+"), callback=status
        )
        notes_url = re.compile(rf"{re.escape(project)}/merge_requests/\d+/notes")
        mock.add_callback("GET", notes_url, callback=list_notes, content_type="application/json")
        mock.add_callback("POST", notes_url, callback=post_note, content_type="application/json")
        yield host


HOSTS = {"github": github, "gitlab": gitlab, "gitea": gitea}


def pull_request_delivery(
    provider: str,
    *,
    action: str = "opened",
    sha: str = HEAD_SHA,
    title: str = "Add feature",
    number: int = 7,
    head_repo: str = REPO,
) -> tuple[str, dict[str, Any]]:
    """(event header, payload) of a pull request event as each host sends it (GitLab's: always
    #7 from the project itself)."""
    if provider == "gitlab":
        return "Merge Request Hook", {
            "object_kind": "merge_request",
            "user": {"username": "octocat", "id": 2},
            "project": {
                "id": 1,
                "path_with_namespace": REPO,
                "web_url": "https://gitlab.example/acme/web",
                "git_http_url": "https://gitlab.example/acme/web.git",
                "default_branch": "main",
            },
            "object_attributes": {
                "iid": 7,
                "title": title,
                "action": {"opened": "open", "synchronize": "update"}[action],
                "state": "opened",
                "source_branch": "feature",
                "target_branch": "main",
                "source_project_id": 1,
                "target_project_id": 1,
                "last_commit": {"id": sha},
                **({"oldrev": "c" * 40} if action == "synchronize" else {}),
                "url": "https://gitlab.example/acme/web/-/merge_requests/7",
            },
        }
    repository = {
        "id": 1,
        "full_name": REPO,
        "html_url": f"https://{provider}.example/acme/web",
        "clone_url": f"https://{provider}.example/acme/web.git",
        "default_branch": "main",
    }
    gitea_action = {"synchronize": "synchronized"}.get(action, action)
    head_id = 1 if head_repo == REPO else 2
    return "pull_request", {
        "action": action if provider == "github" else gitea_action,
        "number": number,
        "pull_request": {
            "number": number,
            "title": title,
            "state": "open",
            "draft": False,
            "merged": False,
            "html_url": f"https://{provider}.example/acme/web/pull/{number}",
            "head": {"ref": "feature", "sha": sha, "repo": {"id": head_id, "full_name": head_repo}},
            "base": {"ref": "main", "sha": "c" * 40, "repo": {"id": 1, "full_name": REPO}},
        },
        "repository": repository,
        "sender": {"login": "octocat", "id": 2},
    }
