"""A small Jenkins on loopback (a real uvicorn) that answers as Jenkins documents its REST API.

It wants HTTP basic auth (user and API token; a wrong one is 401), issues a crumb with a session
cookie from `/crumbIssuer/api/json` (or 404 with `crumbs=False`) and refuses a POST without that
crumb in its header and the cookie it is tied to (403, as Jenkins does). `buildWithParameters`
and `build` queue an item (201, `Location: …/queue/item/N/`); the item waits `waits` reads,
then names its build; the build answers `build_answers` in turn. Every request is kept.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.http import serving

__all__ = ["CRUMB_FIELD", "TOKEN", "USER", "VERSION", "FakeJenkins", "Seen", "fake_jenkins"]

USER = "shipyard"
TOKEN = "11d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7"  # a Jenkins API token's shape
CRUMB_FIELD = "Jenkins-Crumb"
VERSION = "2.462.3"
_JOB_PATH = re.compile(r"((?:/job/[^/]+)+)/(.*)")


@dataclass(frozen=True)
class Seen:
    """One request as it arrived: its form (for a POST) and cookies parsed."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    cookies: dict[str, str]
    form: dict[str, str]
    content_type: str | None


@dataclass
class Item:
    job: str
    waits: int
    cancelled: bool = False
    number: int | None = None


@dataclass
class FakeJenkins:
    """`jobs`: the job paths it has (`folder/job`), `folders` the folders among them for
    the listing; what a queue item and a build answer is set per test."""

    jobs: dict[str, list[str]] = field(default_factory=lambda: {"deploy": []})
    crumbs: bool = True
    waits: int = 1  # reads of a queue item that find it waiting
    cancel: bool = False  # the next queue item is cancelled instead
    forget_started: bool = False  # a started item is gone once read (Jenkins: minutes later)
    build_answers: list[tuple[bool, str | None]] = field(
        default_factory=lambda: [(True, None), (False, "SUCCESS")]
    )
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    first_item: int = 17
    first_build: int = 42
    issued: dict[str, str] = field(default_factory=dict)  # session id -> crumb
    items: dict[int, Item] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._items = itertools.count(self.first_item)
        self._builds = itertools.count(self.first_build)
        self._sessions = itertools.count(1)

    def requests(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST"])])

    async def _handle(self, request: Request) -> Response:
        form: dict[str, str] = {}
        if request.method == "POST":
            form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        self.seen.append(
            Seen(
                request.method,
                request.url.path,
                dict(request.query_params),
                {k.lower(): v for k, v in request.headers.items()},
                dict(request.cookies),
                form,
                request.headers.get("content-type"),
            )
        )
        signed = self._signed(request)
        if signed is False:
            return _answer({"error": "Invalid password/token for user"}, 401)
        path = request.url.path
        if path == "/api/json":
            if not signed:
                return _answer({"error": "anonymous may not read"}, 403)
            return _answer({"_class": "hudson.model.Hudson", "jobs": self._listing()})
        if path == "/me/api/json" and signed:
            return _answer({"_class": "hudson.model.User", "id": USER, "fullName": "Shipyard"})
        if path == "/crumbIssuer/api/json" and signed:
            return self._crumb()
        if match := re.fullmatch(r"/queue/item/(\d+)/api/json", path):
            return self._queue_item(int(match[1]))
        if match := _JOB_PATH.fullmatch(path):
            job = "/".join(match[1].split("/job/")[1:])
            return await self._job(request, job, match[2])
        return _answer({"error": "not found"}, 404)

    def _signed(self, request: Request) -> bool | None:
        """True with the right credentials, False with wrong ones, None without any."""
        given = request.headers.get("authorization")
        if given is None:
            return None
        expected = base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
        return given == f"Basic {expected}"

    def _listing(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = []
        for folder, children in sorted(self.jobs.items()):
            url = f"{self.url}/job/{folder}/"
            if children:
                listed.append(
                    {
                        "_class": "com.cloudbees.hudson.plugins.folder.Folder",
                        "name": folder,
                        "url": url,
                        "jobs": [
                            {
                                "_class": "hudson.model.FreeStyleProject",
                                "name": child,
                                "url": f"{url}job/{child}/",
                                "color": "blue",
                            }
                            for child in children
                        ],
                    }
                )
            else:
                listed.append(
                    {
                        "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
                        "name": folder,
                        "url": url,
                        "color": "red",
                    }
                )
        return listed

    def _known(self, job: str) -> bool:
        folder, _, child = job.partition("/")
        if not child:
            return folder in self.jobs and not self.jobs[folder]
        return child in self.jobs.get(folder, [])

    def _crumb(self) -> Response:
        if not self.crumbs:
            return _answer({"error": "not found"}, 404)
        session = f"node0{next(self._sessions)}x"
        crumb = f"crumb-{session}-0123456789abcdef"
        self.issued[session] = crumb
        response = _answer(
            {
                "_class": "hudson.security.csrf.DefaultCrumbIssuer",
                "crumb": crumb,
                "crumbRequestField": CRUMB_FIELD,
            }
        )
        response.set_cookie("JSESSIONID.2f1a0b3c", session, path="/", httponly=True)
        return response

    async def _job(self, request: Request, job: str, rest: str) -> Response:
        if not self._known(job):
            return _answer({"error": "no such job"}, 404)
        if request.method == "POST" and rest in ("buildWithParameters", "build"):
            if self.crumbs:
                session = request.cookies.get("JSESSIONID.2f1a0b3c", "")
                crumb = request.headers.get(CRUMB_FIELD)
                if crumb is None or self.issued.get(session) != crumb:
                    return Response("No valid crumb was included in the request", 403)
            number = next(self._items)
            self.items[number] = Item(job, self.waits, cancelled=self.cancel)
            return Response(
                status_code=201, headers={"Location": f"{self.url}/queue/item/{number}/"}
            )
        if request.method == "GET" and (match := re.fullmatch(r"(\d+)/api/json", rest)):
            number = int(match[1])
            if not self.build_answers:
                return _answer({"error": "no such build"}, 404)
            building, result = (
                self.build_answers.pop(0) if len(self.build_answers) > 1 else self.build_answers[0]
            )
            url = f"{self.url}/{'/'.join(f'job/{p}' for p in job.split('/'))}/{number}/"
            return _answer({"number": number, "url": url, "building": building, "result": result})
        return _answer({"error": "not found"}, 404)

    def _queue_item(self, number: int) -> Response:
        item = self.items.get(number)
        if item is None:
            return _answer({"error": "no such item"}, 404)
        answer: dict[str, Any] = {
            "_class": "hudson.model.Queue$WaitingItem",
            "id": number,
            "task": {"name": item.job.rpartition("/")[2]},
        }
        if item.cancelled:
            return _answer({**answer, "_class": "hudson.model.Queue$LeftItem", "cancelled": True})
        if item.waits > 0:
            item.waits -= 1
            return _answer({**answer, "why": "Waiting for next available executor"})
        if item.number is None:
            item.number = next(self._builds)
        if self.forget_started:
            del self.items[number]
        url = f"{self.url}/{'/'.join(f'job/{p}' for p in item.job.split('/'))}/{item.number}/"
        return _answer(
            {
                **answer,
                "_class": "hudson.model.Queue$LeftItem",
                "cancelled": False,
                "executable": {"number": item.number, "url": url},
            }
        )


def _answer(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status, headers={"X-Jenkins": VERSION})


@contextlib.asynccontextmanager
async def fake_jenkins(**settings: Any) -> AsyncIterator[FakeJenkins]:
    """A FakeJenkins served on a free loopback port; its `url` set."""
    jenkins = FakeJenkins(**settings)
    async with serving(jenkins.app()) as url:
        jenkins.url = url
        yield jenkins
