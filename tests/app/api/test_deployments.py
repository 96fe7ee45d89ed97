"""`/api/v1/deployments` and `/environments/{env}/rollback`: promotions through the one gate
from CI, and approvals by people signed in to Shipyard's pages — never by a service account,
never by the requester."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette

from app.db.models.deployments import JobState
from app.deployments import jobs
from app.environments.promotion import Promotion, promote
from app.environments.requesters import Requester
from app.main import create_app
from app.services import Services
from providers.vocabulary import Permission
from tests.support.api import bearer, make_token
from tests.support.deploying import DeployHost, command_target, ready_release, register
from tests.support.oauth import SIGN_IN, running_https, sign_in_as
from tests.support.settings import make_settings

CONFIG = """
components:
  web: {image: registry.example.com/acme/web}
environments:
  staging:
    targets: [s1]
  production:
    targets: [s1]
    approvals: 1
    deployers: maintain
"""


@dataclass
class Api:
    app: Starlette
    client: httpx.AsyncClient
    host: DeployHost
    deployer: dict[str, str]  # a deployer account's bearer header, for acme/*

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services


@pytest.fixture
async def api(migrated: str, redis_url: str) -> AsyncIterator[Api]:
    settings = make_settings(migrated, **SIGN_IN, REDIS_URL=redis_url)
    app = create_app(settings)
    host = DeployHost(CONFIG)
    host.roles = {"alice": Permission.MAINTAIN, "bob": Permission.MAINTAIN}
    async with running_https(app) as client:
        services: Services = app.state.services
        app.state.services = dataclasses.replace(services, providers=lambda *_: host)
        await register(app.state.services, "s1", command_target("true"))
        deployer = await make_token(settings, "ci-deployer", "deployer", repositories=["acme/*"])
        yield Api(app, client, host, bearer(deployer))


async def test_a_service_account_promotes_within_its_repositories(api: Api) -> None:
    release = await ready_release(api.services.sessions, "v1")
    outside = await make_token(
        api.services.settings, "other-deployer", "deployer", repositories=["acme/other"]
    )
    refused = await api.client.post(
        "/api/v1/deployments",
        json={"release": release, "environment": "staging"},
        headers=bearer(outside),
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "repository_not_in_scope"
    made = await api.client.post(
        "/api/v1/deployments",
        json={"release": release, "environment": "staging", "params": {"migrate": "yes"}},
        headers=api.deployer,
    )
    assert made.status_code == 201, made.text
    data = made.json()["data"]
    assert (data["state"], data["requestedBy"], data["via"], data["params"]) == (
        "queued",
        "ci-deployer",
        "api",
        {"migrate": "yes"},
    )
    assert data["url"] == f"https://shipyard.example.com/deployments/{data['id']}"
    assert data["gates"] == [
        {"gate": "lock", "result": "passed"},
        {"gate": "freeze", "result": "passed"},
    ]


async def test_a_refusal_names_its_gate(api: Api) -> None:
    release = await ready_release(api.services.sessions, "v1")
    headers = api.deployer
    production = await api.client.post(
        "/api/v1/deployments", json={"release": release, "environment": "nope"}, headers=headers
    )
    assert production.status_code == 403
    assert production.json()["error"] == {
        "code": "gate_environment",
        "message": "acme/web has no environment 'nope' (environments: staging, production)",
    }
    rollback = await api.client.post(
        "/api/v1/environments/staging/rollback",
        json={"repository": "github:acme/web"},
        headers=headers,
    )
    assert rollback.status_code == 403
    assert rollback.json()["error"]["code"] == "gate_rollback"


async def awaiting(api: Api, requester: Requester) -> int:
    release = await ready_release(api.services.sessions, "v1")
    job = await promote(api.services, Promotion(release, "production", requester, via="api"))
    assert job.state == JobState.AWAITING_APPROVAL
    return job.id or 0


async def test_approvals_need_a_person_who_did_not_ask(api: Api) -> None:
    job = await awaiting(api, Requester.person("github", "alice"))
    path = f"/api/v1/deployments/{job}/approve"

    by_token = await api.client.post(path, headers=api.deployer)
    assert by_token.status_code == 403
    assert by_token.json()["error"]["code"] == "gate_approvals"

    anonymous = await api.client.post(path)
    assert anonymous.status_code == 401

    alice = sign_in_as(api.client, api.services.settings, "github", "alice", now=time.time())
    without_csrf = await api.client.post(path)
    assert without_csrf.status_code == 403
    assert without_csrf.json()["error"]["code"] == "csrf"
    by_requester = await api.client.post(path, headers={"X-Shipyard-CSRF": alice.csrf})
    assert by_requester.status_code == 403
    assert "asked for this deployment and may not approve it too" in by_requester.text

    bob = sign_in_as(api.client, api.services.settings, "github", "bob", now=time.time())
    approved = await api.client.post(path, headers={"X-Shipyard-CSRF": bob.csrf})
    assert approved.status_code == 200, approved.text
    data = approved.json()["data"]
    assert (data["state"], data["approvals"]) == ("queued", ["github:bob"])


async def test_cancel_stops_a_waiting_deployment(api: Api) -> None:
    job = await awaiting(api, Requester.person("github", "alice"))
    cancelled = await api.client.post(f"/api/v1/deployments/{job}/cancel", headers=api.deployer)
    assert cancelled.status_code == 200
    assert cancelled.json()["data"]["state"] == "cancelled"
    again = await api.client.post(f"/api/v1/deployments/{job}/cancel", headers=api.deployer)
    assert again.status_code == 409
    stored = await jobs.get_job(api.services.sessions, job)
    assert stored is not None
    assert stored.error == "cancelled by service account ci-deployer"


async def test_deployments_are_listed_and_read_within_the_account_s_scope(api: Api) -> None:
    job = await awaiting(api, Requester.person("github", "alice"))
    headers = api.deployer
    listed = await api.client.get("/api/v1/deployments?repository=github:acme/web", headers=headers)
    assert [item["id"] for item in listed.json()["data"]["items"]] == [job]
    shown = await api.client.get(f"/api/v1/deployments/{job}", headers=headers)
    assert shown.json()["data"]["approvalsRequired"] == 1
    other = await make_token(
        api.services.settings, "elsewhere", "viewer", repositories=["acme/other"]
    )
    hidden = await api.client.get(f"/api/v1/deployments/{job}", headers=bearer(other))
    assert hidden.status_code == 403
    none = await api.client.get("/api/v1/deployments", headers=bearer(other))
    assert none.json()["data"]["items"] == []
