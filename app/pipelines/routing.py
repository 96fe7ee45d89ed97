"""The pipelines' handler on the event router: read `.shipyard.yml` at the default branch,
match its triggers, and launch the runs the event starts.

An invalid config sets a failing `shipyard/config` status on the event's commit, linked to the
delivery's page. What this returns is recorded as the delivery's outcome only after that, so a
host that fails to take the status is asked again (the delivery's job retries).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from app.pipelines import reporting
from app.pipelines.config import PipelineConfig, pipelines_of
from app.pipelines.default_config import read_default_config
from app.pipelines.gate import Admitted, admit
from app.pipelines.launch import launch, new_run
from app.pipelines.triggers import TriggerMatch, match_pipelines
from app.repo_config.errors import ConfigError
from app.routing.router import Outcome, Routed, Router
from app.services import Services
from providers.base import Provider
from providers.errors import NotConfigured, ProviderError
from providers.events import Event, EventKind
from providers.vocabulary import Repo
from steps.templates import TemplateError, build_context, render_value

__all__ = ["router", "start_pipelines"]

log = logging.getLogger(__name__)

router: Router[Services] = Router("pipelines")


@router.register(EventKind.PUSH)
@router.register(EventKind.TAG)
@router.register(EventKind.PULL_REQUEST)
@router.register(EventKind.COMMENT)
@router.register(EventKind.RELEASE)
@router.register(EventKind.PIPELINE)
async def start_pipelines(services: Services, routed: Routed) -> Outcome:
    """The runs this event starts: {"runs": [ids]}, or a note or config error saying why none."""
    event = routed.event
    if event.repository is None or not event.repository.full_name:
        return None
    repo = Repo(event.repository.full_name)
    provider = services.providers(event.provider, event.installation_id)
    try:
        return await _start(services, provider, repo, routed)
    except NotConfigured as error:
        return {"runs": [], "note": str(error)}


async def _start(
    services: Services, provider: Provider, repo: Repo, routed: Routed
) -> dict[str, Any]:
    event = routed.event
    assert event.repository is not None
    try:
        config = await read_default_config(
            services,
            provider,
            event.provider,
            repo,
            default_branch=event.repository.default_branch,
            event=event,
        )
    except ConfigError as error:
        outcome: dict[str, Any] = {"config_error": str(error)}
        try:
            await _report_config_error(services, provider, repo, routed, error)
        except ProviderError as failed:
            if failed.retryable and not routed.last_try:
                raise  # the delivery's job tries again; nothing is recorded yet
            outcome["note"] = f"the failing {reporting.CONFIG_CONTEXT} status was not set: {failed}"
        return outcome
    if config is None:
        return {"runs": [], "note": "no config"}
    pipelines = pipelines_of(config)
    admitted = await admit(services, provider, repo, config, event, match_pipelines(config, event))
    created = []
    for match in admitted.matches:
        new = _new_run(pipelines[match.pipeline], match, routed, admitted)
        created.append((await launch(services, provider, new)).run_id)
    if admitted.skipped:
        return {"runs": created, "skipped": admitted.skipped}
    return {"runs": created}


async def _report_config_error(
    services: Services, provider: Provider, repo: Repo, routed: Routed, error: ConfigError
) -> None:
    sha = commit_of(routed.event)
    if sha is None or routed.delivery_pk is None:
        return
    target_url = reporting.delivery_url(services.settings, routed.delivery_pk)
    await reporting.report_config_error(provider, repo, sha, error.summary, target_url)


def commit_of(event: Event) -> str | None:
    """The commit an event is about: a pull request's head, else the pushed commit."""
    if event.pull_request is not None and event.pull_request.head_sha:
        return event.pull_request.head_sha
    return event.sha


def _new_run(
    pipeline: PipelineConfig, match: TriggerMatch, routed: Routed, admitted: Admitted
) -> Any:
    """The run of one admitted match; at the pull request's head as the host has it now (a
    comment's payload does not say which commit that is)."""
    event = routed.event
    payload = event.model_dump(mode="json")
    pr_number = event.pull_request.number if event.pull_request else None
    group, cancel = _concurrency(pipeline, match, event, payload, pr_number)
    pull = admitted.pull_request
    return new_run(
        match.pipeline,
        pipeline,
        provider=event.provider,
        repository=(event.repository.full_name if event.repository else None) or "",
        trigger=match.trigger,
        trusted=admitted.trusted,
        sha=commit_of(event) or (pull.head_sha if pull else None),
        ref=event.ref
        or (pull.head_ref if pull else None)
        or (event.pull_request.head_ref if event.pull_request else None),
        pr_number=pr_number,
        installation_id=event.installation_id,
        delivery_pk=routed.delivery_pk,
        event=payload,
        concurrency_group=group,
        cancel_in_progress=cancel,
    )


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
