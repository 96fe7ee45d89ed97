"""`shipyard config check`, `shipyard run`, `shipyard runs list|show`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from app.cli_support import load_settings, with_database
from app.settings import Settings


@click.group("config")
def config_group() -> None:
    """The repository's .shipyard.yml."""


@config_group.command("check")
@click.argument("file", default=".shipyard.yml", type=click.Path(path_type=Path, dir_okay=False))
def config_check(file: Path) -> None:
    """Validate FILE (default .shipyard.yml) with the messages a commit status would show."""
    from app.pipelines.config import check_config_file

    problems = check_config_file(file)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"{file}: valid")


@click.command("run")
@click.argument("pipeline")
@click.option("--repo", "repository", required=True, help="owner/name (GitLab: group/project).")
@click.option("--ref", default=None, help="Branch, tag or sha to run at (default: default branch).")
@click.option(
    "--provider",
    default="github",
    show_default=True,
    type=click.Choice(["github", "gitlab", "gitea", "forgejo"]),
)
@click.option("--sha", default=None, help="The commit, to report a status on it.")
def run_pipeline(
    pipeline: str, repository: str, ref: str | None, provider: str, sha: str | None
) -> None:
    """Start PIPELINE (one with a `manual` trigger) by hand.

    With REDIS_URL the run goes to the workers; without it, it runs here until it ends."""
    settings = load_settings()
    try:
        run_id, state = asyncio.run(_manual_run(settings, pipeline, repository, ref, provider, sha))
    except (LookupError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    from app.pipelines.reporting import run_url

    click.echo(f"run {run_id}: {state}  {run_url(settings, run_id)}")
    if state == "failed":
        raise SystemExit(1)


async def _manual_run(
    settings: Settings,
    pipeline: str,
    repository: str,
    ref: str | None,
    provider_name: str,
    sha: str | None,
) -> tuple[int, str]:
    from app.db import create_engine, session_factory
    from app.pipelines import runs
    from app.pipelines.routing import CONFIG_PATH, report_new_run, snapshot
    from app.pipelines.triggers import pipelines_for_manual
    from app.schema import ensure_migrated
    from jobqueue.arq_queue import ArqQueue, redis_settings
    from jobqueue.base import JobQueue
    from jobqueue.context import close_job_context, job_context
    from jobqueue.inprocess import InProcessQueue
    from providers.vocabulary import Repo

    engine = create_engine(settings)
    await ensure_migrated(engine)
    queue: JobQueue
    inprocess = None
    if settings.redis_url:
        queue = ArqQueue(redis_settings(settings.redis_url, verify_tls=settings.redis_verify_tls))
    else:
        queue = inprocess = InProcessQueue()
    ctx = job_context(settings, session_factory(engine), queue)
    if inprocess is not None:
        inprocess.bind(ctx)
    provider = ctx["providers"](provider_name, None)
    try:
        repo = Repo(repository)
        branch = await provider.default_branch(repo)
        config = await ctx["config_cache"].get(provider, repo, branch=branch, sha=None)
        if config is None:
            raise LookupError(f"{repository} has no {CONFIG_PATH} on {branch}")
        spec = pipelines_for_manual(config, pipeline)
        created = await runs.create_run(
            ctx["sessions"],
            runs.NewRun(
                provider=provider_name,
                repository=repository,
                pipeline=pipeline,
                trigger="manual",
                status_context=spec.status_context,
                spec=snapshot(spec),
                steps=[runs.NewStep(s.name, s.type, list(s.needs)) for s in spec.steps],
                sha=sha,
                ref=ref or branch,
                event={"kind": "manual", "repository": {"full_name": repository}},
            ),
        )
        await report_new_run(ctx, provider, created)
        if inprocess is not None:
            await inprocess.join()
        run = await runs.get_run(ctx["sessions"], created.run_id)
        assert run is not None
        return created.run_id, run.state
    finally:
        await queue.close()
        await close_job_context(ctx)
        await engine.dispose()


@click.group("runs")
def runs_group() -> None:
    """Pipeline runs."""


@runs_group.command("list")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def runs_list(limit: int, as_json: bool) -> None:
    """Recent runs, newest first."""
    from app.pipelines import runs

    for run in with_database(
        load_settings(), lambda sessions: runs.recent_runs(sessions, limit=limit)
    ):
        fields = _run_fields(run)
        if as_json:
            click.echo(json.dumps(fields))
        else:
            click.echo(
                f"{fields['id']:>6}  {fields['state']:<10} {fields['pipeline']:<20} "
                f"{fields['provider']}:{fields['repository']}  {fields['trigger']}"
            )


@runs_group.command("show")
@click.argument("run_id", type=int)
def runs_show(run_id: int) -> None:
    """One run with its steps, their states and logs."""
    from app.pipelines import runs

    async def load(sessions: Any) -> Any:
        return await runs.get_run(sessions, run_id), await runs.get_steps(sessions, run_id)

    run, steps = with_database(load_settings(), load)
    if run is None:
        raise click.ClickException(f"there is no run {run_id}")
    fields = _run_fields(run)
    click.echo(
        f"run {run_id}: {fields['pipeline']} on {fields['provider']}:{fields['repository']} "
        f"— {fields['state']}" + (f" ({run.error})" if run.error else "")
    )
    for step in steps:
        click.echo(f"\n== {step.name} ({step.type}): {step.state}, attempts {step.attempts}")
        if step.error:
            click.echo(f"   error: {step.error}")
        if step.outputs:
            click.echo(f"   outputs: {json.dumps(step.outputs)}")
        if step.log:
            click.echo(step.log.rstrip())


def _run_fields(run: Any) -> dict[str, Any]:
    return {
        "id": run.id,
        "pipeline": run.pipeline,
        "provider": run.provider,
        "repository": run.repository,
        "trigger": run.trigger,
        "state": run.state,
        "sha": run.sha,
        "pr_number": run.pr_number,
        "created_at": run.created_at.isoformat(timespec="seconds"),
    }
