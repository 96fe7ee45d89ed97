"""The features Shipyard is made of, combined: their event handlers, `.shipyard.yml` sections,
queue jobs and recovery. Adding a feature is a package of its own and a line in each table here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.chatops import routing as chatops_routing
from app.chatops import waiting as chatops_waiting
from app.chatops.config import CHATOPS, chatops_problems
from app.deployments import engine as deployments
from app.deployments.queueing import ADVANCE_DEPLOYMENT, RUN_DEPLOYMENT_TASK
from app.deployments.recovery import recover_deployments
from app.environments.config import ENVIRONMENTS, environment_problems
from app.intake import processing
from app.intake.queueing import PROCESS_DELIVERIES
from app.intake.recovery import requeue_deliveries
from app.integrations import monitor
from app.pipelines import engine
from app.pipelines import routing as pipelines_routing
from app.pipelines.config import PIPELINES
from app.pipelines.config.pull_requests import PULL_REQUESTS
from app.pipelines.launch import START_RUN
from app.pipelines.recovery import recover_runs
from app.releases import routing as releases_routing
from app.releases.config import COMPONENTS, RELEASES, component_problems
from app.releases.recovery import recover_releases
from app.releases.service import FINISH_RELEASE, finish_release
from app.repo_config.schema import CONFIG_PATH, RepoConfig, RepoConfigSchema
from app.routing.router import EventRouter
from app.services import JobBody, Services, StaleWork
from steps.base import StepType

__all__ = [
    "JOBS",
    "RECOVERY",
    "REPO_CONFIG",
    "check_config_file",
    "event_router",
    "parse_config",
]

# `.shipyard.yml`, section by section (the order of "did you mean" and "declares nothing").
REPO_CONFIG = RepoConfigSchema(
    [PIPELINES, COMPONENTS, RELEASES, ENVIRONMENTS, CHATOPS, PULL_REQUESTS],
    relations=[component_problems, environment_problems, chatops_problems],
)

# The queue jobs, by name: each body takes (services, attempt, *ids).
JOBS: Mapping[str, JobBody] = {
    PROCESS_DELIVERIES: processing.process_deliveries,
    START_RUN: engine.start_run,
    engine.RUN_STEP: engine.run_step,
    FINISH_RELEASE: finish_release,
    ADVANCE_DEPLOYMENT: deployments.advance_deployment,
    RUN_DEPLOYMENT_TASK: deployments.run_deployment_task,
    monitor.CHECK_INTEGRATION: monitor.check_integration,
}

# What recovery asks, in order, for work the queue lost.
RECOVERY: tuple[StaleWork, ...] = (
    requeue_deliveries,
    recover_runs,
    recover_releases,
    recover_deployments,
    chatops_waiting.advance_waiting_deploys,
    monitor.schedule_due_checks,
)


def event_router() -> EventRouter[Services]:
    """Every feature's handlers, in the order they act on a delivery."""
    return EventRouter(
        chatops_routing.router,
        chatops_waiting.router,
        pipelines_routing.router,
        releases_routing.router,
    )


def parse_config(
    text: str,
    *,
    filename: str = CONFIG_PATH,
    step_types: Mapping[str, StepType] | None = None,
) -> RepoConfig:
    """`text` as a repo config, or ConfigError with every problem and its line. `step_types`
    defaults to the registry (`steps.registry.STEP_TYPES`)."""
    context = {} if step_types is None else {"step_types": step_types}
    return REPO_CONFIG.parse(text, filename=filename, context=context)


def check_config_file(
    path: Path,
    *,
    step_types: Mapping[str, StepType] | None = None,
    context: Mapping[str, Any] | None = None,
) -> list[str]:
    """Every problem of the config file at `path`, one per line; [] when valid. `context`
    adds what the check knows (a repository's secret grants)."""
    checked = {**(context or {}), **({} if step_types is None else {"step_types": step_types})}
    return REPO_CONFIG.check_file(path, context=checked)
