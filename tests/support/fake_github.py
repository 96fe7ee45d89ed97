"""A small GitHub REST API stand-in served on loopback, for tests whose worker is another
process (respx cannot reach into it). It answers the documented shapes and records requests."""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.hosts import github_pull


@dataclass
class Recorded:
    method: str
    path: str
    json: Any
    headers: dict[str, str]


@dataclass
class FakeGitHub:
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (repo, path) -> bytes
    requests: list[Recorded] = field(default_factory=list)
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)  # login → role; others: admin
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def statuses(self) -> list[dict[str, Any]]:
        return [r.json for r in self.requests if r.method == "POST" and "/statuses/" in r.path]

    def deployments(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/deployments")]

    def deployment_statuses(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and "/deployments/" in r.path]

    def comment_posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/comments")]

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/user", self._user),
                Route("/repos/{owner}/{name}", self._repo),
                Route("/repos/{owner}/{name}/pulls/{number:int}", self._pull),
                Route("/repos/{owner}/{name}/collaborators/{login}/permission", self._permission),
                Route("/repos/{owner}/{name}/contents/{path:path}", self._contents),
                Route("/repos/{owner}/{name}/statuses/{sha}", self._status, methods=["POST"]),
                Route(
                    "/repos/{owner}/{name}/issues/{number:int}/comments",
                    self._comments,
                    methods=["GET", "POST"],
                ),
                Route(
                    "/repos/{owner}/{name}/issues/comments/{id:int}",
                    self._edit_comment,
                    methods=["PATCH"],
                ),
                Route("/repos/{owner}/{name}/deployments", self._deployment, methods=["POST"]),
                Route(
                    "/repos/{owner}/{name}/deployments/{id:int}/statuses",
                    self._deployment_status,
                    methods=["POST"],
                ),
                Route("/repos/{owner}/{name}/commits/{sha}/pulls", self._commit_pulls),
            ]
        )

    async def _record(self, request: Request) -> Any:
        body = await request.body()
        payload = json.loads(body) if body else None
        self.requests.append(
            Recorded(request.method, request.url.path, payload, dict(request.headers))
        )
        return payload

    @staticmethod
    def _full(request: Request) -> str:
        return f"{request.path_params['owner']}/{request.path_params['name']}"

    async def _user(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"login": "shipyard[bot]", "type": "Bot"})

    async def _pull(self, request: Request) -> Response:
        """Every pull request comes from the repository itself."""
        await self._record(request)
        return JSONResponse(github_pull(request.path_params["number"], "https://github.test"))

    async def _permission(self, request: Request) -> Response:
        """Everyone is an admin, but those `roles` names."""
        await self._record(request)
        role = self.roles.get(request.path_params["login"], "admin")
        permission = {"maintain": "write", "triage": "read"}.get(role, role)
        return JSONResponse({"permission": permission, "role_name": role})

    async def _repo(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"full_name": self._full(request), "default_branch": "main"})

    async def _contents(self, request: Request) -> Response:
        await self._record(request)
        content = self.files.get((self._full(request), request.path_params["path"]))
        if content is None:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return JSONResponse(
            {
                "type": "file",
                "encoding": "base64",
                "path": request.path_params["path"],
                "sha": "0" * 40,
                "content": base64.b64encode(content).decode(),
            }
        )

    async def _status(self, request: Request) -> Response:
        body = await self._record(request)
        return JSONResponse({"id": next(self._ids), **body}, status_code=201)

    async def _deployment(self, request: Request) -> Response:
        """POST /repos/{owner}/{repo}/deployments: the documented body, nothing else."""
        body = await self._record(request)
        allowed = {
            "ref",
            "task",
            "auto_merge",
            "required_contexts",
            "payload",
            "environment",
            "description",
            "transient_environment",
            "production_environment",
        }
        if not isinstance(body, dict) or "ref" not in body or set(body) - allowed:
            return JSONResponse({"message": "Invalid request"}, status_code=422)
        deployment = {"id": next(self._ids), "sha": body["ref"], **body}
        return JSONResponse(deployment, status_code=201)

    async def _deployment_status(self, request: Request) -> Response:
        body = await self._record(request)
        allowed = {
            "state",
            "target_url",
            "log_url",
            "description",
            "environment",
            "environment_url",
            "auto_inactive",
        }
        states = {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}
        if not isinstance(body, dict) or body.get("state") not in states or set(body) - allowed:
            return JSONResponse({"message": "Invalid request"}, status_code=422)
        return JSONResponse({"id": next(self._ids), **body}, status_code=201)

    async def _commit_pulls(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse([])

    async def _comments(self, request: Request) -> Response:
        body = await self._record(request)
        key = (self._full(request), request.path_params["number"])
        thread = self.comments.setdefault(key, [])
        if request.method == "GET":
            return JSONResponse(thread)
        comment = {
            "id": next(self._ids),
            "body": body["body"],
            "user": {"login": "shipyard[bot]"},
            "html_url": f"https://github.test/{key[0]}/pull/{key[1]}#issuecomment",
        }
        thread.append(comment)
        return JSONResponse(comment, status_code=201)

    async def _edit_comment(self, request: Request) -> Response:
        body = await self._record(request)
        for thread in self.comments.values():
            for comment in thread:
                if comment["id"] == request.path_params["id"]:
                    comment["body"] = body["body"]
                    return JSONResponse(comment)
        return JSONResponse({"message": "Not Found"}, status_code=404)
