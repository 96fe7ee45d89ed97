"""Preparing a job: its files generated from the release (the repository's templates read at
its default branch), its plan made by the strategy from what the environment ran before, and
its tasks — one per target and component, a bake, a switch — made once."""

from __future__ import annotations

from sqlmodel import col, select

from app.db.models.deployments import (
    DeploymentJob,
    DeploymentTask,
    JobKind,
    JobState,
    TaskKind,
    TaskState,
)
from app.deployments import jobs, tasks
from app.deployments.artifacts import generate, templates_needed
from app.deployments.artifacts.base import Artifact, ArtifactError, ArtifactInputs
from app.deployments.snapshot import JobSpec, ReleaseView
from app.deployments.strategies import Plan, Previous, Wave, plan_waves
from app.environments.config import BlueGreen
from app.services import Services
from providers.errors import ProviderError
from providers.vocabulary import Repo

__all__ = ["Prepared", "artifacts_for", "prepare", "prior_digests"]


class Prepared(Exception):
    """Preparing could not go on; the message says why (the job fails with it)."""


async def artifacts_for(
    services: Services, job: DeploymentJob, spec: JobSpec, release: ReleaseView
) -> list[Artifact]:
    """The environment's files for `release`, templates read from the repository."""
    wanted = templates_needed(spec.environment.artifacts)
    templates: dict[str, str] = {}
    if wanted:
        client = services.providers(job.provider, job.installation_id)
        for path in wanted:
            try:
                found = await client.read_file(Repo(job.repository), path, spec.default_branch)
            except ProviderError as error:
                raise Prepared(f"template {path} could not be read: {error}") from None
            if found is not None:
                templates[path] = found.decode("utf-8", errors="replace")
    inputs = ArtifactInputs(
        provider=job.provider,
        repository=job.repository,
        environment=job.environment,
        release_id=release.id,
        release_name=release.name,
        release_version=release.version,
        commit=release.commit,
        components=release.components,
        targets=[spec.target_view(name) for name in spec.environment.targets],
        job_id=job.id or 0,
        templates=templates,
        params=job.params,
    )
    try:
        return [generate(artifact, inputs) for artifact in spec.environment.artifacts]
    except ArtifactError as error:
        raise Prepared(str(error)) from None


async def prior_digests(
    services: Services, job: DeploymentJob
) -> dict[tuple[str, str | None], str | None]:
    """What each (target, component) of the environment last ran, by Shipyard's own record:
    the digest of its newest succeeded deploy or rollback task."""
    async with services.sessions() as session:
        found = await session.exec(
            select(DeploymentTask.target, DeploymentTask.component, DeploymentTask.digest)
            .join(DeploymentJob, col(DeploymentJob.id) == col(DeploymentTask.job_id))
            .where(
                DeploymentJob.provider == job.provider,
                DeploymentJob.repository == job.repository,
                DeploymentJob.environment == job.environment,
                col(DeploymentJob.id) < (job.id or 0),
                col(DeploymentTask.state) == TaskState.SUCCEEDED,
                col(DeploymentTask.kind).in_((TaskKind.DEPLOY, TaskKind.ROLLBACK)),
            )
            .order_by(col(DeploymentTask.id).desc())
        )
        digests: dict[tuple[str, str | None], str | None] = {}
        for target, component, digest in found:
            if target is not None:
                digests.setdefault((target, component), digest)
        return digests


async def _plan(services: Services, job: DeploymentJob, spec: JobSpec) -> Plan:
    strategy = spec.environment.strategy
    live = await jobs.last_completed(
        services.sessions, job.provider, job.repository, job.environment
    )
    previous = Previous(live.live_colour if live else None)
    if job.kind == JobKind.ROLLBACK and isinstance(strategy, BlueGreen) and live is not None:
        switch_back = await _switch_back(services, job, strategy, previous)
        if switch_back is not None:
            return switch_back
    return plan_waves(strategy, list(spec.environment.targets), previous)


async def _switch_back(
    services: Services, job: DeploymentJob, strategy: BlueGreen, previous: Previous
) -> Plan | None:
    """Rolling a blue-green environment back: when the idle colour still runs the release
    to go back to, traffic just switches to it (nothing is deployed)."""
    idle = "blue" if previous.live_colour == "green" else "green"
    found = await jobs.list_jobs(
        services.sessions,
        provider=job.provider,
        repository=job.repository,
        environment=job.environment,
        states=[JobState.COMPLETED],
        before_id=job.id,
        limit=100,
    )
    last_on_idle = next((j for j in found if j.live_colour == idle), None)
    if last_on_idle is None or last_on_idle.release_id != job.release_id:
        return None
    targets = strategy.blue if idle == "blue" else strategy.green
    return Plan((Wave(TaskKind.SWITCH, targets, colour=idle),), live_colour=idle)


def _tasks(
    plan: Plan, spec: JobSpec, prior: dict[tuple[str, str | None], str | None]
) -> list[tasks.NewTask]:
    components = spec.release.components or ()
    attempts = spec.environment.deploy.max_attempts
    made: list[tasks.NewTask] = []
    for index, wave in enumerate(plan.waves):
        if wave.kind is not TaskKind.DEPLOY:
            made.append(tasks.NewTask(wave=index, kind=wave.kind, targets=wave.targets))
            continue
        for target in wave.targets:
            for component in components or (None,):
                name = component.name if component is not None else None
                made.append(
                    tasks.NewTask(
                        wave=index,
                        kind=TaskKind.DEPLOY,
                        target=target,
                        component=name,
                        digest=component.digest if component is not None else spec.release.commit,
                        replaced_digest=prior.get((target, name)),
                        max_attempts=attempts,
                    )
                )
    return made


async def prepare(services: Services, job: DeploymentJob) -> None:
    """Generate the job's files, plan it and make its tasks — once: of two attempts preparing
    one job (a take-over of one that seemed stalled), the first to write its plan wins, and a
    job prepared again after its worker died keeps the tasks it has. Prepared when it cannot
    be prepared."""
    assert job.id is not None
    spec = JobSpec.of(job)
    artifacts = await artifacts_for(services, job, spec, spec.release)
    await jobs.save_artifacts(services.sessions, job.id, "deploy", artifacts)
    try:
        plan = await _plan(services, job, spec)
    except ValueError as error:
        raise Prepared(str(error)) from None
    prior = await prior_digests(services, job)
    await tasks.plan_once(
        services.sessions,
        job.id,
        [wave.as_json() for wave in plan.waves],
        {"live_colour": plan.live_colour},
        _tasks(plan, spec, prior),
    )
