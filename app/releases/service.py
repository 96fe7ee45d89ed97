"""Creating releases and finishing them: the one path every source takes (events, the REST
API, the CLI).

`create_release` stores the draft (once per name, `store.insert_release`) and hands the new
release to the queue. The `finish_release` job then does the I/O, safe to run twice:

- a release still `resolving` reads each missing digest from its registry
  (`HEAD /v2/<name>/manifests/<tag>`; through the integration a component's `registry:`
  names, if it names one); an image not pushed yet is asked again with back-off until the
  release's `wait_until`, then the release fails naming component, image and tag (and the
  tags nearest it that the registry has, where it can say). Never a guessed digest.
- a release `ready` or `failed` is announced once: the commits since the repository's
  previous release (the host's compare, capped at SHIPYARD_RELEASE_COMMITS_MAX), and a commit
  status `shipyard/release` on its commit, linked to its page; a ready one then goes to each
  environment that says `auto_deploy: true` (`app.environments.auto_deploy`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from app.db.models.base import as_utc, utcnow
from app.db.models.releases import Release, ReleaseState
from app.environments.auto_deploy import deploy_new_release
from app.releases import store
from app.releases.model import ReleaseDraft
from app.releases.registries import image_digests, tag_suggestions
from app.releases.registry import ImageNotFound, RegistryError
from app.services import Services
from app.work.job_ids import job_id
from jobqueue.base import QueueUnavailable
from providers.errors import ProviderError
from providers.vocabulary import CommitState, CommitStatus, Repo

__all__ = ["FINISH_RELEASE", "RELEASE_CONTEXT", "create_release", "finish_release", "release_url"]

log = logging.getLogger(__name__)

FINISH_RELEASE = "finish_release"
RELEASE_CONTEXT = "shipyard/release"
MAX_BACKOFF_SECONDS = 60.0
ANNOUNCE_FOR_SECONDS = 3600.0  # a host that keeps failing: the status is given up after this
FINISH_LEASE_SECONDS = 300.0  # a job holds a release this long; then the sweep may hand it on


def release_url(public_url: str, release_id: int) -> str:
    return f"{public_url.rstrip('/')}/releases/{release_id}"


async def create_release(services: Services, draft: ReleaseDraft) -> store.Stored:
    """The release `draft` asks for, stored (or the identical one that exists: `created`
    False); store.Conflict when its name is taken by other content. A new release is handed
    to the queue to be finished; if the queue is down, recovery hands it over later."""
    wait = None
    if not draft.resolved:
        wait = utcnow() + timedelta(seconds=services.settings.release_image_wait_seconds)
    state = ReleaseState.READY if draft.resolved else ReleaseState.RESOLVING
    stored = await store.insert_release(services.sessions, draft, state=state, wait_until=wait)
    if stored.created:
        await enqueue_finish(services, stored.release.id or 0)
    return stored


async def enqueue_finish(services: Services, release_id: int, defer: float = 0.0) -> None:
    """Finish the release `defer` seconds from now (recovery's, if the queue is down)."""
    if defer:
        at = utcnow() + timedelta(seconds=defer)
        await store.set_next_try(services.sessions, release_id, at)
    try:
        await services.queue.enqueue(
            FINISH_RELEASE, release_id, job_id=job_id("release", release_id), defer=defer
        )
    except QueueUnavailable as error:
        log.warning("release %s waits for recovery to be finished: %s", release_id, error)


@dataclass(frozen=True)
class _Missing:
    component: str
    image: str
    tag: str | None
    why: str
    registry: str | None = None  # the component's `registry:`
    absent: bool = False  # the registry said it has no such image or tag
    suggestions: tuple[str, ...] = ()

    def __str__(self) -> str:
        nearest = f" (tags it has: {', '.join(self.suggestions)})" if self.suggestions else ""
        return f"component {self.component!r}: {self.image}:{self.tag or '?'} {self.why}{nearest}"


async def finish_release(services: Services, _attempt: int, release_id: int) -> None:
    """The queue job: resolve what a release still misses, then announce it (module doc).
    It goes on only once it holds the release (`store.claim_finishing`): a second job for it
    stops, and one that fails lets the next take it at once."""
    lease = timedelta(seconds=FINISH_LEASE_SECONDS)
    if not await store.claim_finishing(services.sessions, release_id, lease=lease):
        return
    try:
        release = await store.get_release(services.sessions, release_id)
        if release is None:
            return
        if release.state == ReleaseState.RESOLVING:
            if not await _resolve(services, release):
                return
            release = await store.get_release(services.sessions, release_id)
            assert release is not None
        await _announce(services, release)
    except Exception:
        await store.set_next_try(services.sessions, release_id, utcnow())
        raise


async def _resolve(services: Services, release: Release) -> bool:
    """True when the release left `resolving` (ready or failed); False when it waits."""
    asker = (release.provider, release.repository)
    digests = await image_digests(services, asker)
    components: list[dict[str, Any]] = []
    missing: list[_Missing] = []
    for component in release.components:
        if component.get("digest"):
            components.append(component)
            continue
        name, image, tag = component["name"], component["image"], component.get("tag")
        registry = component.get("registry")
        try:
            digest = await digests.manifest_digest(image, tag or "latest", registry)
        except ImageNotFound:
            where = f"registry {registry}" if registry else "the registry"
            missing.append(_Missing(name, image, tag, f"is not in {where}", registry, True))
        except (RegistryError, LookupError) as error:
            missing.append(_Missing(name, image, tag, f"could not be read: {error}", registry))
        else:
            components.append({**component, "digest": digest})
    assert release.id is not None
    if not missing:
        await store.move_release(
            services.sessions, release.id, ReleaseState.READY, components=components
        )
        return True
    deadline = release.wait_until
    if deadline is not None and utcnow() < as_utc(deadline):
        # Back-off without a counter: wait about half as long again as it has waited.
        waited = (utcnow() - as_utc(release.created_at)).total_seconds()
        delay = min(max(services.settings.release_retry_seconds, waited / 2), MAX_BACKOFF_SECONDS)
        log.info("release %s waits %.0fs for %s", release.id, delay, "; ".join(map(str, missing)))
        await enqueue_finish(services, release.id, defer=delay)
        return False
    missing = [await _suggested(services, one, asker) for one in missing]
    why = "digest not resolved: " + "; ".join(map(str, missing))
    await store.move_release(services.sessions, release.id, ReleaseState.FAILED, error=why)
    return True


async def _suggested(services: Services, missing: _Missing, asker: tuple[str, str]) -> _Missing:
    """`missing` with the tags nearest its own that the registry has, when it said it has
    not that one (and can list the repository's)."""
    if not missing.absent:
        return missing
    tags = await tag_suggestions(
        services, missing.image, missing.tag or "latest", missing.registry, for_repository=asker
    )
    return replace(missing, suggestions=tuple(tags))


async def _announce(services: Services, release: Release) -> None:
    """The commits since the previous release, and the `shipyard/release` status."""
    assert release.id is not None
    provider = services.providers(release.provider, release.installation_id)
    repo = Repo(release.repository)
    previous = await store.previous_release(services.sessions, release)
    commits: list[str] = []
    more = 0
    if (
        release.state == ReleaseState.READY
        and previous
        and previous.commit_sha
        and release.commit_sha
    ):
        try:
            comparison = await provider.compare(repo, previous.commit_sha, release.commit_sha)
        except ProviderError as error:
            log.warning(
                "release %s: commits since %s not read: %s", release.id, previous.name, error
            )
        else:
            cap = services.settings.release_commits_max
            commits = comparison.commits[-cap:] if cap else []
            more = len(comparison.commits) - len(commits)
    if release.commit_sha:
        try:
            await provider.set_commit_status(repo, release.commit_sha, _status(services, release))
        except ProviderError as error:
            waited = (utcnow() - as_utc(release.created_at)).total_seconds()
            if error.retryable and waited < ANNOUNCE_FOR_SECONDS:
                log.warning("release %s: status not set, tried again later: %s", release.id, error)
                await enqueue_finish(services, release.id, defer=MAX_BACKOFF_SECONDS)
                return
            log.warning(
                "release %s: the %s status was not set: %s", release.id, RELEASE_CONTEXT, error
            )
    if release.state == ReleaseState.READY:
        await deploy_new_release(services, release)
    await store.record_announcement(
        services.sessions,
        release.id,
        previous_id=previous.id if previous else None,
        commits=commits,
        more=more,
    )


def _status(services: Services, release: Release) -> CommitStatus:
    ready = release.state == ReleaseState.READY
    description = (
        f"release {release.name}" if ready else f"release {release.name} failed: {release.error}"
    )
    return CommitStatus(
        state=CommitState.SUCCESS if ready else CommitState.FAILURE,
        context=RELEASE_CONTEXT,
        description=description[:140],
        target_url=release_url(services.settings.public_url, release.id or 0),
    )
