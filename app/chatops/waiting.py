"""Pull-request deploys that wait: for their commit's CI (looked at again in every sweep), and
for their requester's `/confirm` (cancelled once `confirm_timeout` has passed); and what a pull
request's own events do to them — a new push drops the deploys still waiting for an older head;
closing or merging it releases the sticky locks it took (`chatops.unlock_on_close`)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from app.chatops.checks import ci_verdict, shipyard_contexts
from app.chatops.config import ChatopsConfig, chatops_of
from app.db.models.base import as_utc, utcnow
from app.db.models.deployments import (
    WAITING_JOB_STATES,
    DeploymentJob,
    JobState,
)
from app.deployments import jobs
from app.deployments.snapshot import JobSpec
from app.environments.locks import release_pr_locks
from app.environments.promotion import announce, cancel
from app.environments.requesters import Requester
from app.pipelines.default_config import read_default_config
from app.repo_config.errors import ConfigError
from app.repo_config.schema import RepoConfig
from app.routing.router import Outcome, Routed, Router
from app.services import Services
from providers.errors import ProviderError
from providers.events import EventKind
from providers.vocabulary import Repo

__all__ = ["advance_waiting_deploys", "confirmation_overdue", "router"]

log = logging.getLogger(__name__)

router: Router[Services] = Router("chatops_waiting")

SHIPYARD = Requester.operator("shipyard")
NEW_PUSH = ("synchronize", "synchronized", "update")  # GitHub, Gitea, GitLab
CLOSED = ("closed", "close", "merge", "merged")


async def advance_waiting_deploys(services: Services, _at_start: bool) -> int:
    """Every sweep: deploys whose CI finished go on (or end, if it failed); confirmations
    not given in time end the deploy. How many moved."""
    moved = 0
    waiting = await jobs.list_jobs(
        services.sessions,
        states=[JobState.AWAITING_CHECKS, JobState.AWAITING_CONFIRMATION],
        limit=500,
    )
    for job in waiting:
        try:
            if job.state == JobState.AWAITING_CHECKS:
                moved += await _checks_done(services, job)
            else:
                moved += await _confirmation_late(services, job)
        except (ProviderError, ConfigError) as error:
            log.warning("deployment %s: its wait could not be looked at: %s", job.id, error)
    return moved


async def _config(services: Services, job: DeploymentJob) -> RepoConfig | None:
    client = services.providers(job.provider, job.installation_id)
    return await read_default_config(
        services, client, job.provider, Repo(job.repository), default_branch=None
    )


async def _checks_done(services: Services, job: DeploymentJob) -> int:
    spec = JobSpec.of(job)
    commit = spec.release.commit
    if commit is None:
        return 0
    client = services.providers(job.provider, job.installation_id)
    reports = await client.list_commit_statuses(Repo(job.repository), commit)
    config = await _config(services, job)
    chatops = chatops_of(config) if config is not None else ChatopsConfig()
    own = shipyard_contexts(config) if config is not None else frozenset()
    verdict = ci_verdict(reports, chatops.required_checks, own=own)
    if verdict.state == "pending":
        return 0
    if verdict.state == "failed":
        await cancel(services, job.id or 0, SHIPYARD, f"not deployed: {verdict.summary()}")
        return 1
    if spec.environment.confirm and not spec.dry_run:
        nxt = JobState.AWAITING_CONFIRMATION
    else:
        nxt = JobState.AWAITING_APPROVAL if job.approvals_required else JobState.QUEUED
    if await jobs.move_job(services.sessions, job.id or 0, nxt):
        moved = await jobs.get_job(services.sessions, job.id or 0)
        if moved is not None:
            await announce(services, moved)
        return 1
    return 0


def confirmation_overdue(job: DeploymentJob, now: datetime) -> bool:
    """Whether a job waiting for its requester's /confirm has waited past `confirm_timeout`
    (counted from when it began to wait: its last move)."""
    timeout = JobSpec.of(job).environment.confirm_timeout
    return now - as_utc(job.updated_at) > timedelta(seconds=timeout)


async def _confirmation_late(services: Services, job: DeploymentJob) -> int:
    if not confirmation_overdue(job, utcnow()):
        return 0
    timeout = JobSpec.of(job).environment.confirm_timeout
    await cancel(services, job.id or 0, SHIPYARD, f"not confirmed within {timeout:.0f} s")
    return 1


@router.register(EventKind.PULL_REQUEST)
async def pull_request_moved(services: Services, routed: Routed) -> Outcome:
    """A new push drops the pull request's deploys still waiting for an older head; closing
    or merging it releases the sticky locks it took."""
    event = routed.event
    pull = event.pull_request
    if event.repository is None or not event.repository.full_name or pull is None:
        return None
    if pull.number is None:
        return None
    repository = event.repository.full_name
    if event.action in NEW_PUSH and pull.head_sha:
        dropped = []
        waiting = await jobs.list_jobs(
            services.sessions,
            provider=event.provider,
            repository=repository,
            states=WAITING_JOB_STATES,
            pr_number=pull.number,
            limit=100,
        )
        stale = [job for job in waiting if JobSpec.of(job).release.commit != pull.head_sha]
        for job in reversed(stale):  # oldest first
            why = f"dropped: #{pull.number} got a new push ({pull.head_sha[:12]}); ask again"
            await cancel(services, job.id or 0, SHIPYARD, why)
            dropped.append(job.id)
        return {"dropped": dropped} if dropped else None
    if event.action in CLOSED:
        client = services.providers(event.provider, event.installation_id)
        try:
            config = await read_default_config(
                services, client, event.provider, Repo(repository), default_branch=None
            )
        except (ConfigError, ProviderError):
            config = None
        if config is not None and not chatops_of(config).unlock_on_close:
            return None
        released = await release_pr_locks(
            services.sessions, event.provider, repository, pull.number, f"#{pull.number} closed"
        )
        return {"unlocked": [lock.id for lock in released]} if released else None
    return None
