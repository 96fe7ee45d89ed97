"""Finishing a release against a real registry (Debian's docker-registry): its digests are
the ones the registry computed, an image not pushed yet is waited for and then named in the
failure, and the release is announced once, with the commits since the previous one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from app.db.models.base import utcnow
from app.db.models.releases import Release, ReleaseState
from app.releases import store
from app.releases.model import ComponentPin, Creator, ReleaseDraft, SourceRef
from app.releases.recovery import recover_releases
from app.releases.registries import add_registry
from app.releases.service import FINISH_RELEASE, RELEASE_CONTEXT, create_release, finish_release
from app.services import Services
from app.settings import Settings
from app.wiring import open_services
from providers.vocabulary import CommitState, Comparison, Repo
from tests.support.queue import RecordingQueue
from tests.support.registry import OCI_MANIFEST, Registry, own_registry, push_image
from tests.support.settings import make_settings
from tests.support.steps import RecordingProvider

FIRST, SECOND = "1" * 40, "2" * 40


class Host(RecordingProvider):
    """The recording host, answering compare with the commits between two shas."""

    def __init__(self) -> None:
        super().__init__()
        self.compared: list[tuple[str, str]] = []

    async def compare(self, repo: Repo, base: str, head: str) -> Comparison:
        self.compared.append((base, head))
        commits = [f"{n}" * 40 for n in range(3, 9)]
        return Comparison(base=base, head=head, ahead_by=6, behind_by=0, commits=commits)


@pytest.fixture
def registry(tmp_path: Path) -> Any:
    with own_registry(tmp_path / "registry") as started:
        yield started


@pytest.fixture
def host() -> Host:
    return Host()


@pytest.fixture
async def services(settings: Settings, host: Host) -> AsyncIterator[Services]:
    async with open_services(settings, queue=RecordingQueue(), providers=lambda *_: host) as opened:
        yield opened


def _draft(registry: Registry, name: str, commit: str, tag: str) -> ReleaseDraft:
    return ReleaseDraft(
        name=name,
        version=name,
        source=SourceRef(provider="github", repository="acme/web", commit=commit, tag=tag),
        components=(
            ComponentPin(name="web", image=f"{registry.host}/acme/web", tag=tag),
            ComponentPin(name="worker", image=f"{registry.host}/acme/worker", tag=tag),
        ),
        creator=Creator(kind="cli", name="tester"),
    )


def _queued(services: Services) -> RecordingQueue:
    assert isinstance(services.queue, RecordingQueue)
    return services.queue


async def test_digests_are_the_registrys_and_the_release_is_announced(
    services: Services, host: Host, registry: Registry
) -> None:
    web = await push_image(registry, "acme/web", "v1")
    worker = await push_image(registry, "acme/worker", "v1", media_type=OCI_MANIFEST)
    stored = await create_release(services, _draft(registry, "v1", FIRST, "v1"))
    release_id = stored.release.id or 0
    assert stored.created
    assert stored.release.state == ReleaseState.RESOLVING
    [job] = _queued(services).jobs
    assert (job.function, job.args, job.defer) == (FINISH_RELEASE, (release_id,), 0.0)

    await finish_release(services, 1, release_id)

    release = await store.get_release(services.sessions, release_id)
    assert release is not None
    assert release.state == ReleaseState.READY
    assert {c["name"]: c["digest"] for c in release.components} == {
        "web": web.digest,
        "worker": worker.digest,
    }
    [(sha, status)] = host.statuses
    assert sha == FIRST
    assert (status.state, status.context, status.description) == (
        CommitState.SUCCESS,
        RELEASE_CONTEXT,
        "release v1",
    )
    assert status.target_url == f"{services.settings.public_url}/releases/{release_id}"
    assert release.announced
    assert release.commits == []
    assert host.compared == []

    await finish_release(services, 2, release_id)  # a second run of the job does nothing
    assert len(host.statuses) == 1


async def test_the_next_release_keeps_the_commits_since_the_previous(
    settings: Settings, host: Host, registry: Registry
) -> None:
    capped = make_settings(settings.database_url, SHIPYARD_RELEASE_COMMITS_MAX="4")
    await push_image(registry, "acme/web", "v1")
    await push_image(registry, "acme/worker", "v1")
    await push_image(registry, "acme/web", "v2")
    await push_image(registry, "acme/worker", "v2")
    async with open_services(capped, queue=RecordingQueue(), providers=lambda *_: host) as svc:
        one = (await create_release(svc, _draft(registry, "v1", FIRST, "v1"))).release
        two = (await create_release(svc, _draft(registry, "v2", SECOND, "v2"))).release
        await finish_release(svc, 1, one.id or 0)
        await finish_release(svc, 1, two.id or 0)
        later = await store.get_release(svc.sessions, two.id or 0)
    assert later is not None
    assert host.compared == [(FIRST, SECOND)]
    assert later.previous_id == one.id
    assert later.commits == [f"{n}" * 40 for n in range(5, 9)]  # the newest four
    assert later.commits_more == 2


async def test_an_image_not_pushed_is_waited_for_then_named(
    settings: Settings, host: Host, registry: Registry
) -> None:
    await push_image(registry, "acme/web", "v3")  # the worker image is never pushed
    waiting = make_settings(settings.database_url, SHIPYARD_RELEASE_IMAGE_WAIT="3600")
    async with open_services(waiting, queue=RecordingQueue(), providers=lambda *_: host) as svc:
        release = (await create_release(svc, _draft(registry, "v3", FIRST, "v3"))).release
        await finish_release(svc, 1, release.id or 0)
        still = await store.get_release(svc.sessions, release.id or 0)
        retry = _queued(svc).jobs[-1]
    assert still is not None
    assert still.state == ReleaseState.RESOLVING
    assert still.next_try_at is not None
    assert host.statuses == []
    assert retry.function == FINISH_RELEASE
    assert retry.defer >= 5.0

    impatient = make_settings(settings.database_url, SHIPYARD_RELEASE_IMAGE_WAIT="0")
    async with open_services(impatient, queue=RecordingQueue(), providers=lambda *_: host) as svc:
        await _expire(svc, release.id or 0)
        await finish_release(svc, 1, release.id or 0)
        failed = await store.get_release(svc.sessions, release.id or 0)
    assert failed is not None
    assert failed.state == ReleaseState.FAILED
    assert failed.error == (
        f"digest not resolved: component 'worker': {registry.host}/acme/worker:v3 "
        "is not in the registry"
    )
    assert all(c.get("digest") is None for c in failed.components)  # nothing guessed
    [(_, status)] = host.statuses
    assert status.state is CommitState.FAILURE
    assert status.context == RELEASE_CONTEXT
    assert "acme/worker:v3" in (status.description or "")


async def test_a_registry_asking_for_a_login_gets_the_servers_credential(
    tmp_path: Path, settings: Settings, host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_LOGIN", "ci:s3cret-pass")
    with own_registry(tmp_path / "private", users={"ci": "s3cret-pass"}) as private:
        await push_image(private, "acme/web", "v1")
        await push_image(private, "acme/worker", "v1")
        env = make_settings(settings.database_url)  # its environment snapshot has the login
        async with open_services(env, queue=RecordingQueue(), providers=lambda *_: host) as svc:
            await add_registry(svc.sessions, env, private.host, "env://REGISTRY_LOGIN")
            release = (await create_release(svc, _draft(private, "v1", FIRST, "v1"))).release
            await finish_release(svc, 1, release.id or 0)
            done = await store.get_release(svc.sessions, release.id or 0)
    assert done is not None
    assert done.state == ReleaseState.READY, done.error


async def test_two_jobs_for_one_release_at_once_finish_it_once(
    services: Services, host: Host, registry: Registry
) -> None:
    """The job that made the release, and the one recovery hands over when a worker starts
    meanwhile (it hands over every release not announced yet): one of them finishes it."""
    await push_image(registry, "acme/web", "v1")
    await push_image(registry, "acme/worker", "v1")
    release_id = (await create_release(services, _draft(registry, "v1", FIRST, "v1"))).release.id
    assert await recover_releases(services, at_start=True) == 1
    assert [job.function for job in _queued(services).jobs] == [FINISH_RELEASE, FINISH_RELEASE]

    await asyncio.gather(*(finish_release(services, 1, release_id or 0) for _ in range(2)))

    finished = await store.get_release(services.sessions, release_id or 0)
    assert finished is not None
    assert (finished.state, finished.announced) == (ReleaseState.READY, True)
    assert [sha for sha, _ in host.statuses] == [FIRST]


async def test_a_worker_starting_while_a_release_waits_adds_no_second_line_of_retries(
    services: Services, host: Host, registry: Registry
) -> None:
    await push_image(registry, "acme/web", "v1")  # the worker image comes later
    release_id = (await create_release(services, _draft(registry, "v1", FIRST, "v1"))).release.id
    await finish_release(services, 1, release_id or 0)
    _made, retry = _queued(services).jobs
    waiting = await store.get_release(services.sessions, release_id or 0)
    assert waiting is not None
    assert waiting.state == ReleaseState.RESOLVING

    assert await recover_releases(services, at_start=True) == 1  # a worker starts meanwhile
    await finish_release(services, 1, release_id or 0)  # its job, before the retry is due
    assert len(_queued(services).jobs) == 3  # it deferred nothing: one line of retries
    still = await store.get_release(services.sessions, release_id or 0)
    assert still is not None
    assert still.next_try_at == waiting.next_try_at

    worker = await push_image(registry, "acme/worker", "v1")
    await _expire(services, release_id or 0)  # the retry is due
    await finish_release(services, 1, release_id or 0)
    finished = await store.get_release(services.sessions, release_id or 0)
    assert finished is not None
    assert finished.state == ReleaseState.READY
    assert {c["name"]: c["digest"] for c in finished.components}["worker"] == worker.digest
    assert [sha for sha, _ in host.statuses] == [FIRST]
    assert retry.defer > 0


async def _expire(services: Services, release_id: int) -> None:
    """The wait is over, and the deferred retry due."""
    past = utcnow() - timedelta(seconds=1)
    async with services.sessions() as session:
        await session.exec(
            update(Release)
            .where(col(Release.id) == release_id)
            .values(wait_until=past, next_try_at=past)
        )
        await session.commit()
