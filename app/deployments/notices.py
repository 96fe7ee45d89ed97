"""Telling the environment's `notify:` integrations where a deployment got: started, succeeded,
failed, rolled back.

One notice per job and event, claimed in the job's row before it is sent (a retried job does
not send it twice). Every notice of an environment shares the dedup key
`shipyard/<provider>/<repository>/<environment>`, so the alert a failure raises (PagerDuty,
Opsgenie) is resolved by the next success. Whether the integration exists is asked when the
notice is sent; a notice that cannot be sent is logged and never fails the deployment.
"""

from __future__ import annotations

import logging

from app.db.models.deployments import DeploymentJob, JobKind, JobState
from app.deployments import jobs
from app.deployments.snapshot import JobSpec
from app.integrations.notifications.service import HubNotices
from app.services import Services
from steps.integrations import IntegrationFailed, Notice, NoticeStatus

__all__ = ["dedup_key", "deployment_notice", "notify_deployment", "status_of"]

log = logging.getLogger(__name__)

_MARKS: dict[NoticeStatus, str] = {
    "started": "→",
    "succeeded": "✓",
    "failed": "✗",
    "rolled_back": "↩",
}


def status_of(job: DeploymentJob) -> NoticeStatus | None:
    """What the job's state tells people: started while it runs, then how it ended (a
    rollback job that completes has rolled the environment back). None: nothing to tell."""
    state = JobState(job.state)
    if state in (JobState.RUNNING, JobState.ROLLING_BACK):
        return "started" if state is JobState.RUNNING else None
    if state is JobState.COMPLETED:
        return "rolled_back" if job.kind == JobKind.ROLLBACK else "succeeded"
    if state is JobState.FAILED:
        return "failed"
    if state is JobState.ROLLED_BACK:
        return "rolled_back"
    return None


def dedup_key(job: DeploymentJob) -> str:
    return f"shipyard/{job.provider}/{job.repository}/{job.environment}"


def _text(job: DeploymentJob, release: str, status: NoticeStatus) -> str:
    env = job.environment
    error = f": {job.error}" if job.error else ""
    if job.kind == JobKind.ROLLBACK:
        return {
            "started": f"Rolling {env} back to {release}.",
            "rolled_back": f"{env} is back on {release}.",
            "failed": f"Rolling {env} back to {release} failed{error}",
        }.get(status, "")
    return {
        "started": f"Deploying {release} to {env}.",
        "succeeded": f"{release} is live in {env}.",
        "failed": f"Deploying {release} to {env} failed{error}",
        "rolled_back": f"Deploying {release} to {env} failed and was rolled back{error}",
    }.get(status, "")


def deployment_notice(job: DeploymentJob, spec: JobSpec, status: NoticeStatus, url: str) -> Notice:
    """The notice of `job` reaching `status`: "web: production ✓ v1.2.3", what happened, the
    deployment's page, and the facts people ask first."""
    release = spec.release.name
    repo_name = job.repository.rpartition("/")[2]
    fields = {
        "Repository": job.repository,
        "Environment": job.environment,
        "Release": release,
    }
    if spec.release.commit:
        fields["Commit"] = spec.release.commit[:12]
    fields["Requested by"] = job.requested_by
    if spec.url:
        fields["URL"] = spec.url
    return Notice(
        title=f"{repo_name}: {job.environment} {_MARKS[status]} {release}",
        text=_text(job, release, status),
        status=status,
        url=url,
        fields=fields,
        dedup_key=dedup_key(job),
    )


async def notify_deployment(services: Services, job: DeploymentJob, url: str) -> None:
    """Send the job's notice for where it is now (`url`: its page) to each integration its
    environment's `notify:` asks for that event, once."""
    status = status_of(job)
    if status is None or job.id is None:
        return
    spec = JobSpec.of(job)
    if spec.dry_run:
        return  # a noop deploys nothing: nobody is told it did
    names = [rule.integration for rule in spec.environment.notify if status in rule.on]
    if not names or not await jobs.mark_reported(services.sessions, job.id, f"notice:{status}"):
        return
    notice = deployment_notice(job, spec, status, url)
    notices = HubNotices(services.integrations, for_repository=(job.provider, job.repository))
    for name in dict.fromkeys(names):
        try:
            await notices.send(name, notice)
        except IntegrationFailed as error:
            log.warning("deployment %s: %s was not notified: %s", job.id, name, error)
        except Exception:  # a notice never fails the deployment
            log.exception("deployment %s: notifying %s failed", job.id, name)
