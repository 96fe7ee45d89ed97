"""`shipyard run` (a pipeline by hand) and `shipyard runs list|show`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from app.cli.support import echo, load_settings, require_migrated, with_database
from app.db.models.base import as_utc
from app.settings import Settings

__all__ = ["run_pipeline", "runs_group"]


_HOST_SETTINGS = {
    "github": "GITHUB_API_URL and GITHUB_TOKEN (or GITHUB_APP_ID and GITHUB_PRIVATE_KEY)",
    "gitlab": "GITLAB_URL and GITLAB_TOKEN",
    "gitea": "GITEA_URL and GITEA_TOKEN",
    "forgejo": "GITEA_URL and GITEA_TOKEN",
}


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
    from app.db.schema import DatabaseNotMigrated
    from app.pipelines.reporting import run_url
    from providers.errors import NotConfigured, ProviderError

    settings = load_settings()
    require_migrated(settings)
    try:
        run_id, state = asyncio.run(_manual_run(settings, pipeline, repository, ref, provider, sha))
    except (LookupError, ValueError, DatabaseNotMigrated) as error:
        raise click.ClickException(str(error)) from error
    except NotConfigured as error:
        raise click.ClickException(f"{error}, then run it again") from None
    except ProviderError as error:
        raise click.ClickException(
            f"the host could not be asked ({error}); check "
            f"{_HOST_SETTINGS.get(provider, 'its settings')} and that this machine reaches it, "
            "then run it again"
        ) from None
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
    from app.pipelines import runs
    from app.pipelines.launch import launch, new_run
    from app.pipelines.triggers import manual_pipeline
    from app.repo_config.schema import CONFIG_PATH
    from app.wiring import open_services
    from jobqueue.inprocess import InProcessQueue
    from providers.vocabulary import Repo

    async with open_services(settings) as services:
        provider = services.providers(provider_name, None)
        repo = Repo(repository)
        branch = await provider.default_branch(repo)
        config = await services.config_cache.get(provider, repo, branch=branch, sha=None)
        if config is None:
            raise LookupError(f"{repository} has no {CONFIG_PATH} on {branch}")
        new = new_run(
            pipeline,
            manual_pipeline(config, pipeline),
            provider=provider_name,
            repository=repository,
            trigger="manual",
            sha=sha,
            ref=ref or branch,
            event={"kind": "manual", "repository": {"full_name": repository}},
        )
        created = await launch(services, provider, new)
        if isinstance(services.queue, InProcessQueue):
            await services.queue.join()
        run = await runs.get_run(services.sessions, created.run_id)
        assert run is not None
        return created.run_id, run.state


@click.group("runs")
def runs_group() -> None:
    """Pipeline runs."""


@runs_group.command("list")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def runs_list(limit: int, as_json: bool) -> None:
    """Recent runs, newest first."""
    from app.pipelines import runs

    found = with_database(load_settings(), lambda sessions: runs.recent_runs(sessions, limit=limit))
    if not found and not as_json:
        echo("no runs yet (a webhook that triggers a pipeline, or `shipyard run`, starts one)")
    for run in found:
        fields = _run_fields(run)
        if as_json:
            click.echo(json.dumps(fields))
        else:
            echo(
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
    echo(
        f"run {run_id}: {fields['pipeline']} on {fields['provider']}:{fields['repository']} "
        f"— {fields['state']}" + (f" ({run.error})" if run.error else "")
    )
    for step in steps:
        echo(f"\n== {step.name} ({step.type}): {step.state}, attempts {step.attempts}")
        if step.error:
            echo(f"   error: {step.error}")
        if step.outputs:
            click.echo(f"   outputs: {json.dumps(step.outputs)}")
        if step.log:
            echo(step.log.rstrip())


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
        "created_at": as_utc(run.created_at).isoformat(timespec="seconds"),
    }
