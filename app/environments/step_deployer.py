"""The `deploy` step's way to the environments: a promotion through the one gate, asked for by
the person whose event started the run (a manual run: the operator who started it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import col, select

from app.db.models.deployments import DeploymentJob
from app.db.models.pipelines import PipelineRun
from app.db.models.releases import Release, ReleaseState
from app.deployments import jobs
from app.deployments.reporting import job_url
from app.environments.promotion import Promotion, Refusal, promote
from app.environments.requesters import Requester
from app.releases import store as releases
from app.services import Services
from steps.base import Deployment, StepFailed

__all__ = ["StepDeployer", "run_requester"]


def run_requester(run: PipelineRun) -> Requester:
    """Who a run's deploy step deploys as: its event's actor, or the operator of a manual run."""
    actor = ((run.event or {}).get("actor") or {}).get("login")
    if run.trigger == "manual" or not actor:
        return Requester.operator(str(actor or "shipyard run"))
    return Requester.person(run.provider, str(actor))


@dataclass(frozen=True)
class StepDeployer:
    services: Services
    run: PipelineRun

    def _deployment(self, job: DeploymentJob, release: str) -> Deployment:
        return Deployment(
            id=job.id or 0,
            state=job.state,
            url=job_url(self.services.settings.public_url, job.id or 0),
            release=release,
            error=job.error,
        )

    async def _release(self, name: str | None) -> Release:
        run = self.run
        if name is not None:
            found = await releases.find_release(
                self.services.sessions, run.provider, run.repository, name
            )
            if found is None:
                raise StepFailed(f"{run.repository} has no release {name!r}")
            return found
        async with self.services.sessions() as session:
            newest = await session.exec(
                select(Release)
                .where(
                    Release.provider == run.provider,
                    Release.repository == run.repository,
                    Release.commit_sha == run.sha,
                    Release.state == ReleaseState.READY,
                )
                .order_by(col(Release.id).desc())
                .limit(1)
            )
            release = newest.first()
        if release is None:
            raise StepFailed(
                f"commit {run.sha} of {run.repository} has no ready release to deploy: make one "
                "first (`releases: from:` in .shipyard.yml), or name one with `release:`"
            )
        return release

    async def promote(
        self, environment: str, release: str | None, params: Mapping[str, str]
    ) -> Deployment:
        found = await self._release(release)
        assert found.id is not None
        try:
            job = await promote(
                self.services,
                Promotion(
                    found.id,
                    environment,
                    run_requester(self.run),
                    via="step",
                    params=dict(params),
                    pr_number=self.run.pr_number,
                ),
            )
        except Refusal as refusal:
            raise StepFailed(f"refused ({refusal.gate}): {refusal}") from None
        return self._deployment(job, found.name)

    async def read(self, deployment_id: int) -> Deployment:
        job = await jobs.get_job(self.services.sessions, deployment_id)
        if job is None:
            raise StepFailed(f"deployment {deployment_id} is gone")
        release = await releases.get_release(self.services.sessions, job.release_id)
        return self._deployment(job, release.name if release else str(job.release_id))
