"""Jenkins over its REST API, as a user with an API token (HTTP basic: username and token).

A build starts with `POST /job/<path>/buildWithParameters` (the inputs form-encoded; a build
without inputs `POST …/build`, as Jenkins refuses buildWithParameters for a job without
parameters), after a crumb from `GET /crumbIssuer/api/json`, sent as the header it names
together with the session cookie it set (a 404 there: CSRF protection is off). Jenkins answers
201 with `Location: …/queue/item/N/`; the item names its build once one started
(`executable.number`), and the build says `building` and its `result`.

A job in folders is named by its path, `team/web/deploy`: `/job/team/job/web/job/deploy`.
A run id says what to read next: `queue:<job>#<item>` until the build is known, then
`build:<job>#<number>` (`<job>#<number>` is read as a build too).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, Self
from urllib.parse import quote

import httpx
from pydantic import Field, model_validator

from app.integrations.connector import (
    Connector,
    ConnectorContext,
    ProviderConfig,
    Resource,
    http_error,
)
from app.integrations.errors import IntegrationError
from app.integrations.kinds import CheckLevel
from app.integrations.spec import ProviderSpec
from providers.http import tls_context
from steps.integrations import CiRun, CiRunStatus, CiTrigger

__all__ = [
    "PROVIDER",
    "JenkinsConfig",
    "JenkinsConnector",
    "build_id",
    "build_status",
    "job_url",
    "parse_run_id",
    "queue_id",
]

JOBS_TREE = "jobs[name,url,color,jobs[name,url,color]]"
BUILD_TREE = "number,url,building,result"
_QUEUE_ITEM = re.compile(r"/queue/item/(\d+)/?$")
# Jenkins refuses ':' and '#' in an item's name (Jenkins.checkGoodName), so they can delimit.
_RUN_ID = re.compile(r"(?:(queue|build):)?([^#:]+)#(\d+)")
# A finished build's result as a run's status; any other word (NOT_BUILT) is a failure.
_RESULTS: dict[str, CiRunStatus] = {
    "SUCCESS": "succeeded",
    "UNSTABLE": "failed",
    "FAILURE": "failed",
    "ABORTED": "cancelled",
}


class JenkinsConfig(ProviderConfig):
    """`endpoint` is Jenkins's root URL, with its context path (`https://ci.example/jenkins`);
    `username` is the user whose API token is the integration's credential."""

    username: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _needs_endpoint(self) -> Self:
        if not self.endpoint:
            raise ValueError("endpoint is required: Jenkins's root URL")
        return self


def job_url(endpoint: str, job: str) -> str:
    """The job's URL: every folder of `a/b/c` is a `/job/<name>` of its own."""
    parts = [part for part in job.split("/") if part]
    if not parts:
        raise IntegrationError("RESOURCE_NOT_FOUND", f"{job!r} names no Jenkins job")
    return endpoint + "".join(f"/job/{quote(part, safe='')}" for part in parts)


def queue_id(job: str, item: int) -> str:
    return f"queue:{job}#{item}"


def build_id(job: str, number: int) -> str:
    return f"build:{job}#{number}"


def parse_run_id(run_id: str) -> tuple[Literal["queue", "build"], str, int]:
    """(queue or build, the job's path, the item or build number) of a run id."""
    match = _RUN_ID.fullmatch(run_id.strip())
    if match is None:
        raise IntegrationError(
            "RESOURCE_NOT_FOUND",
            f"{run_id!r} is not a Jenkins run id (queue:JOB#ITEM, build:JOB#NUMBER or JOB#NUMBER)",
        )
    kind: Literal["queue", "build"] = "queue" if match[1] == "queue" else "build"
    return kind, match[2].strip("/"), int(match[3])


def build_status(answer: Mapping[str, Any]) -> tuple[CiRunStatus, str | None]:
    """A build's status and Jenkins's word for how it ended (None while it runs)."""
    result = answer.get("result")
    if answer.get("building") or not isinstance(result, str):
        return "running", None
    return _RESULTS.get(result, "failed"), result


class JenkinsConnector:
    """Checks, job discovery, and builds started and read back."""

    def __init__(self, context: ConnectorContext) -> None:
        self._context = context
        config = context.config
        assert isinstance(config, JenkinsConfig)
        self._config = config

    @property
    def _endpoint(self) -> str:
        return self._context.endpoint()

    async def _auth(self) -> httpx.BasicAuth:
        token = await self._context.require_credential("the user's API token")
        return httpx.BasicAuth(self._config.username, token)

    async def _get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        auth: httpx.BasicAuth | None,
        missing: str | None = None,
    ) -> httpx.Response:
        try:
            response = await self._context.http.get(
                f"{self._endpoint}{path}",
                params=params,
                auth=auth,
                headers={"Accept": "application/json"},
                timeout=self._config.timeout,
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            if missing and _status(error) == 404:
                raise IntegrationError("RESOURCE_NOT_FOUND", missing) from None
            raise http_error(error, f"GET {path}") from None
        return response

    async def _get_json(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        missing: str | None = None,
    ) -> dict[str, Any]:
        response = await self._get(path, params, auth=await self._auth(), missing=missing)
        return _json_object(response, f"GET {path}")

    async def check(self, level: CheckLevel) -> str:
        if level == "connectivity":
            try:
                response = await self._context.http.get(
                    f"{self._endpoint}/api/json", timeout=self._config.timeout
                )
                if response.status_code not in (401, 403):
                    response.raise_for_status()
            except httpx.HTTPError as error:
                raise http_error(error, "GET /api/json") from None
            version = response.headers.get("x-jenkins")
            if version is None:
                return f"{self._endpoint} answers ({response.status_code}), without X-Jenkins"
            return f"Jenkins {version} answers ({response.status_code})"
        if level == "authentication":
            me = await self._get_json("/me/api/json")
            return f"signed in as {me.get('id') or me.get('fullName') or self._config.username}"
        jobs = await self._get_json("/api/json", {"tree": "jobs[name]"})
        return f"lists {len(jobs.get('jobs') or [])} jobs"

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        """Jobs, and the jobs of each folder one level down (named `folder/job`)."""
        if resource_type != "jobs":
            raise IntegrationError("UNSUPPORTED", f"cannot discover {resource_type!r}")
        answer = await self._get_json("/api/json", {"tree": JOBS_TREE})
        found: list[Resource] = []
        for job in _objects(answer.get("jobs")):
            children = job.get("jobs")
            if isinstance(children, list):
                found.extend(
                    _job(child, folder=str(job.get("name"))) for child in _objects(children)
                )
            else:
                found.append(_job(job))
        return found

    async def trigger(self, request: CiTrigger) -> CiRun:
        """Queue a build of `request.job` with `request.inputs` as its parameters (`ref` and
        `repository` mean nothing to Jenkins: give what the job needs as inputs)."""
        job = request.job.strip("/")
        url = job_url(self._endpoint, job)
        action = "buildWithParameters" if request.inputs else "build"
        auth = await self._auth()
        # A client of its own: the crumb is tied to the session cookie Jenkins sets with it,
        # which must reach this POST and no other request.
        async with httpx.AsyncClient(
            verify=tls_context(), timeout=self._config.timeout, auth=auth
        ) as client:
            headers = await self._crumb(client)
            try:
                response = await client.post(
                    f"{url}/{action}", data=dict(request.inputs) or None, headers=headers
                )
                response.raise_for_status()
            except httpx.HTTPError as error:
                if _status(error) == 404:
                    raise IntegrationError(
                        "RESOURCE_NOT_FOUND", f"Jenkins has no job {job!r} (404)"
                    ) from None
                raise http_error(error, f"POST {job} {action}") from None
        location = response.headers.get("location", "")
        item = _QUEUE_ITEM.search(location)
        if item is None:
            raise IntegrationError(
                "PROVIDER_ERROR",
                f"Jenkins queued a build of {job} ({response.status_code}) but named no queue "
                "item in its Location header",
            )
        return self._run(queue_id(job, int(item[1])), "queued", f"{url}/")

    async def _crumb(self, client: httpx.AsyncClient) -> dict[str, str]:
        """The crumb header for a POST; none where CSRF protection is off (404)."""
        try:
            response = await client.get(f"{self._endpoint}/crumbIssuer/api/json")
            if response.status_code == 404:
                return {}
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise http_error(error, "GET /crumbIssuer/api/json") from None
        answer = _json_object(response, "GET /crumbIssuer/api/json")
        field, crumb = answer.get("crumbRequestField"), answer.get("crumb")
        if not isinstance(field, str) or not isinstance(crumb, str):
            raise IntegrationError(
                "PROVIDER_ERROR", "GET /crumbIssuer/api/json: the answer names no crumb"
            )
        return {field: crumb}

    async def read(self, run_id: str) -> CiRun:
        """The queue item (and the build it became, once it did), or the build."""
        kind, job, number = parse_run_id(run_id)
        url = job_url(self._endpoint, job)
        if kind == "build":
            return await self._build(job, number)
        item = await self._get_json(
            f"/queue/item/{number}/api/json",
            missing=(
                f"queue item {number} of {job} is gone: Jenkins forgets an item minutes after "
                "its build starts; follow the build (build:JOB#NUMBER) instead"
            ),
        )
        if item.get("cancelled"):
            return self._run(run_id, "cancelled", f"{url}/", "CANCELLED")
        executable = item.get("executable")
        if isinstance(executable, dict) and isinstance(executable.get("number"), int):
            return await self._build(job, executable["number"])
        return self._run(run_id, "queued", f"{url}/")

    async def _build(self, job: str, number: int) -> CiRun:
        url = job_url(self._endpoint, job)
        path = url.removeprefix(self._endpoint)
        answer = await self._get_json(
            f"{path}/{number}/api/json",
            {"tree": BUILD_TREE},
            missing=f"Jenkins has no build {number} of {job}",
        )
        status, result = build_status(answer)
        link = answer.get("url")
        return self._run(
            build_id(job, number),
            status,
            link if isinstance(link, str) else f"{url}/{number}/",
            result,
        )

    def _run(
        self, run_id: str, status: CiRunStatus, url: str, conclusion: str | None = None
    ) -> CiRun:
        return CiRun(self._context.name, run_id, status, url, conclusion)


def _status(error: httpx.HTTPError) -> int | None:
    return error.response.status_code if isinstance(error, httpx.HTTPStatusError) else None


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise IntegrationError("PROVIDER_ERROR", f"{what}: the answer is not a JSON object")
    return answer


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _job(job: Mapping[str, Any], folder: str | None = None) -> Resource:
    name = str(job.get("name"))
    path = f"{folder}/{name}" if folder else name
    details = {"color": job["color"]} if "color" in job else {}
    if folder:
        details["folder"] = folder
    return Resource(type="jobs", name=path, id=path, url=job.get("url"), details=details)


def connect(context: ConnectorContext) -> Connector:
    return JenkinsConnector(context)


PROVIDER = ProviderSpec(
    name="jenkins",
    type="ci",
    title="Jenkins",
    config=JenkinsConfig,
    connect=connect,
    resource_types=("jobs",),
)
