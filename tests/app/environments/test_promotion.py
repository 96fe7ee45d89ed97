"""The one gate every promotion passes, and the order it keeps: who may deploy, the targets
the server allows, `after:`, approvals, one deployment per environment at a time (a FIFO
queue, the guard in the database), and rolling back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.db.models.deployments import JobState, TaskKind
from app.deployments import jobs
from app.environments.gate import Refusal
from app.environments.promotion import Promotion, approve, promote, rollback
from app.environments.requesters import Requester
from app.services import Services
from app.settings import Settings
from providers.vocabulary import Permission
from tests.support.api import make_token
from tests.support.deploying import (
    OPERATOR,
    DeployHost,
    command_target,
    deploy,
    deploying,
    marker_script,
    ready_release,
    register,
    settle,
    tasks_of,
)
from tests.support.settings import make_settings

ALICE = Requester.person("github", "alice")
BOB = Requester.person("github", "bob")
WRITER = Requester.person("github", "wanda")


@pytest.fixture
def settings(migrated: str) -> Settings:
    return make_settings(migrated, SHIPYARD_STEP_SANDBOX="none", SHIPYARD_HEARTBEAT="0.2")


CONFIG = """
components:
  web: {image: registry.example.com/acme/web}
environments:
  staging:
    targets: [s1]
  production:
    targets: [p1]
    after: staging
    approvals: 1
    deployers: maintain
"""


def host() -> DeployHost:
    found = DeployHost(CONFIG)
    found.roles = {
        "alice": Permission.MAINTAIN,
        "bob": Permission.ADMIN,
        "wanda": Permission.WRITE,
    }
    return found


async def setup_targets(services: Services, directory: Path) -> None:
    for name in ("s1", "p1"):
        await register(services, name, command_target(marker_script(directory)))


async def test_after_refuses_until_the_release_is_live_there(
    settings: Settings, tmp_path: Path
) -> None:
    async with deploying(settings, host()) as services:
        await setup_targets(services, tmp_path)
        release = await ready_release(services.sessions, "v1")
        with pytest.raises(Refusal) as refused:
            await promote(services, Promotion(release, "production", ALICE, via="api"))
        assert refused.value.gate == "order"
        assert str(refused.value) == (
            "release v1 is not live in staging, which comes first (deploy it to staging first)"
        )
        assert (await deploy(services, release, "staging")).state == JobState.COMPLETED
        job = await promote(services, Promotion(release, "production", ALICE, via="api"))
    assert job.state == JobState.AWAITING_APPROVAL


async def test_approvals_come_from_someone_else_with_the_role(
    settings: Settings, tmp_path: Path
) -> None:
    async with deploying(settings, host()) as services:
        await setup_targets(services, tmp_path)
        release = await ready_release(services.sessions, "v1")
        await deploy(services, release, "staging")
        job = await promote(services, Promotion(release, "production", ALICE, via="api"))
        job_id = job.id or 0
        token_account = Requester.operator("ci")
        for approver, why in (
            (ALICE, "asked for this deployment and may not approve it too"),
            (WRITER, "needs maintain, and has write"),
            (token_account, "approvals are given by people"),
        ):
            with pytest.raises(Refusal, match=why):
                await approve(services, job_id, approver)
        assert (await jobs.get_job(services.sessions, job_id)).state == JobState.AWAITING_APPROVAL  # type: ignore[union-attr]
        await approve(services, job_id, BOB)
        done = await settle(services, job_id)
    assert done.state == JobState.COMPLETED
    assert [f"{a.host}:{a.login}" for a in await approvals(settings, job_id)] == ["github:bob"]


async def approvals(settings: Settings, job_id: int) -> list[object]:
    from tests.support.releases import database

    async with database(settings) as sessions:
        return list(await jobs.approvals_of(sessions, job_id))


async def test_a_person_below_the_deployers_role_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    async with deploying(settings, host()) as services:
        await setup_targets(services, tmp_path)
        release = await ready_release(services.sessions, "v1")
        await deploy(services, release, "staging")
        with pytest.raises(Refusal) as refused:
            await promote(services, Promotion(release, "production", WRITER, via="cli"))
        made = await jobs.list_jobs(services.sessions, environment="production")
    assert refused.value.gate == "deployers"
    assert "needs maintain on acme/web, and github:wanda has write" in str(refused.value)
    assert made == []


async def test_a_service_account_outside_its_repositories_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    from app.accounts import authenticate

    token = await make_token(settings, "deployer-other", "deployer", repositories=["acme/other"])
    async with deploying(settings, host()) as services:
        await setup_targets(services, tmp_path)
        release = await ready_release(services.sessions, "v1")
        caller = await authenticate(services.sessions, token)
        with pytest.raises(Refusal) as refused:
            await promote(
                services,
                Promotion(release, "staging", Requester.service_account(caller), via="api"),
            )
    assert refused.value.gate == "repository"
    assert "may not act on github:acme/web (its repositories: acme/other)" in str(refused.value)


async def test_targets_must_exist_and_allow_the_repository(
    settings: Settings, tmp_path: Path
) -> None:
    async with deploying(settings, host()) as services:
        release = await ready_release(services.sessions, "v1")
        with pytest.raises(Refusal, match="names targets the server does not have: s1"):
            await promote(services, Promotion(release, "staging", OPERATOR, via="cli"))
        await register(
            services, "s1", command_target("true"), repositories=["acme/api", "gitlab:acme/web"]
        )
        with pytest.raises(Refusal) as refused:
            await promote(services, Promotion(release, "staging", OPERATOR, via="cli"))
    assert refused.value.gate == "targets"
    assert "s1" in str(refused.value)
    assert "github:acme/web" in str(refused.value)


async def test_an_unknown_environment_lists_the_environments(
    settings: Settings, tmp_path: Path
) -> None:
    async with deploying(settings, host()) as services:
        release = await ready_release(services.sessions, "v1")
        with pytest.raises(Refusal) as refused:
            await promote(services, Promotion(release, "prod", OPERATOR, via="cli"))
    assert str(refused.value) == (
        "acme/web has no environment 'prod' (environments: staging, production)"
    )


async def test_two_promotions_at_once_run_one_after_the_other(
    settings: Settings, tmp_path: Path
) -> None:
    async with deploying(settings, host()) as services:
        await register(services, "s1", command_target(f"sleep 0.3; {marker_script(tmp_path)}"))
        await register(services, "p1", command_target("true"))
        v1 = await ready_release(services.sessions, "v1")
        v2 = await ready_release(services.sessions, "v2")
        first = await promote(services, Promotion(v1, "staging", OPERATOR, via="cli"))
        second = await promote(services, Promotion(v2, "staging", OPERATOR, via="cli"))
        await settle(services, second.id or 0)
        ran_first = await tasks_of(services, first.id or 0)
        ran_second = await tasks_of(services, second.id or 0)
        ended = [await jobs.get_job(services.sessions, j.id or 0) for j in (first, second)]
    assert [job.state for job in ended if job] == [JobState.COMPLETED, JobState.COMPLETED]
    # The second started only once the first had ended: never two at once.
    assert ran_second[0].started_at is not None
    assert ran_first[0].finished_at is not None
    assert ran_second[0].started_at >= ran_first[0].finished_at
    assert (tmp_path / "ran").read_text().split()[::3] == ["s1", "s1"]


async def test_a_second_job_waits_its_turn_visibly(settings: Settings, tmp_path: Path) -> None:
    async with deploying(settings, host()) as services:
        await setup_targets(services, tmp_path)
        v1 = await ready_release(services.sessions, "v1")
        v2 = await ready_release(services.sessions, "v2")
        first = await jobs.create_job(services.sessions, new_job(v1))
        second = await jobs.create_job(services.sessions, new_job(v2))
        assert not await jobs.take_turn(services.sessions, second)  # not its turn: FIFO
        assert await jobs.take_turn(services.sessions, first)
        assert not await jobs.take_turn(services.sessions, second)  # the first holds it
        waiting = await jobs.get_job(services.sessions, second.id or 0)
    assert waiting is not None
    assert waiting.state == JobState.QUEUED


def new_job(release: int) -> jobs.NewJob:
    return jobs.NewJob(
        provider="github",
        repository="acme/web",
        environment="staging",
        release_id=release,
        requested_by_kind="operator",
        requested_by="cli:tester",
        via="cli",
        spec={},
    )


@pytest.mark.postgres
async def test_only_one_job_holds_an_environment_however_many_try_at_once(
    postgres_migrated: str,
) -> None:
    settings = make_settings(postgres_migrated)
    async with deploying(settings, host()) as services:
        release = await ready_release(services.sessions, "v1")
        made = [await jobs.create_job(services.sessions, new_job(release)) for _ in range(8)]
        oldest = made[0]
        won = await asyncio.gather(*(jobs.take_turn(services.sessions, oldest) for _ in range(8)))
        others = await asyncio.gather(*(jobs.take_turn(services.sessions, j) for j in made[1:]))
    assert sum(won) == 1
    assert not any(others)


async def test_rolling_back_deploys_the_release_before(settings: Settings, tmp_path: Path) -> None:
    async with deploying(settings, host()) as services:
        await setup_targets(services, tmp_path)
        with pytest.raises(Refusal, match="nothing has been deployed to staging"):
            await rollback(services, "github", "acme/web", "staging", OPERATOR, via="cli")
        v1 = await ready_release(services.sessions, "v1")
        await deploy(services, v1, "staging")
        with pytest.raises(Refusal, match="no earlier good release than the one live now"):
            await rollback(services, "github", "acme/web", "staging", OPERATOR, via="cli")
        await deploy(services, await ready_release(services.sessions, "v2"), "staging")
        back = await rollback(services, "github", "acme/web", "staging", OPERATOR, via="cli")
        back = await settle(services, back.id or 0)
        rows = await tasks_of(services, back.id or 0)
    assert (back.state, back.kind, back.release_id) == (JobState.COMPLETED, "rollback", v1)
    assert [t.kind for t in rows] == [TaskKind.DEPLOY]
    assert (tmp_path / "ran").read_text().split()[-1] == rows[0].digest
