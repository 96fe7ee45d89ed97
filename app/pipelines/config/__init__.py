"""The `pipelines:` section of `.shipyard.yml`: its models, and the `PIPELINES` section."""

from __future__ import annotations

from app.pipelines.config.pipeline import Concurrency, PipelineConfig, Pipelines
from app.pipelines.config.steps import StepSpec
from app.pipelines.config.triggers import (
    PIPELINE_STATUSES,
    PULL_REQUEST_ACTIONS,
    RELEASE_ACTIONS,
    CommentTrigger,
    PipelineTrigger,
    PullRequestTrigger,
    PushTrigger,
    ReleaseTrigger,
    TagTrigger,
    Triggers,
)
from app.repo_config.schema import RepoConfig, Section

__all__ = [
    "PIPELINES",
    "PIPELINE_STATUSES",
    "PULL_REQUEST_ACTIONS",
    "RELEASE_ACTIONS",
    "CommentTrigger",
    "Concurrency",
    "PipelineConfig",
    "PipelineTrigger",
    "PullRequestTrigger",
    "PushTrigger",
    "ReleaseTrigger",
    "StepSpec",
    "TagTrigger",
    "Triggers",
    "pipelines_of",
]

PIPELINES: Section[dict[str, PipelineConfig]] = Section("pipelines", Pipelines, {})


def pipelines_of(config: RepoConfig) -> dict[str, PipelineConfig]:
    """The pipelines a repo config declares, by name, in the order of the file."""
    return PIPELINES.of(config)
