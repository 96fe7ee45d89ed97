"""Telling the Git host where a deployment is, on every host alike.

- A deployment per job, made when the job starts (GitHub's deployments API, GitLab's; on
  Gitea / Forgejo, which have none, the commit status `shipyard/deploy/<env>` is the
  deployment: ADR 7), with statuses queued → in_progress → success | failure | error, the job's
  page as the log URL and the environment's URL. A job that rolls back ends its deployment
  `failure`, and the rollback gets a deployment of its own.
- The commit status `shipyard/deploy/<env>` on the release's commit, from the moment the job
  waits (for approvals, or its turn) to its end — on GitHub and GitLab beside the deployment;
  on Gitea it is the deployment's own status, set once, not twice.
- One live comment per environment on the open pull request the job was asked for on (or
  the release's commit belongs to): `live_comment`. A noop tells the host nothing else.

Reporting never fails a deployment: a host that does not answer is logged. The final status of
a job is claimed in the database before it is sent, so it is sent once.
"""

from __future__ import annotations

import logging
from typing import Any

from app.db.models.deployments import DeploymentJob, JobKind, JobState
from app.deployments import jobs
from app.deployments.live_comment import post_live_comment, progress_comment, waiting_words
from app.deployments.notices import notify_deployment
from app.deployments.snapshot import JobSpec
from app.deployments.tasks import load
from app.services import Services
from providers.base import Provider
from providers.errors import ProviderError
from providers.vocabulary import CommitState, CommitStatus, Deployment, DeploymentState, Repo

__all__ = [
    "deploy_context",
    "job_url",
    "report_ended",
    "report_preparing",
    "report_progress",
    "report_queue_moved",
    "report_rollback",
    "report_started",
    "report_waiting",
    "status_description",
]

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 140
_ENDED = {
    JobState.COMPLETED: (DeploymentState.SUCCESS, CommitState.SUCCESS),
    JobState.FAILED: (DeploymentState.FAILURE, CommitState.FAILURE),
    JobState.ROLLED_BACK: (DeploymentState.FAILURE, CommitState.FAILURE),
    JobState.CANCELLED: (DeploymentState.ERROR, CommitState.ERROR),
}


def deploy_context(environment: str) -> str:
    return f"shipyard/deploy/{environment}"


def job_url(public_url: str, job_id: int) -> str:
    return f"{public_url.rstrip('/')}/deployments/{job_id}"


def _provider(services: Services, job: DeploymentJob) -> Provider:
    return services.providers(job.provider, job.installation_id)


def _words(job: DeploymentJob, spec: JobSpec) -> str:
    if job.kind == JobKind.ROLLBACK:
        return f"roll {job.environment} back to {spec.release.name}"
    return f"deploy {spec.release.name} to {job.environment}"


def _rollback_words(job: DeploymentJob) -> str:
    """What the deployment of an automatic rollback does."""
    previous = (job.spec.get("rollback_release") or {}).get("name")
    return f"roll {job.environment} back to {previous or 'the release before'}"


def status_description(text: str) -> str:
    """A description the hosts take (140 characters), cut with an ellipsis where it is cut."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


async def _commit_status(
    services: Services, job: DeploymentJob, spec: JobSpec, state: CommitState, text: str
) -> None:
    """The `shipyard/deploy/<env>` status; on a host where the deployment is that status,
    only while no deployment exists yet (waiting)."""
    provider = _provider(services, job)
    commit = spec.release.commit
    if commit is None or spec.dry_run:
        return  # a noop deploys nothing: the host hears nothing of it but its comment
    made = _recorded(job, "deploy") or _recorded(job, "rollback")
    if provider.deployments_are_statuses and made is not None:
        return
    status = CommitStatus(
        state=state,
        context=deploy_context(job.environment),
        description=status_description(text),
        target_url=job_url(services.settings.public_url, job.id or 0),
    )
    await _quietly(job, "status", provider.set_commit_status(Repo(job.repository), commit, status))


async def report_waiting(services: Services, job: DeploymentJob, why: str) -> None:
    """The job waits (for CI, a confirmation, approvals, or its turn): a pending status saying
    for what; a job asked for on a pull request says it in its live comment too, with its
    place in the queue."""
    spec = JobSpec.of(job)
    await _commit_status(services, job, spec, CommitState.PENDING, f"{_words(job, spec)}: {why}")
    if job.pr_number is not None:
        ahead = await jobs.ahead_of(services.sessions, job)
        await _comment(services, job, spec, waiting_words(job, ahead) or why)


async def report_progress(services: Services, job: DeploymentJob) -> None:
    """A wave began: the live comment of a job asked for on a pull request says so. (`job`
    may have been read without its spec: it is read whole here.)"""
    whole = await jobs.get_job(services.sessions, job.id or 0)
    if whole is not None:
        await _comment(services, whole, JobSpec.of(whole))


async def report_queue_moved(services: Services, ended: DeploymentJob) -> None:
    """A job ended and the environment's queue moved: the live comments of the jobs still
    queued there, asked for on pull requests, say their new place."""
    queued = await jobs.list_jobs(
        services.sessions,
        provider=ended.provider,
        repository=ended.repository,
        environment=ended.environment,
        states=[JobState.QUEUED],
        limit=50,
    )
    for job in reversed(queued):  # oldest first
        if job.pr_number is None:
            continue
        spec = JobSpec.of(job)
        ahead = await jobs.ahead_of(services.sessions, job)
        await _comment(services, job, spec, waiting_words(job, ahead))


async def report_preparing(services: Services, job: DeploymentJob) -> None:
    """The job has its turn and prepares: its host deployment, made once, queued."""
    spec = JobSpec.of(job)
    if _recorded(job, "deploy") is not None:
        return  # made by an earlier attempt: its statuses go on from there
    deployment = await _deployment(services, job, spec, "deploy")
    if not _provider(services, job).deployments_are_statuses:  # made queued there already
        await _set(services, job, spec, deployment, DeploymentState.QUEUED, _words(job, spec))


async def report_started(services: Services, job: DeploymentJob) -> None:
    """The job runs its tasks: its deployment in progress; the status; the comment."""
    spec = JobSpec.of(job)
    deployment = await _deployment(services, job, spec, "deploy")
    await _set(services, job, spec, deployment, DeploymentState.IN_PROGRESS, _words(job, spec))
    await _commit_status(services, job, spec, CommitState.RUNNING, f"{_words(job, spec)}: running")
    await _comment(services, job, spec)
    await notify_deployment(services, job, job_url(services.settings.public_url, job.id or 0))


async def report_rollback(services: Services, job: DeploymentJob, reason: str) -> None:
    """The job failed and rolls back: its deployment fails; the rollback gets its own."""
    spec = JobSpec.of(job)
    failed = _recorded(job, "deploy")
    if failed is not None and await jobs.mark_reported(services.sessions, job.id or 0, "failed"):
        await _set(services, job, spec, failed, DeploymentState.FAILURE, f"failed: {reason}")
    deployment = await _deployment(services, job, spec, "rollback")
    await _set(services, job, spec, deployment, DeploymentState.IN_PROGRESS, _rollback_words(job))
    text = f"{_words(job, spec)} failed; rolling back: {reason}"
    await _commit_status(services, job, spec, CommitState.RUNNING, text)
    await _comment(services, job, spec)


async def report_ended(services: Services, job: DeploymentJob) -> None:
    """The job ended: the final status of its deployment (or its rollback's), once."""
    if not await jobs.mark_reported(services.sessions, job.id or 0, "ended"):
        return
    spec = JobSpec.of(job)
    state, commit_state = _ENDED[JobState(job.state)]
    text = f"{_words(job, spec)}: {_ended_words(job)}"
    deployment, said = _recorded(job, "deploy"), text
    if _recorded(job, "rollback") is not None:
        # The deploy's own deployment failed when the rollback began; this ends the rollback's.
        deployment = _recorded(job, "rollback")
        rolled_back = job.state == JobState.ROLLED_BACK
        state = DeploymentState.SUCCESS if rolled_back else DeploymentState.FAILURE
        said = f"{_rollback_words(job)}: {'done' if rolled_back else 'failed'}"
    if deployment is not None:
        await _set(services, job, spec, deployment, state, said)
    await _commit_status(services, job, spec, commit_state, text)
    await _comment(services, job, spec)
    await notify_deployment(services, job, job_url(services.settings.public_url, job.id or 0))


def _ended_words(job: DeploymentJob) -> str:
    if job.state == JobState.COMPLETED:
        return "done"
    if job.state == JobState.ROLLED_BACK:
        return f"rolled back ({job.error or 'failed'})"
    if job.state == JobState.CANCELLED:
        return "cancelled"
    return f"failed: {job.error or 'no reason given'}"


def _recorded(job: DeploymentJob, which: str) -> Deployment | None:
    data = (job.host_deployment or {}).get(which)
    if not isinstance(data, dict):
        return None
    return Deployment(
        id=data["id"], environment=data["environment"], sha=data.get("sha"), ref=data.get("ref")
    )


async def _deployment(
    services: Services, job: DeploymentJob, spec: JobSpec, which: str
) -> Deployment | None:
    """The job's host deployment for `which` (deploy, rollback): the recorded one, or made now
    and recorded (None when the release names no commit, or the host refused)."""
    recorded = _recorded(job, which)
    if recorded is not None or spec.dry_run:
        return recorded
    commit = spec.release.commit
    words = _words(job, spec)
    if which == "rollback":
        commit = (job.spec.get("rollback_release") or {}).get("commit") or commit
        words = _rollback_words(job)
    if commit is None:
        return None
    provider = _provider(services, job)
    made = await _quietly(
        job,
        "deployment",
        provider.create_deployment(
            Repo(job.repository),
            ref=commit,
            sha=commit,
            environment=job.environment,
            description=status_description(words),
            payload={"shipyard": {"job": job.id, "release": spec.release.id, "kind": which}},
            production=spec.environment.production,
            transient=spec.environment.transient,
            environment_url=spec.url,
            log_url=job_url(services.settings.public_url, job.id or 0),
        ),
    )
    if made is None:
        return None
    data: dict[str, Any] = {
        "id": made.id,
        "environment": made.environment,
        "sha": made.sha,
        "ref": made.ref,
    }
    job.host_deployment = {**(job.host_deployment or {}), which: data}
    await jobs.record_host_deployment(services.sessions, job.id or 0, job.host_deployment)
    return _recorded(job, which)


async def _set(
    services: Services,
    job: DeploymentJob,
    spec: JobSpec,
    deployment: Deployment | None,
    state: DeploymentState,
    text: str,
) -> None:
    if deployment is None:
        return
    provider = _provider(services, job)
    await _quietly(
        job,
        "deployment status",
        provider.set_deployment_status(
            Repo(job.repository),
            deployment,
            state,
            environment_url=spec.url,
            log_url=job_url(services.settings.public_url, job.id or 0),
            description=status_description(text),
        ),
    )


async def _comment(
    services: Services, job: DeploymentJob, spec: JobSpec, waiting: str | None = None
) -> None:
    """The job's progress, in the environment's live comment on the open pull request of its
    commit (if there is one)."""
    number = job.pr_number
    provider = _provider(services, job)
    repo = Repo(job.repository)
    if number is None and spec.release.commit and "pr" not in job.spec:
        found = await _quietly(
            job, "pull requests", provider.pull_requests_for_commit(repo, spec.release.commit)
        )
        number = found[0].number if found else None
        job.spec = {**job.spec, "pr": number}
        await jobs.touch_job(services.sessions, job.id or 0, pr_number=number, spec=job.spec)
    if number is None:
        return
    loaded = await load(services.sessions, job.id or 0)
    tasks = loaded.tasks if loaded is not None else []
    url = job_url(services.settings.public_url, job.id or 0)
    body = progress_comment(job, spec, tasks, url, _words(job, spec), waiting=waiting)
    remembered = await _quietly(
        job, "comment", post_live_comment(provider, repo, number, job, body)
    )
    if remembered is not None:
        job.host_deployment = {**(job.host_deployment or {}), "comment": remembered}
        await jobs.record_host_deployment(services.sessions, job.id or 0, job.host_deployment)


async def _quietly(job: DeploymentJob, what: str, call: Any) -> Any:
    """Await a host call; a host error is logged (reporting never fails a deployment)."""
    try:
        return await call
    except (ProviderError, NotImplementedError) as error:
        log.warning("deployment %s: the %s was not reported: %s", job.id, what, error)
        return None
