"""From a normalised event to pipeline runs: read `.shipyard.yml` at the default branch, match
its triggers, create the runs, report them pending, start them."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arq import Retry

from app import deliveries
from app.pipelines import reporting, runs
from app.pipelines.config import ConfigError, PipelineConfig, RepoConfig, parse_config
from app.pipelines.triggers import TriggerMatch, match_pipelines
from jobqueue.context import JobContext
from providers.base import Provider
from providers.errors import NotConfigured, ProviderError
from providers.events import Event, EventKind
from providers.vocabulary import Repo
from steps.templates import TemplateError, build_context, render_value

log = logging.getLogger(__name__)

CONFIG_PATH = ".shipyard.yml"
MAX_TRIES = 5  # a host that keeps failing is given up on, and the delivery says why
ROUTABLE = frozenset(
    {
        EventKind.PUSH,
        EventKind.TAG,
        EventKind.PULL_REQUEST,
        EventKind.COMMENT,
        EventKind.RELEASE,
        EventKind.PIPELINE,
    }
)


@dataclass
class ConfigCache:
    """Parsed configs by (provider, repo, commit); read by branch name, kept `ttl` seconds."""

    ttl: float = 60.0
    _by_sha: dict[tuple[str, str, str], RepoConfig | None] = field(default_factory=dict)
    _by_branch: dict[tuple[str, str, str], tuple[float, RepoConfig | None]] = field(
        default_factory=dict
    )

    async def get(
        self, provider: Provider, repo: Repo, *, branch: str, sha: str | None
    ) -> RepoConfig | None:
        """The repo's config at the default branch (`sha`, when the event names that commit).
        None when there is no `.shipyard.yml`. Raises ConfigError when it is invalid."""
        if sha is not None:
            key = (provider.name, repo.full_name, sha)
            if key not in self._by_sha:
                self._by_sha[key] = await _read(provider, repo, sha)
            return self._by_sha[key]
        key = (provider.name, repo.full_name, branch)
        cached = self._by_branch.get(key)
        if cached is None or time.monotonic() - cached[0] > self.ttl:
            cached = (time.monotonic(), await _read(provider, repo, branch))
            self._by_branch[key] = cached
        return cached[1]


async def _read(provider: Provider, repo: Repo, ref: str) -> RepoConfig | None:
    text = await provider.read_file(repo, CONFIG_PATH, ref)
    if text is None:
        return None
    return parse_config(text.decode("utf-8", errors="replace"), filename=CONFIG_PATH)


async def route_delivery(ctx: JobContext, delivery_pk: int) -> str:
    """The job: turn one processed delivery into pipeline runs (once)."""
    sessions = ctx["sessions"]
    delivery = await deliveries.get(sessions, delivery_pk)
    if delivery is None or delivery.normalised is None or delivery.outcome is not None:
        return "nothing to route"
    event = Event.model_validate(delivery.normalised)
    if event.kind not in ROUTABLE or event.repository is None or not event.repository.full_name:
        return "not routable"
    repo = Repo(event.repository.full_name)
    provider = ctx["providers"](event.provider, event.installation_id)
    try:
        created = await _route(ctx, provider, repo, event, delivery_pk)
    except NotConfigured as error:
        await deliveries.set_outcome(sessions, delivery_pk, {"runs": [], "note": str(error)})
        return "provider not configured"
    except ProviderError as error:
        if error.retryable and ctx.get("job_try", 1) < MAX_TRIES:
            raise Retry(defer=5 * ctx.get("job_try", 1)) from error
        await deliveries.set_outcome(sessions, delivery_pk, {"error": str(error)})
        log.warning("routing failed: %s", error)
        return "failed"
    if created is None:
        return "no runs"
    await deliveries.set_outcome(sessions, delivery_pk, {"runs": created})
    return f"{len(created)} runs"


async def _route(
    ctx: JobContext, provider: Provider, repo: Repo, event: Event, delivery_pk: int
) -> list[int] | None:
    """The runs this event starts; None when routing ended otherwise (and said so)."""
    sessions = ctx["sessions"]
    assert event.repository is not None
    branch = event.repository.default_branch or await provider.default_branch(repo)
    on_default = event.kind is EventKind.PUSH and event.branch == branch
    try:
        config = await ctx["config_cache"].get(
            provider, repo, branch=branch, sha=event.sha if on_default else None
        )
    except ConfigError as error:
        await _config_failed(ctx, provider, delivery_pk, event, repo, error)
        return None
    if config is None:
        await deliveries.set_outcome(sessions, delivery_pk, {"runs": [], "note": "no config"})
        return None
    return [
        await _start(ctx, provider, config.pipelines[match.pipeline], match, event, delivery_pk)
        for match in match_pipelines(config, event)
    ]


async def _config_failed(
    ctx: JobContext,
    provider: Provider,
    delivery_pk: int,
    event: Event,
    repo: Repo,
    error: ConfigError,
) -> None:
    await deliveries.set_outcome(ctx["sessions"], delivery_pk, {"config_error": str(error)})
    sha = _sha(event)
    if sha is not None:
        await reporting.report_config_error(
            provider, repo, sha, error.summary, reporting.delivery_url(ctx["settings"], delivery_pk)
        )


def _sha(event: Event) -> str | None:
    if event.pull_request is not None and event.pull_request.head_sha:
        return event.pull_request.head_sha
    return event.sha


async def _start(
    ctx: JobContext,
    provider: Provider,
    pipeline: PipelineConfig,
    match: TriggerMatch,
    event: Event,
    delivery_pk: int | None,
) -> int:
    """Create the run (superseding its concurrency group), report it pending, start it."""
    payload = event.model_dump(mode="json")
    pr_number = event.pull_request.number if event.pull_request else None
    group, cancel = _concurrency(pipeline, match, event, payload, pr_number)
    created = await runs.create_run(
        ctx["sessions"],
        runs.NewRun(
            provider=event.provider,
            repository=(event.repository.full_name if event.repository else None) or "",
            pipeline=match.pipeline,
            trigger=match.trigger,
            status_context=pipeline.status_context,
            spec=snapshot(pipeline),
            steps=[runs.NewStep(s.name, s.type, list(s.needs)) for s in pipeline.steps],
            sha=_sha(event),
            ref=event.ref or (event.pull_request.head_ref if event.pull_request else None),
            pr_number=pr_number,
            installation_id=event.installation_id,
            delivery_pk=delivery_pk,
            event=payload,
            concurrency_group=group,
            cancel_in_progress=cancel,
        ),
    )
    await report_new_run(ctx, provider, created)
    return created.run_id


async def report_new_run(ctx: JobContext, provider: Provider, created: runs.Created) -> None:
    """Pending for the new run, cancelled for those it superseded; then start it. A run an
    earlier attempt created is left to that attempt (or to the sweep, if it died)."""
    if created.existed:
        return
    for run_id in [created.run_id, *created.superseded]:
        run = await runs.get_run(ctx["sessions"], run_id)
        if run is not None:
            await reporting.report_run(ctx, run, provider)
    await ctx["queue"].enqueue("start_run", created.run_id, job_id=f"run:{created.run_id}")


def _concurrency(
    pipeline: PipelineConfig,
    match: TriggerMatch,
    event: Event,
    payload: Mapping[str, Any],
    pr_number: int | None,
) -> tuple[str | None, bool]:
    """The run's concurrency group, scoped to its repository and pipeline. Without a
    `concurrency:`, runs for one pull request supersede each other, as GitHub Actions' do."""
    if pipeline.concurrency is not None:
        context = build_context(
            event=payload,
            repo=payload.get("repository") or {},
            pull_request=payload.get("pull_request"),
            release=payload.get("release"),
            env={},
            vars=pipeline.vars,
            step_outputs={},
        )
        try:
            group = str(render_value(pipeline.concurrency.group, context))
        except TemplateError as error:
            log.warning("concurrency group of %s did not render: %s", match.pipeline, error)
            return None, False
        cancel = pipeline.concurrency.cancel_in_progress
    elif pr_number is not None and match.trigger in ("pull_request", "comment"):
        group, cancel = f"pr-{pr_number}", True
    else:
        return None, False
    repository = event.repository.full_name if event.repository else ""
    return f"{event.provider}:{repository}:{match.pipeline}:{group}"[:300], cancel


def snapshot(pipeline: PipelineConfig) -> dict[str, Any]:
    """What a run keeps of its pipeline, so a retry runs what the run started with."""
    return {
        "env": dict(pipeline.env),
        "vars": dict(pipeline.vars),
        "status_context": pipeline.status_context,
        "steps": [
            {
                "name": step.name,
                "type": step.type,
                "config": step.config,
                "needs": list(step.needs),
                "if": step.if_,
                "timeout_seconds": step.timeout_seconds,
                "retries": step.retries,
                "continue_on_error": step.continue_on_error,
                "env": dict(step.env),
            }
            for step in pipeline.steps
        ],
    }
