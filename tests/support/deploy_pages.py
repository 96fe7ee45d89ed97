"""The deployment pages in tests: Shipyard behind a real uvicorn on loopback, its host client a
`DeployHost` (for the pages, the gate and the jobs, which run in the process's own queue),
people with roles on the repository, repositories nobody but admins may read, signing in as
anyone, and reading a server-sent-events stream."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette

from app.auth.sealed import Session
from app.deployments import jobs
from app.jobs import SERVICES, queue_functions
from app.main import create_app
from app.services import Services
from app.settings import Settings
from jobqueue.inprocess import InProcessQueue
from providers.vocabulary import Permission, Repo
from tests.support.deploying import DeployHost
from tests.support.http import serving
from tests.support.oauth import SIGN_IN, sign_in_as
from tests.support.settings import make_settings

ADMIN = "boss"
ROLES = {
    "maggie": Permission.MAINTAIN,
    "molly": Permission.MAINTAIN,
    "wanda": Permission.WRITE,
    "reggie": Permission.READ,
}
# The deploy targets' scripts write into the test's directory; heartbeats come often, so log
# lines reach the database (and the pages) soon after a script prints them.
DEPLOYING = {"SHIPYARD_STEP_SANDBOX": "none", "SHIPYARD_HEARTBEAT": "0.2"}


class PagesHost(DeployHost):
    """A DeployHost whose people have `roles` on every repository but those in `hidden`."""

    def __init__(self, config: str, hidden: tuple[str, ...] = ("acme/secret",)) -> None:
        super().__init__(config)
        self.roles = dict(ROLES)
        self.hidden = hidden

    async def get_permission(self, repo: Repo, username: str) -> Permission:
        if repo.full_name in self.hidden:
            return Permission.NONE
        return await super().get_permission(repo, username)


@dataclass
class DeployPages:
    app: Starlette
    settings: Settings
    client: httpx.AsyncClient
    url: str
    host: PagesHost

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def sign_in(self, login: str, host: str = "github") -> Session:
        return sign_in_as(self.client, self.settings, host, login, now=time.time())

    def sign_out(self) -> None:
        self.client.cookies.clear()


def use_host(app: Starlette, host: DeployHost) -> Services:
    """Make `host` the running app's client for every host, for its pages and its jobs."""
    services: Services = app.state.services
    replaced = dataclasses.replace(services, providers=lambda *_: host)
    app.state.services = replaced
    assert isinstance(services.queue, InProcessQueue)
    services.queue.bind(queue_functions(), {SERVICES: replaced})
    return replaced


@contextlib.asynccontextmanager
async def deployment_pages(
    database_url: str, host: PagesHost, *, sign_in: bool = True, **settings: Any
) -> AsyncIterator[DeployPages]:
    """Shipyard with `host`; with `sign_in` its pages ask for it (as a server reached from
    elsewhere would), else they are open (loopback)."""
    values = {**DEPLOYING, **settings}
    if sign_in:
        values = {**SIGN_IN, "SHIPYARD_ADMINS": f"github:{ADMIN}", **values}
    made = make_settings(database_url, **values)
    app = create_app(made)
    async with serving(app) as url:
        use_host(app, host)
        async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
            yield DeployPages(app, made, client, url, host)
        queue = app.state.services.queue
        assert isinstance(queue, InProcessQueue)
        await queue.join()


async def settled(pages: DeployPages, job_id: int) -> str:
    """The job's state once the process's queue has nothing left to run."""
    queue = pages.services.queue
    assert isinstance(queue, InProcessQueue)
    await queue.join()
    job = await jobs.get_job(pages.services.sessions, job_id)
    assert job is not None
    return job.state


@dataclass(frozen=True)
class Event:
    kind: str
    data: Any
    id: str | None


async def read_events(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
    """The events of a text/event-stream (comments and `retry:` skipped), as they come."""
    kind, data, event_id = "message", list[str](), None
    async for line in lines:
        if line == "":
            if data:
                yield Event(kind, json.loads("\n".join(data)), event_id)
            kind, data, event_id = "message", [], None
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                kind = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                event_id = value
