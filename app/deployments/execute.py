"""One task's work, by its kind: deploy a component to a target and verify it; bake a canary;
switch blue-green traffic; roll a target back (or traffic back to the old colour).

A task that is taken over knows how far the attempt before it went (`resumed_from`): one that
was verifying goes on verifying (the deploy is done); one that was running deploys again only
on an `--idempotent` target — the engine fails the others as interrupted before they get here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.db.models.deployments import DeploymentJob, DeploymentTask, TaskKind, TaskState
from app.deployments import jobs, tasks
from app.deployments.executors.base import DeployFailed, Executor, FileToWrite, TaskRun, Variables
from app.deployments.executors.registry import executor_for
from app.deployments.health import QueryMetrics, bake, bake_length, verify
from app.deployments.snapshot import JobSpec, ReleaseView
from app.deployments.strategies import Wave
from app.deployments.task_run import build_run, files_of
from app.deployments.variables import task_variables
from app.environments.config import BlueGreen
from app.integrations.connector import Connector
from app.integrations.errors import IntegrationError
from app.integrations.metrics import MetricsSource, Sample
from app.secrets.masker import Masker
from app.services import Services
from app.work.heartbeat import Fenced

__all__ = ["TaskWork", "run_task_work"]

COMMAND_TYPES = ("ssh", "command")  # the target types that run commands (health, switch)


@dataclass
class TaskWork:
    """What one attempt of a task works with."""

    services: Services
    job: DeploymentJob
    spec: JobSpec
    task: DeploymentTask
    log: Callable[[str], None]
    masker: Masker

    @property
    def wave(self) -> Wave | None:
        plan = self.job.plan
        return Wave.from_json(plan[self.task.wave]) if self.task.wave < len(plan) else None

    async def enter(self, state: TaskState) -> None:
        """Move the task on (running, verifying); Fenced when another attempt holds it now."""
        if not await tasks.enter(
            self.services.sessions,
            self.task.id or 0,
            state,
            attempt=self.task.attempts,
            owner=self.task.owner,
        ):
            raise Fenced("another attempt has taken the task over")

    def variables(self, release: ReleaseView, target: str | None, **more: Any) -> dict[str, str]:
        return task_variables(
            provider=self.job.provider,
            repository=self.job.repository,
            environment=self.job.environment,
            job_id=self.job.id or 0,
            task_id=self.task.id or 0,
            release=release,
            target=target,
            params=self.job.params,
            **more,
        )


async def _run(
    work: TaskWork, target: str, variables: Variables, *, purpose: str | None = None
) -> TaskRun:
    files: list[FileToWrite] = []
    if purpose is not None and work.spec.environment.artifacts:
        rows = await jobs.artifacts_of(work.services.sessions, work.job.id or 0, purpose)
        files = files_of(work.services, work.job, rows, work.masker)
    deploy = work.spec.environment.deploy
    return build_run(
        work.services,
        work.job,
        task_id=work.task.id or 0,
        attempt=work.task.attempts,
        target=work.spec.targets[target],
        variables=variables,
        files=files,
        command=deploy.command,
        timeout=deploy.timeout,
        log=work.log,
        masker=work.masker,
        default_branch=work.spec.default_branch,
    )


async def run_task_work(work: TaskWork) -> None:
    """Do the task; DeployFailed or HealthCheckFailed when it did not succeed. A noop's task
    (`dry_run`) says what it would do and touches nothing."""
    kind = TaskKind(work.task.kind)
    if work.spec.dry_run:
        where = work.task.target or ", ".join(work.task.targets)
        await work.enter(TaskState.RUNNING)
        work.log(f"noop: the {kind} on {where} would run here; nothing was run")
        return
    if kind is TaskKind.DEPLOY:
        await _deploy(work, work.spec.release, purpose="deploy")
    elif kind is TaskKind.BAKE:
        await _bake(work)
    elif kind is TaskKind.SWITCH:
        wave = work.wave
        await _switch(work, wave.colour if wave else None)
    elif kind is TaskKind.ROLLBACK:
        wave = work.wave
        if wave is not None and wave.colour is not None:
            await _switch(work, wave.colour)
        else:
            previous = ReleaseView.from_json(work.job.spec["rollback_release"])
            await _deploy(work, previous, purpose="rollback", rollback=True)


async def _deploy(
    work: TaskWork, release: ReleaseView, *, purpose: str, rollback: bool = False
) -> None:
    task = work.task
    assert task.target is not None
    executor = executor_for(work.spec.targets[task.target].type)
    variables = work.variables(release, task.target, component=task.component, rollback=rollback)
    if rollback and task.digest:
        variables["SHIPYARD_DIGEST"] = task.digest
    run = await _run(work, task.target, variables, purpose=purpose)
    if task.resumed_from == TaskState.VERIFYING:
        work.log("taken over after its worker stopped: the deploy was done; verifying again")
    else:
        if task.resumed_from == TaskState.RUNNING:
            work.log(
                "taken over after its worker stopped mid-deploy: the target is --idempotent, "
                "so the deploy runs again"
            )
        await work.enter(TaskState.RUNNING)
        await executor.deploy(run)
    if work.spec.environment.health is not None:
        await work.enter(TaskState.VERIFYING)
        await _verify(work, task.target, executor, run, variables, release)


def _commands(
    work: TaskWork, target: str, executor: Executor, run: TaskRun, variables: Variables
) -> Callable[[str], Awaitable[int]] | None:
    if work.spec.targets[target].type not in COMMAND_TYPES:
        return None

    async def run_command(command: str) -> int:
        return await executor.run_command(run, command, variables)

    return run_command


def _metrics(work: TaskWork) -> QueryMetrics:
    """A prometheus check's query, asked of its `metrics` integration through the hub."""
    hub = work.services.integrations
    repository = (work.job.provider, work.job.repository)

    async def query(integration: str, promql: str) -> Sequence[Sample]:
        async def ask(connector: Connector) -> Sequence[Sample]:
            if not isinstance(connector, MetricsSource):
                raise IntegrationError("INVALID_CONFIG", "answers no metrics queries")
            return await connector.query(promql)

        return await hub.call(integration, ask, type="metrics", for_repository=repository)

    return query


def _values(work: TaskWork, release: ReleaseView) -> dict[str, Any]:
    return {"environment": work.job.environment, "release": {"name": release.name}}


async def _verify(
    work: TaskWork,
    target: str,
    executor: Executor,
    run: TaskRun,
    variables: Variables,
    release: ReleaseView,
) -> None:
    """The environment's health checks on `target`, now running `release`."""
    health = work.spec.environment.health
    assert health is not None
    await verify(
        health,
        work.spec.target_view(target),
        http=work.services.http,
        run_command=_commands(work, target, executor, run, variables),
        log=work.log,
        values=_values(work, release),
        query_metrics=_metrics(work),
    )


async def _bake(work: TaskWork) -> None:
    """Health checks on the canary's targets, repeated until the bake's end (recorded by the
    first attempt, so a take-over bakes only what is left)."""
    wave = work.wave
    seconds = wave.bake_seconds if wave and wave.bake_seconds else 0.0
    seconds = bake_length(work.spec.environment.health, seconds)  # a prometheus `for`
    until = work.task.recorded.get("bake_until")
    if not isinstance(until, int | float):
        until = time.time() + seconds
        await tasks.record(work.services.sessions, work.task.id or 0, "bake_until", until)
    remaining = max(0.0, until - time.time())
    await work.enter(TaskState.VERIFYING)
    health = work.spec.environment.health
    work.log(f"baking {', '.join(work.task.targets)} for {remaining:.0f} s")
    if health is None:
        await asyncio.sleep(remaining)
        return
    checks = []
    for target in work.task.targets:
        executor = executor_for(work.spec.targets[target].type)
        variables = work.variables(work.spec.release, target)
        run = await _run(work, target, variables)
        checks.append(
            bake(
                health,
                work.spec.target_view(target),
                seconds=remaining,
                http=work.services.http,
                run_command=_commands(work, target, executor, run, variables),
                log=work.log,
                values=_values(work, work.spec.release),
                query_metrics=_metrics(work),
            )
        )
    await asyncio.gather(*checks)


async def _switch(work: TaskWork, colour: str | None) -> None:
    """Traffic to `colour`: the switch command on each of the colour's targets, or the
    switch target called; then the colour's health checks."""
    strategy = work.spec.environment.strategy
    if not isinstance(strategy, BlueGreen) or colour is None:
        raise DeployFailed("a switch needs a blue-green strategy and a colour")
    switch = strategy.switch
    await work.enter(TaskState.RUNNING)
    work.log(f"switching traffic to {colour}")
    on_targets = []  # each of the colour's targets: its executor, variables and run
    for target in work.task.targets:
        variables = work.variables(work.spec.release, target, colour=colour)
        executor = executor_for(work.spec.targets[target].type)
        on_targets.append((target, executor, variables, await _run(work, target, variables)))
    if switch.target is not None:
        variables = work.variables(work.spec.release, switch.target, colour=colour)
        run = await _run(work, switch.target, variables)
        await executor_for(work.spec.targets[switch.target].type).deploy(run)
    else:
        assert switch.command is not None
        for target, executor, variables, run in on_targets:
            async with asyncio.timeout(work.spec.environment.deploy.timeout):
                code = await executor.run_command(run, switch.command, variables)
            if code != 0:
                raise DeployFailed(f"the switch command on {target} exited with {code}")
    if work.spec.environment.health is not None:
        await work.enter(TaskState.VERIFYING)
        for target, executor, variables, run in on_targets:
            await _verify(work, target, executor, run, variables, work.spec.release)
