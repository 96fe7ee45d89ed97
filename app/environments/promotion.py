"""Promoting a release into an environment — the one way every deployment starts, whoever asks
(the API, the CLI, auto_deploy, a pipeline's deploy step): gather the facts, pass the gate
(`gate`), and make the job. Approving, cancelling and rolling back go through here too.

The facts come from where they are true: the environment from the repository's config at its
default branch, people's roles from the host, the targets from the server, what runs where from
the environment's completed jobs. A refusal (`Refusal`) names the gate and how to pass it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from app.chatops.config import chatops_of
from app.db.models.base import utcnow
from app.db.models.deployments import (
    WAITING_JOB_STATES,
    DeploymentJob,
    JobKind,
    JobState,
    Target,
)
from app.db.models.releases import Release, ReleaseState
from app.deployments import jobs
from app.deployments.queueing import enqueue_advance
from app.deployments.reporting import report_waiting
from app.deployments.snapshot import release_view, snapshot
from app.deployments.targets.store import list_targets
from app.environments.config import EnvironmentSpec, environments_of
from app.environments.freezes import (
    active_freeze,
    describe_freeze,
    describe_issue_freeze,
    freezing_issue,
)
from app.environments.gate import (
    Refusal,
    approver_refusal,
    freeze_refusal,
    lock_refusal,
    order_refusal,
    requester_refusal,
    targets_refusal,
)
from app.environments.locks import blocking_lock
from app.environments.requesters import Requester, RequesterKind, is_admin
from app.pipelines.default_config import read_default_config
from app.releases import store as releases
from app.repo_config.errors import ConfigError
from app.services import Services
from providers.errors import ProviderError
from providers.vocabulary import Permission, Repo
from steps.templates import TemplateError, render_value

__all__ = [
    "Declared",
    "Promotion",
    "Refusal",
    "announce",
    "approve",
    "cancel",
    "environment_of",
    "promote",
    "rollback",
    "rollback_release",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Promotion:
    """A request to move release `release_id` into `environment`."""

    release_id: int
    environment: str
    requester: Requester
    via: str  # api, cli, auto_deploy, step, page
    params: Mapping[str, str] = field(default_factory=dict)
    kind: JobKind = JobKind.DEPLOY
    rollback_of: int | None = None
    pr_number: int | None = None
    force: bool = False  # through a freeze: an admin's only, and recorded
    dry_run: bool = False  # a noop: everything but the executors' acts; no approvals
    state: JobState | None = None  # where the job starts, when its asker waits for more
    gates: tuple[Mapping[str, str], ...] = ()  # what the asker checked already, for the record


@dataclass(frozen=True)
class Declared:
    """An environment as the repository's config declares it at its default branch (that
    branch), and the label whose open issues freeze it (`chatops.freeze_label`)."""

    spec: EnvironmentSpec
    branch: str
    freeze_label: str | None = None


async def environment_of(
    services: Services, provider: str, repository: str, installation_id: int | None, name: str
) -> Declared:
    """The environment `name` as the repository's config declares it; Refusal when there is no
    such environment or the config cannot be read."""
    client = services.providers(provider, installation_id)
    repo = Repo(repository)
    try:
        branch = await services.config_cache.default_branch(client, repo)
        config = await read_default_config(services, client, provider, repo, default_branch=branch)
    except ConfigError as error:
        why = f"{repository}'s .shipyard.yml is not valid: {error.summary}"
        raise Refusal("config", why) from None
    except ProviderError as error:
        why = f"{repository}'s .shipyard.yml could not be read: {error}"
        raise Refusal("config", why) from None
    environments = environments_of(config) if config is not None else {}
    if name not in environments:
        known = ", ".join(environments) or "none: declare them under `environments:`"
        raise Refusal(
            "environment",
            f"{repository} has no environment {name!r} (environments: {known})",
        )
    freeze_label = chatops_of(config).freeze_label if config is not None else None
    return Declared(environments[name], branch, freeze_label)


async def _role(services: Services, release: Release, requester: Requester) -> Permission | None:
    """A person's role on the release's repository, as its host says (None for others)."""
    if requester.kind is not RequesterKind.PERSON or requester.login is None:
        return None
    host = "gitea" if release.provider == "forgejo" else release.provider
    if requester.host != host:
        return Permission.NONE  # a login on another host has no role here
    client = services.providers(release.provider, release.installation_id)
    try:
        return await services.permissions.role(client, Repo(release.repository), requester.login)
    except ProviderError as error:
        raise Refusal(
            "deployers", f"{requester}'s role on {release.repository} could not be read: {error}"
        ) from None


async def _release(services: Services, release_id: int) -> Release:
    release = await releases.get_release(services.sessions, release_id)
    if release is None:
        raise Refusal("release", f"there is no release {release_id}")
    if release.state != ReleaseState.READY:
        why = (
            "still resolving its digests"
            if release.state == ReleaseState.RESOLVING
            else f"failed: {release.error}"
        )
        raise Refusal("release", f"release {release.name} cannot be deployed: it is {why}")
    if not _allowed(services, release):
        raise Refusal(
            "repository",
            f"Shipyard does not act on {release.provider}:{release.repository}: the server's "
            "SHIPYARD_REPO_ALLOWLIST does not include it",
        )
    return release


def _allowed(services: Services, release: Release) -> bool:
    return services.allowlist.allows(release.provider, release.repository)


async def _registered(services: Services) -> dict[str, Target]:
    return {target.name: target for target in await list_targets(services.sessions)}


def _url(spec: EnvironmentSpec, environment: str, release: Release) -> str | None:
    if spec.url is None:
        return None
    values = {"environment": environment, "release": {"name": release.name}}
    try:
        return str(render_value(spec.url, values))
    except TemplateError as error:
        raise Refusal("config", f"environment {environment}: url: {error}") from None


async def promote(services: Services, promotion: Promotion) -> DeploymentJob:
    """The job that moves the release into the environment, waiting for approvals or queued
    for its turn; Refusal when a gate refuses (nothing is made then)."""
    release = await _release(services, promotion.release_id)
    assert release.id is not None
    declared = await environment_of(
        services,
        release.provider,
        release.repository,
        release.installation_id,
        promotion.environment,
    )
    spec, branch = declared.spec, declared.branch
    name, requester = promotion.environment, promotion.requester
    role = await _role(services, release, requester)
    refused = requester_refusal(requester, spec, name, release.provider, release.repository, role)
    registered = await _registered(services)
    refused = refused or targets_refusal(
        spec, registered, name, release.provider, release.repository
    )
    if refused is None and promotion.kind is JobKind.DEPLOY and spec.after is not None:
        live = await jobs.last_completed(
            services.sessions, release.provider, release.repository, spec.after
        )
        live_release = live.release_id if live is not None else None
        refused = order_refusal(spec, release.id, release.name, live_release)
    if refused is not None:
        raise refused
    held = await _held(services, promotion, release, spec, role, declared.freeze_label)
    gates = [*promotion.gates, *held]
    previous = await jobs.last_completed(
        services.sessions, release.provider, release.repository, name
    )
    job = await jobs.create_job(
        services.sessions,
        jobs.NewJob(
            provider=release.provider,
            repository=release.repository,
            installation_id=release.installation_id,
            environment=name,
            release_id=release.id,
            requested_by_kind=str(requester.kind),
            requested_by=requester.name,
            via=promotion.via,
            spec={
                **snapshot(
                    spec,
                    registered,
                    release_view(release, spec.components),
                    default_branch=branch,
                    url=_url(spec, name, release),
                    dry_run=promotion.dry_run,
                ),
                "gates": gates,
            },
            kind=promotion.kind,
            # Rolling back is the way out of trouble: it asks no approvals (the role still);
            # a noop touches nothing, and asks none either.
            approvals_required=(
                0 if promotion.kind is JobKind.ROLLBACK or promotion.dry_run else spec.approvals
            ),
            state=promotion.state,
            params=dict(promotion.params),
            previous_release_id=previous.release_id if previous else None,
            rollback_of=promotion.rollback_of,
            pr_number=promotion.pr_number,
        ),
    )
    await announce(services, job)
    return job


async def _held(
    services: Services,
    promotion: Promotion,
    release: Release,
    spec: EnvironmentSpec,
    role: Permission | None,
    freeze_label: str | None,
) -> list[dict[str, str]]:
    """The gates every promotion passes after its requester's: nobody else's lock on the
    environment; no freeze on (a window, an issue with `chatops.freeze_label`), but for an
    admin's `--force` (rolling back passes freezes: it is the way out of trouble). Their
    results, for the job's record."""
    now = utcnow()
    name, requester = promotion.environment, promotion.requester
    lock = await blocking_lock(
        services.sessions, release.provider, release.repository, name, requester.name, now=now
    )
    refused = lock_refusal(lock, now)
    if refused is not None:
        raise refused
    gates = [{"gate": "lock", "result": "passed"}]
    if promotion.kind is not JobKind.DEPLOY:
        return gates
    frozen = await _frozen(services, release, spec, name, freeze_label, now)
    if frozen is None:
        return [*gates, {"gate": "freeze", "result": "passed"}]
    admin = is_admin(requester, role, services.settings.admins)
    refused = freeze_refusal(frozen, name, force=promotion.force, admin=admin)
    if refused is not None:
        raise refused
    log.warning("%s deploys to %s through a freeze with --force: %s", requester, name, frozen)
    return [*gates, {"gate": "freeze", "result": f"forced by {requester}: {frozen}"}]


async def _frozen(
    services: Services,
    release: Release,
    spec: EnvironmentSpec,
    environment: str,
    label: str | None,
    now: datetime,
) -> str | None:
    """What freezes the environment now, if anything: one of its `freeze:` windows, or an open
    issue carrying `chatops.freeze_label` that names it (issues that cannot be read refuse)."""
    window = active_freeze(spec.freeze, now)
    if window is not None:
        return describe_freeze(window)
    if label is None:
        return None
    client = services.providers(release.provider, release.installation_id)
    try:
        issues = await client.labelled_issues(Repo(release.repository), label)
    except ProviderError as error:
        raise Refusal(
            "freeze",
            f"the open issues labelled {label!r} could not be read ({error}), so nothing deploys",
        ) from None
    issue = freezing_issue(issues, environment)
    return describe_issue_freeze(issue, label) if issue is not None else None


async def announce(services: Services, job: DeploymentJob) -> None:
    """A new (or newly approved) job: queued jobs go to the queue to take their turn."""
    assert job.id is not None
    if job.state == JobState.AWAITING_CHECKS:
        await report_waiting(services, job, "waiting for the commit's CI")
        return
    if job.state == JobState.AWAITING_CONFIRMATION:
        await report_waiting(services, job, f"waiting for {job.requested_by} to /confirm")
        return
    if job.state == JobState.AWAITING_APPROVAL:
        await report_waiting(services, job, f"waiting for approval (0/{job.approvals_required})")
        return
    await report_waiting(services, job, "queued")
    await enqueue_advance(services, job.id)


async def approve(services: Services, job_id: int, approver: Requester) -> DeploymentJob:
    """Count `approver`'s approval; with enough of them the job is queued for its turn."""
    job = await jobs.get_job(services.sessions, job_id)
    if job is None:
        raise Refusal("approvals", f"there is no deployment {job_id}")
    if job.state != JobState.AWAITING_APPROVAL:
        raise Refusal("approvals", f"deployment {job_id} is {job.state}, not awaiting approval")
    release = await releases.get_release(services.sessions, job.release_id)
    assert release is not None
    spec = EnvironmentSpec.model_validate(job.spec["environment"])
    role = await _role(services, release, approver)
    refused = approver_refusal(approver, job.requested_by, spec, job.environment, role)
    if refused is not None:
        raise refused
    assert approver.host is not None
    assert approver.login is not None
    count = await jobs.add_approval(services.sessions, job_id, approver.host, approver.login)
    if count >= job.approvals_required and await jobs.move_job(
        services.sessions, job_id, JobState.QUEUED
    ):
        job = await jobs.get_job(services.sessions, job_id) or job
        await announce(services, job)
    elif count < job.approvals_required:
        waiting = f"waiting for approval ({count}/{job.approvals_required})"
        await report_waiting(services, job, waiting)
    return await jobs.get_job(services.sessions, job_id) or job


async def cancel(
    services: Services, job_id: int, who: Requester, why: str | None = None
) -> DeploymentJob:
    """Stop the job: a waiting one at once; a running one as its tasks next beat (they stop,
    the tasks not started never start). `why` is recorded: "cancelled by …" by default."""
    job = await jobs.get_job(services.sessions, job_id)
    if job is None:
        raise Refusal("cancel", f"there is no deployment {job_id}")
    if job.state in WAITING_JOB_STATES:
        if await jobs.move_job(
            services.sessions, job_id, JobState.CANCELLED, error=why or f"cancelled by {who}"
        ):
            await enqueue_advance(services, job_id)  # reports it, and hands the turn on
    elif job.state in (JobState.PENDING, JobState.PREPARING, JobState.RUNNING):
        await jobs.touch_job(
            services.sessions, job_id, cancel_requested=True, error=why or f"cancelled by {who}"
        )
        await enqueue_advance(services, job_id)
    else:
        raise Refusal("cancel", f"deployment {job_id} is {job.state}: there is nothing to cancel")
    return await jobs.get_job(services.sessions, job_id) or job


async def rollback_release(
    services: Services, provider: str, repository: str, environment: str, to: int | None
) -> tuple[Release, DeploymentJob]:
    """The release to roll the environment back to — `to`, or the one that ran before the
    release live now — and the job that made the live one; Refusal when there is none."""
    live = await jobs.last_completed(services.sessions, provider, repository, environment)
    if live is None:
        raise Refusal(
            "rollback",
            f"nothing has been deployed to {environment} of {repository} yet: there is no "
            "earlier good release to roll back to; nothing was touched",
        )
    target_id = to if to is not None else await _release_before(services, live)
    release = await releases.get_release(services.sessions, target_id)
    if release is None or (release.provider, release.repository) != (provider, repository):
        raise Refusal("rollback", f"release {target_id} is not a release of {repository}")
    return release, live


async def _release_before(services: Services, live: DeploymentJob) -> int:
    """The release the environment ran before its live one (the newest completed deployment
    of another release); Refusal when there was none."""
    before = await jobs.last_completed(
        services.sessions, live.provider, live.repository, live.environment, before_id=live.id
    )
    while before is not None and before.release_id == live.release_id:
        before = await jobs.last_completed(
            services.sessions,
            live.provider,
            live.repository,
            live.environment,
            before_id=before.id,
        )
    if before is None:
        raise Refusal(
            "rollback",
            f"{live.environment} of {live.repository} has no earlier good release than the "
            "one live now; nothing was touched",
        )
    return before.release_id


async def rollback(
    services: Services,
    provider: str,
    repository: str,
    environment: str,
    requester: Requester,
    *,
    via: str,
    to: int | None = None,
) -> DeploymentJob:
    """A job that puts the environment back on an earlier good release, through the gate."""
    release, live = await rollback_release(services, provider, repository, environment, to)
    assert release.id is not None
    return await promote(
        services,
        Promotion(
            release_id=release.id,
            environment=environment,
            requester=requester,
            via=via,
            kind=JobKind.ROLLBACK,
            rollback_of=live.id,
        ),
    )
