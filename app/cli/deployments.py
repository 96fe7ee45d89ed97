"""`shipyard deploy`, `shipyard rollback`, `shipyard deployments list|show|cancel` and
`shipyard environments`: promoting releases from the server's command line (through the same
gate as every promotion), and what runs where.

Without REDIS_URL the deployment runs right here, and the command waits for it to end; with it,
the workers take it and the command says where to follow it (`--wait` waits)."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from app.accounts.roles import HOSTS
from app.cli.support import echo, load_settings, with_database
from app.db.models.base import as_utc
from app.db.models.deployments import DeploymentJob
from app.settings import Settings

__all__ = ["deploy", "deployments_group", "environments", "rollback"]

T = TypeVar("T")


def _requester(as_person: str | None) -> Any:
    from app.environments.requesters import Requester

    if as_person is None:
        return Requester.operator(getpass.getuser())
    host, colon, login = as_person.partition(":")
    if not colon or host not in HOSTS or not login:
        raise click.BadParameter(
            f"{as_person!r}: give the person as host:login, e.g. github:alice", param_hint="--as"
        )
    return Requester.person(host, login)


def _repository(value: str) -> tuple[str, str]:
    host, colon, name = value.partition(":")
    if not colon or host not in HOSTS or "/" not in name:
        raise click.BadParameter(
            f"{value!r}: give the repository as host:owner/name, e.g. github:acme/web",
            param_hint="--repo",
        )
    return host, name


def _params(values: tuple[str, ...]) -> dict[str, str]:
    from app.deployments.variables import param_variable

    params: dict[str, str] = {}
    for value in values:
        key, equals, text = value.partition("=")
        try:
            param_variable(key)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--param") from None
        if not equals:
            raise click.BadParameter(f"{value!r}: give key=value", param_hint="--param")
        params[key] = text
    return params


def _with_services(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(services)` on a migrated database; a gate's refusal is a clear error."""
    from app.db.schema import DatabaseNotMigrated
    from app.environments.gate import Refusal
    from app.wiring import open_services

    async def run() -> T:
        async with open_services(settings) as services:
            return await work(services)

    try:
        return asyncio.run(run())
    except Refusal as refusal:
        raise click.ClickException(f"refused ({refusal.gate}): {refusal}") from None
    except DatabaseNotMigrated as error:
        raise click.ClickException(str(error)) from None


async def _follow(services: Any, job: DeploymentJob, wait: bool) -> DeploymentJob:
    """With the in-process queue, the job runs here: wait for it. With workers, wait only
    when asked (polling its row)."""
    from app.db.models.deployments import FINISHED_JOB_STATES, JobState
    from app.deployments import jobs
    from jobqueue.inprocess import InProcessQueue

    job_id = job.id
    assert job_id is not None
    if isinstance(services.queue, InProcessQueue):
        await services.queue.join()
    elif wait:
        while job.state not in FINISHED_JOB_STATES and job.state != JobState.AWAITING_APPROVAL:
            await asyncio.sleep(1.0)
            job = await jobs.get_job(services.sessions, job_id) or job
    return await jobs.get_job(services.sessions, job_id) or job


def _outcome(settings: Settings, job: DeploymentJob) -> None:
    from app.db.models.deployments import JobState
    from app.deployments.reporting import job_url

    echo(
        f"deployment {job.id} of release {job.release_id} to {job.environment}: {job.state}"
        + (f" ({job.error})" if job.error else "")
    )
    echo(f"  {job_url(settings.public_url, job.id or 0)}")
    if job.state in (JobState.FAILED, JobState.ROLLED_BACK, JobState.CANCELLED):
        raise SystemExit(1)


@click.command("deploy")
@click.argument("release")
@click.option("--env", "environment", required=True, help="The environment to deploy to.")
@click.option("--repo", "repository", default=None, help="host:owner/name, when RELEASE is a name.")
@click.option("--as", "as_person", default=None, help="Ask as this person (host:login).")
@click.option("--param", "params", multiple=True, help="key=value for the executors (repeat).")
@click.option("--wait", is_flag=True, help="With workers, wait until it ends.")
def deploy(
    release: str,
    environment: str,
    repository: str | None,
    as_person: str | None,
    params: tuple[str, ...],
    wait: bool,
) -> None:
    """Promote RELEASE (its id, or its name with --repo) into an environment."""
    from app.environments.promotion import Promotion, promote

    settings = load_settings()
    requester = _requester(as_person)
    given = _params(params)
    where = _repository(repository) if repository else None

    async def work(services: Any) -> DeploymentJob:
        release_id = await _release_id(services, release, where)
        job = await promote(
            services,
            Promotion(release_id, environment, requester, via="cli", params=given),
        )
        return await _follow(services, job, wait)

    _outcome(settings, _with_services(settings, work))


async def _release_id(services: Any, release: str, where: tuple[str, str] | None) -> int:
    from app.releases import store

    if release.isdigit() and where is None:
        return int(release)
    if where is None:
        raise click.BadParameter(
            "a release given by name needs --repo host:owner/name", param_hint="RELEASE"
        )
    found = await store.find_release(services.sessions, where[0], where[1], release)
    if found is None or found.id is None:
        raise click.ClickException(f"{where[0]}:{where[1]} has no release {release!r}")
    return found.id


@click.command("rollback")
@click.option("--env", "environment", required=True, help="The environment to roll back.")
@click.option("--repo", "repository", required=True, help="host:owner/name")
@click.option("--to", "to", default=None, help="The release to go back to (id or name).")
@click.option("--as", "as_person", default=None, help="Ask as this person (host:login).")
@click.option("--wait", is_flag=True, help="With workers, wait until it ends.")
def rollback(
    environment: str, repository: str, to: str | None, as_person: str | None, wait: bool
) -> None:
    """Roll an environment back to its previous good release (or --to one)."""
    from app.environments.promotion import rollback as roll_back

    settings = load_settings()
    requester = _requester(as_person)
    provider, name = _repository(repository)

    async def work(services: Any) -> DeploymentJob:
        target = await _release_id(services, to, (provider, name)) if to else None
        job = await roll_back(
            services, provider, name, environment, requester, via="cli", to=target
        )
        return await _follow(services, job, wait)

    _outcome(settings, _with_services(settings, work))


@click.group("deployments")
def deployments_group() -> None:
    """Deployment jobs: list, show, cancel."""


def _fields(job: DeploymentJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "provider": job.provider,
        "repository": job.repository,
        "environment": job.environment,
        "release_id": job.release_id,
        "kind": job.kind,
        "state": job.state,
        "requested_by": job.requested_by,
        "via": job.via,
        "error": job.error,
        "created_at": as_utc(job.created_at).isoformat(timespec="seconds"),
    }


@deployments_group.command("list")
@click.option(
    "--repo", "repository", default=None, help="Only this repository's (host:owner/name)."
)
@click.option("--env", "environment", default=None, help="Only this environment's.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_deployments(
    repository: str | None, environment: str | None, limit: int, as_json: bool
) -> None:
    """Deployments, newest first."""
    from app.deployments import jobs

    provider, name = _repository(repository) if repository else (None, None)
    rows = with_database(
        load_settings(),
        lambda sessions: jobs.list_jobs(
            sessions, provider=provider, repository=name, environment=environment, limit=limit
        ),
    )
    if not rows and not as_json:
        click.echo("no deployments yet")
    for job in rows:
        if as_json:
            click.echo(json.dumps(_fields(job)))
            continue
        echo(
            f"{job.id:>6}  {job.state:<17} {job.provider}:{job.repository} → {job.environment}  "
            f"release {job.release_id}  by {job.requested_by} ({job.via})  "
            f"{job.created_at:%Y-%m-%d %H:%M}"
        )


@deployments_group.command("show")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="As one JSON object.")
def show_deployment(job_id: int, as_json: bool) -> None:
    """One deployment: its tasks, their digests, and their logs."""
    from app.deployments import task_logs, tasks

    async def read(sessions: Any) -> tuple[Any, dict[int, str]]:
        loaded = await tasks.load(sessions, job_id)
        logs = {}
        for task in loaded.tasks if loaded else []:
            logs[task.id or 0] = await task_logs.task_log(sessions, task.id or 0)
        return loaded, logs

    loaded, logs = with_database(load_settings(), read)
    if loaded is None:
        raise click.ClickException(f"there is no deployment {job_id}")
    job = loaded.job
    if as_json:
        fields = _fields(job) | {
            "tasks": [
                {
                    "id": t.id,
                    "kind": t.kind,
                    "target": t.target,
                    "component": t.component,
                    "state": t.state,
                    "digest": t.digest,
                    "replaced_digest": t.replaced_digest,
                    "error": t.error,
                    "log": logs.get(t.id or 0, ""),
                }
                for t in loaded.tasks
            ]
        }
        click.echo(json.dumps(fields))
        return
    echo(
        f"deployment {job.id}: release {job.release_id} → {job.provider}:{job.repository} "
        f"{job.environment}, {job.state}" + (f" ({job.error})" if job.error else "")
    )
    for task in loaded.tasks:
        where = task.target or ", ".join(task.targets)
        what = f"{task.kind} {task.component}" if task.component else task.kind
        digests = f"  {task.replaced_digest or '-'} → {task.digest}" if task.digest else ""
        echo(f"  #{task.id} wave {task.wave} {what} on {where}: {task.state}{digests}")
        for line in logs.get(task.id or 0, "").splitlines():
            echo(f"      {line}")


@deployments_group.command("cancel")
@click.argument("job_id", type=int)
def cancel_deployment(job_id: int) -> None:
    """Cancel a deployment: waiting, at once; running, at its tasks' next beat."""
    from app.environments.promotion import cancel

    settings = load_settings()
    requester = _requester(None)
    job = _with_services(settings, lambda services: cancel(services, job_id, requester))
    echo(f"deployment {job.id}: {job.state}" + (" (stopping)" if job.cancel_requested else ""))


@click.command("environments")
@click.option("--repo", "repository", required=True, help="host:owner/name")
def environments(repository: str) -> None:
    """What release runs where: per environment and target, and the last deployments."""
    from app.deployments.where import running_where

    provider, name = _repository(repository)
    views = with_database(load_settings(), lambda s: running_where(s, provider, name))
    if not views:
        click.echo(f"nothing has been deployed from {repository} yet")
    for view in views.values():
        live = f"release {view.live_release_id}" if view.live_release_id else "nothing live"
        echo(f"{view.name}: {live}")
        for placed in view.placements:
            component = f" {placed.component}" if placed.component else ""
            echo(
                f"  {placed.target}{component}: release {placed.release_id} "
                f"{placed.digest or ''} (deployment {placed.job_id})"
            )
        for job in view.waiting:
            echo(f"  waiting: deployment {job.id} of release {job.release_id} ({job.state})")
        for job in view.recent:
            echo(f"  deployment {job.id}: release {job.release_id} {job.state}")
