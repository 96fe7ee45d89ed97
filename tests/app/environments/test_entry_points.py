"""The one gate, asked from each entry point that is not a request: `auto_deploy` (as whoever
made the release) and a pipeline's `deploy` step (as the person whose event started the run).
The API's and the CLI's are in their own test modules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.accounts import revoke_account
from app.db.models.deliveries import Delivery, DeliveryStatus
from app.db.models.deployments import JobState
from app.db.models.releases import Release
from app.deployments import jobs
from app.features import parse_config
from app.pipelines import runs
from app.pipelines.config import pipelines_of
from app.pipelines.launch import launch, new_run
from app.releases.service import finish_release
from app.services import Services
from app.settings import Settings
from jobqueue.inprocess import InProcessQueue
from providers.vocabulary import Permission
from tests.support.api import make_token
from tests.support.database import store_delivery
from tests.support.deploying import (
    DeployHost,
    command_target,
    deploying,
    ready_release,
    register,
    settle,
)
from tests.support.releases import sha_of
from tests.support.settings import make_settings


@pytest.fixture
def settings(migrated: str) -> Settings:
    return make_settings(migrated, SHIPYARD_STEP_SANDBOX="none", SHIPYARD_HEARTBEAT="0.2")


CONFIG = """
components:
  web: {image: registry.example.com/acme/web}
environments:
  production:
    targets: [p1]
    deployers: maintain
    auto_deploy: true
pipelines:
  ship:
    on: {push: {branches: [main]}}
    steps:
      - {name: deploy, type: deploy, config: {environment: production, poll_interval: 0.1}}
"""


def host() -> DeployHost:
    found = DeployHost(CONFIG)
    found.roles = {"maggie": Permission.MAINTAIN, "wanda": Permission.WRITE}
    return found


async def release_pushed_by(services: Services, login: str, name: str) -> int:
    """A ready release made from a delivery (a tag push) whose actor is `login`."""
    sessions = services.sessions
    delivery = Delivery(
        provider="github",
        delivery_id=f"push-{name}",
        event="push",
        body=json.dumps({"sender": {"login": login}}).encode(),
        status=DeliveryStatus.PROCESSED,
        normalised={"actor": {"login": login}},
    )
    stored = await store_delivery(sessions, delivery)
    release = await ready_release(sessions, name)
    async with sessions() as session:
        row = await session.get(Release, release)
        assert row is not None
        row.created_by_kind, row.created_by, row.delivery_pk = "delivery", f"push-{name}", stored.id
        session.add(row)
        await session.commit()
    return release


@pytest.mark.parametrize(("pusher", "deployed"), [("wanda", False), ("maggie", True)])
async def test_auto_deploy_asks_as_whoever_made_the_release(
    settings: Settings, pusher: str, deployed: bool
) -> None:
    found = host()
    async with deploying(settings, found) as services:
        await register(services, "p1", command_target("true"))
        release = await release_pushed_by(services, pusher, "v1")
        await finish_release(services, 1, release)
        made = await jobs.list_jobs(services.sessions, environment="production")
        if made:
            made = [await settle(services, made[0].id or 0)]
    statuses = [
        (status.state.value, status.description)
        for sha, status in found.statuses
        if status.context == "shipyard/deploy/production" and sha == sha_of("v1")
    ]
    if deployed:
        assert [(job.state, job.via, job.requested_by) for job in made] == [
            (JobState.COMPLETED, "auto_deploy", "github:maggie")
        ]
        assert statuses[-1][0] == "success"
    else:
        assert made == []
        [(state, description)] = statuses
        assert state == "failure"
        assert description is not None
        assert description.startswith("auto_deploy refused: github:wanda may not deploy")


async def run_ship(services: Services, actor: str) -> runs.Loaded:
    """The `ship` pipeline started by a push from `actor`, run to its end in this process."""
    pipeline = pipelines_of(parse_config(CONFIG))["ship"]
    created = await launch(
        services,
        services.providers("github", None),
        new_run(
            "ship",
            pipeline,
            provider="github",
            repository="acme/web",
            trigger="push",
            sha=sha_of("v1"),
            ref="refs/heads/main",
            event={
                "kind": "push",
                "actor": {"login": actor},
                "repository": {"full_name": "acme/web"},
            },
        ),
    )
    assert isinstance(services.queue, InProcessQueue)
    await services.queue.join()
    loaded = await runs.load(services.sessions, created.run_id)
    assert loaded is not None
    return loaded


@pytest.mark.parametrize(("actor", "outcome"), [("wanda", "failed"), ("maggie", "succeeded")])
async def test_the_deploy_step_asks_as_the_person_whose_event_started_the_run(
    settings: Settings, tmp_path: Path, actor: str, outcome: str
) -> None:
    async with deploying(settings, host()) as services:
        await register(services, "p1", command_target("true"))
        await ready_release(services.sessions, "v1")
        loaded = await run_ship(services, actor)
        made = await jobs.list_jobs(services.sessions, environment="production")
        log = await runs.get_steps(services.sessions, loaded.run.id or 0)
    [step] = log
    assert step.state == outcome, step.error
    if outcome == "failed":
        assert made == []
        assert step.error is not None
        assert step.error.startswith("refused (deployers): github:wanda may not deploy")
    else:
        assert [(j.state, j.via, j.requested_by) for j in made] == [
            (JobState.COMPLETED, "step", "github:maggie")
        ]
        assert step.outputs["state"] == "completed"


@pytest.mark.parametrize("revoked", [False, True])
async def test_auto_deploy_asks_as_the_service_account_that_made_the_release(
    settings: Settings, revoked: bool
) -> None:
    await make_token(settings, "ci", "deployer", "release-creator", repositories=["acme/*"])
    found = DeployHost(CONFIG.replace("deployers: maintain", "deployers: write"))
    async with deploying(settings, found) as services:
        if revoked:
            await revoke_account(services.sessions, "ci")
        await register(services, "p1", command_target("true"))
        release = await ready_release(services.sessions, "v1")
        async with services.sessions() as session:
            row = await session.get(Release, release)
            assert row is not None
            row.created_by_kind, row.created_by = "service_account", "ci"
            session.add(row)
            await session.commit()
        await finish_release(services, 1, release)
        made = await jobs.list_jobs(services.sessions, environment="production")
    if revoked:
        assert made == []
        [status] = [s for _, s in found.statuses if s.context == "shipyard/deploy/production"]
        assert status.description == (
            "auto_deploy refused: who made release v1 cannot be told any more, so nobody asks "
            "for its automatic deployment"
        )
    else:
        assert [(job.via, job.requested_by) for job in made] == [("auto_deploy", "ci")]
