"""bench.chatops's GitHub stand-in: the REST API as far as a `/deploy` uses it, served in a process
of its own, recording every call it takes with its arrival time (the machine's clock).

`create_app` is a uvicorn factory (the bench's `services.Server` runs it). Its environment says
what it holds: `BENCH_HOST_CONFIG` (the `.shipyard.yml` at the default branch) and
`BENCH_HOST_SALT` (pull request N's head commit is a sha made from it and N). The bench tells it
the comments it is about to send (`POST /_bench/comments`) so that re-reading one answers its
author and body, and reads what it took through `GET /_bench/calls`. `/healthz` and `/_bench/*`
are not recorded. A call it does not know is answered 404 and recorded as such, so the report
shows it.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

__all__ = ["BOT_LOGIN", "ROUTES", "FakeGitHub", "create_app", "head_sha", "template_of"]

BOT_LOGIN = "shipyard-bench"  # the token's user: who Shipyard is on this host
WEB = "https://github.example"
SHA_MEDIA_TYPE = "application/vnd.github.sha"

Handler = Callable[["FakeGitHub", Request, dict[str, str], Any], Awaitable[Response]]

# (method, path template) -> the regular expression a concrete path matches; a `{name}` takes
# one segment, `{path}` the rest, `{basehead}` a compare's `base...head`.
_SEGMENT = {"path": ".+", "basehead": "[^/]+?\\.\\.\\.[^/]+"}


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>{_SEGMENT.get(part, '[^/]+')})"
        for index, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


def head_sha(salt: str, number: int) -> str:
    """Pull request `number`'s head commit."""
    return hashlib.sha1(f"{salt}:{number}".encode()).hexdigest()  # noqa: S324 (a name)


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class FakeGitHub:
    """What the stand-in holds: the config, the comments it was told of, what it was asked."""

    config: bytes
    salt: str
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> id, number, body…
    calls: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(700_000))

    def repository(self, full: str) -> dict[str, Any]:
        owner, _, name = full.partition("/")
        return {
            "id": 1296269,
            "name": name,
            "full_name": full,
            "private": False,
            "owner": {"login": owner, "id": 1, "type": "Organization"},
            "html_url": f"{WEB}/{full}",
            "clone_url": f"{WEB}/{full}.git",
            "default_branch": "main",
        }

    def pull(self, full: str, number: int) -> dict[str, Any]:
        repo = self.repository(full)
        return {
            "number": number,
            "title": f"Change {number}",
            "state": "open",
            "draft": False,
            "merged": False,
            "mergeable": True,
            "html_url": f"{WEB}/{full}/pull/{number}",
            "user": {"login": "mira", "id": 77, "type": "User"},
            "head": {"ref": f"feature-{number}", "sha": head_sha(self.salt, number), "repo": repo},
            "base": {"ref": "main", "sha": "c" * 40, "repo": repo},
        }

    def comment(self, full: str, comment_id: int) -> dict[str, Any] | None:
        told = self.comments.get(comment_id)
        if told is None:
            return None
        number = told["number"]
        return {
            "id": comment_id,
            "body": told["body"],
            "user": {"login": told["author"], "id": 77, "type": "User"},
            "author_association": "MEMBER",
            "html_url": f"{WEB}/{full}/pull/{number}#issuecomment-{comment_id}",
            "issue_url": f"{WEB.replace('https://', 'https://api.')}/repos/{full}/issues/{number}",
            "created_at": _now_iso(),
            "updated_at": _now_iso(),
        }

    def next_id(self) -> int:
        return next(self._ids)


def _full(params: dict[str, str]) -> str:
    return f"{params['owner']}/{params['repo']}"


def _missing() -> Response:
    return JSONResponse(
        {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
        status_code=404,
    )


async def _user(host: FakeGitHub, request: Request, params: dict[str, str], body: Any) -> Response:
    return JSONResponse({"login": BOT_LOGIN, "id": 9, "type": "User", "site_admin": False})


async def _repo(host: FakeGitHub, request: Request, params: dict[str, str], body: Any) -> Response:
    return JSONResponse(host.repository(_full(params)))


async def _contents(
    host: FakeGitHub, request: Request, params: dict[str, str], body: Any
) -> Response:
    if params["path"] != ".shipyard.yml":
        return _missing()
    return JSONResponse(
        {
            "type": "file",
            "encoding": "base64",
            "path": ".shipyard.yml",
            "name": ".shipyard.yml",
            "sha": hashlib.sha1(host.config).hexdigest(),  # noqa: S324 (git's blob name)
            "size": len(host.config),
            "content": base64.b64encode(host.config).decode(),
        }
    )


async def _comment(
    host: FakeGitHub, request: Request, params: dict[str, str], body: Any
) -> Response:
    found = host.comment(_full(params), int(params["comment_id"]))
    if found is None:
        return _missing()
    if request.method == "PATCH":
        found["body"] = body.get("body", "") if isinstance(body, dict) else ""
    return JSONResponse(found)


async def _permission(
    host: FakeGitHub, request: Request, params: dict[str, str], body: Any
) -> Response:
    login = params["username"]
    return JSONResponse(
        {"permission": "write", "role_name": "maintain", "user": {"login": login, "id": 77}}
    )


async def _reaction(
    host: FakeGitHub, request: Request, params: dict[str, str], body: Any
) -> Response:
    content = body.get("content") if isinstance(body, dict) else None
    reaction = {
        "id": host.next_id(),
        "content": content,
        "created_at": _now_iso(),
        "user": {"login": BOT_LOGIN, "id": 9, "type": "User"},
    }
    return JSONResponse(reaction, status_code=201)


async def _pull(host: FakeGitHub, request: Request, params: dict[str, str], body: Any) -> Response:
    return JSONResponse(host.pull(_full(params), int(params["number"])))


async def _reviews(
    host: FakeGitHub, request: Request, params: dict[str, str], body: Any
) -> Response:
    return JSONResponse([])


async def _combined_status(
    host: FakeGitHub, request: Request, params: dict[str, str], body: Any
) -> Response:
    """The commit's CI: one green status."""
    status = {
        "context": "ci/build",
        "state": "success",
        "description": "Build passed",
        "target_url": f"{WEB}/ci/1",
        "created_at": _now_iso(),
        "id": 1,
    }
    return JSONResponse(
        {"state": "success", "sha": params["ref"], "total_count": 1, "statuses": [status]}
    )


async def _check_runs(
    host: FakeGitHub, request: Request, params: dict[str, str], body: Any
) -> Response:
    return JSONResponse({"total_count": 0, "check_runs": []})


async def _commit(
    host: FakeGitHub, request: Request, params: dict[str, str], body: Any
) -> Response:
    """A branch's head commit: `main` is "c" * 40; a pull request's branch its head sha."""
    ref = params["ref"]
    sha = "c" * 40 if ref == "main" else ref
    if ref.startswith("feature-") and ref.removeprefix("feature-").isdigit():
        sha = head_sha(host.salt, int(ref.removeprefix("feature-")))
    if SHA_MEDIA_TYPE in request.headers.get("accept", ""):
        return PlainTextResponse(sha, media_type=SHA_MEDIA_TYPE)
    return JSONResponse({"sha": sha, "commit": {"message": "Change"}, "files": []})


async def _compare(
    host: FakeGitHub, request: Request, params: dict[str, str], body: Any
) -> Response:
    """Every head is one commit ahead of its base, and not behind it."""
    head = params["basehead"].partition("...")[2]
    commit = {"sha": head, "commit": {"message": "Change", "author": {"name": "Mira"}}}
    return JSONResponse(
        {
            "status": "ahead",
            "ahead_by": 1,
            "behind_by": 0,
            "total_commits": 1,
            "commits": [commit],
            "files": [{"filename": "app.py", "status": "modified"}],
        }
    )


async def _commit_pulls(
    host: FakeGitHub, request: Request, params: dict[str, str], body: Any
) -> Response:
    return JSONResponse([])


async def _deployment(
    host: FakeGitHub, request: Request, params: dict[str, str], body: Any
) -> Response:
    if not isinstance(body, dict) or "ref" not in body:
        return JSONResponse({"message": "Invalid request"}, status_code=422)
    deployment_id = host.next_id()
    url = f"{WEB.replace('https://', 'https://api.')}/repos/{_full(params)}/deployments"
    answer = {
        **body,
        "id": deployment_id,
        "sha": body["ref"],
        "url": f"{url}/{deployment_id}",
        "task": "deploy",
        "created_at": _now_iso(),
    }
    return JSONResponse(answer, status_code=201)


async def _created(
    host: FakeGitHub, request: Request, params: dict[str, str], body: Any
) -> Response:
    """A status, a deployment status: echoed with an id."""
    fields = body if isinstance(body, dict) else {}
    return JSONResponse({**fields, "id": host.next_id(), "created_at": _now_iso()}, 201)


async def _issue_comments(
    host: FakeGitHub, request: Request, params: dict[str, str], body: Any
) -> Response:
    """A pull request's conversation: its command and what Shipyard wrote there (listed), or
    a new comment."""
    full, number = _full(params), int(params["number"])
    if request.method == "GET":
        thread = [c for c in host.comments.values() if c["number"] == number]
        return JSONResponse([host.comment(full, c["id"]) for c in thread])
    comment_id = host.next_id()
    text = body.get("body", "") if isinstance(body, dict) else ""
    host.comments[comment_id] = {
        "id": comment_id,
        "number": number,
        "body": text,
        "author": BOT_LOGIN,
    }
    return JSONResponse(host.comment(full, comment_id), status_code=201)


# Every call a `/deploy` makes, as GitHub documents its paths.
ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/user", _user),
    ("GET", "/repos/{owner}/{repo}", _repo),
    ("GET", "/repos/{owner}/{repo}/contents/{path}", _contents),
    ("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", _comment),
    ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", _comment),
    ("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", _reaction),
    ("GET", "/repos/{owner}/{repo}/issues/{number}/comments", _issue_comments),
    ("POST", "/repos/{owner}/{repo}/issues/{number}/comments", _issue_comments),
    ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission", _permission),
    ("GET", "/repos/{owner}/{repo}/pulls/{number}", _pull),
    ("GET", "/repos/{owner}/{repo}/pulls/{number}/reviews", _reviews),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/status", _combined_status),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs", _check_runs),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/pulls", _commit_pulls),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}", _commit),
    ("GET", "/repos/{owner}/{repo}/compare/{basehead}", _compare),
    ("POST", "/repos/{owner}/{repo}/statuses/{sha}", _created),
    ("POST", "/repos/{owner}/{repo}/deployments", _deployment),
    ("POST", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses", _created),
]
_COMPILED = [
    (method, template, _pattern(template), handler) for method, template, handler in ROUTES
]


def template_of(method: str, path: str) -> tuple[str, dict[str, str], Handler | None]:
    """The documented path `path` is an instance of, its parameters, and its handler (None:
    a call the stand-in does not know; its template is then the path itself)."""
    for known, template, pattern, handler in _COMPILED:
        matched = pattern.match(path) if known == method else None
        if matched is not None:
            return template, matched.groupdict(), handler
    return path, {}, None


def _app(host: FakeGitHub) -> Starlette:
    async def api(request: Request) -> Response:
        arrived = time.time()
        path = request.url.path
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        template, params, handler = template_of(request.method, path)
        answer = _missing() if handler is None else await handler(host, request, params, body)
        query = request.url.query
        host.calls.append(
            {
                "at": arrived,
                "method": request.method,
                "template": template,
                "path": f"{path}?{query}" if query else path,
                "status": answer.status_code,
                "known": handler is not None,
                **_facts(template, params, body),
            }
        )
        return answer

    async def told(request: Request) -> Response:
        for comment in json.loads(await request.body()):
            host.comments[int(comment["id"])] = comment
        return JSONResponse({"comments": len(host.comments)})

    async def calls(request: Request) -> Response:
        since = int(request.query_params.get("since", "0"))
        return JSONResponse({"next": len(host.calls), "calls": host.calls[since:]})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    every = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/_bench/comments", told, methods=["POST"]),
            Route("/_bench/calls", calls),
            Route("/{anything:path}", api, methods=every),
        ]
    )


def _facts(template: str, params: dict[str, str], body: Any) -> dict[str, Any]:
    """What the report needs of a call beyond its path: the comment or pull request it is
    on, a reaction's content, a (deployment) status's context and state."""
    facts: dict[str, Any] = {}
    if "comment_id" in params:
        facts["comment_id"] = int(params["comment_id"])
    if "number" in params:
        facts["number"] = int(params["number"])
    if isinstance(body, dict):
        if template.endswith("/reactions"):
            facts["content"] = body.get("content")
        if template.endswith("/deployments/{deployment_id}/statuses"):
            facts["state"] = body.get("state")
        if template.endswith("/statuses/{sha}"):
            facts["context"], facts["state"] = body.get("context"), body.get("state")
            facts["description"] = str(body.get("description") or "")[:60]
    return facts


def create_app() -> Starlette:
    """The stand-in, configured from its environment (see the module's docstring)."""
    config = os.environ.get("BENCH_HOST_CONFIG", "")
    return _app(FakeGitHub(config.encode(), os.environ.get("BENCH_HOST_SALT", "bench")))
