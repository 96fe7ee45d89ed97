"""The `.shipyard.yml` schema: parse a repo's config into models, with a line for every problem.

Pure: text in, `RepoConfig` or `ConfigError` out. How it fits together:

- YAML is composed once (a SafeLoader with YAML 1.2 booleans, so `on:` stays the string "on"
  and `yes` stays "yes") and constructed from the same node tree; the nodes give every problem
  its line. Duplicate keys, which PyYAML would silently collapse, are problems too
  (`_yaml_locations`).
- The pydantic models (`_trigger_models`, `_step_models`, `_pipeline_models`, on the field
  types of `_field_types`) do all the checking, including the cross-field checks (step types,
  step configs, `needs`, cycles), so every problem of every pipeline comes back in one pass
  (the cross-step checks of a pipeline run once its steps are valid one by one). A pydantic
  error `loc` is walked down the YAML nodes to find its line and the path the user wrote;
  shorthands (`pull_request: [opened]` for `{actions: [opened]}`) are passed over on the way.
  Its message is worded by `_validation_messages`; `_config_errors` holds the problem types.
- A step's `config:` is checked against its step type's `Config` model, but kept as the raw
  mapping: the engine renders its templates, then validates it for real. Rather than building
  placeholder values per annotation, the errors pydantic reports *at* a template string are
  dropped: its value is known only once rendered, and a one-expression template keeps its
  type (steps/templates.py), so it may become an int, a bool or even a list. This holds for
  every annotation (constrained, enum, literal, custom). Unknown and missing keys still count.
  A top-level `X_from: "<step>.<output>"` stands for `X` (templates.resolve_from); it must name
  a step that runs before this one.
- Template syntax (config strings, `if:`, `env:` values, the concurrency group) is checked with
  Jinja's parser; nothing is rendered.
- Top-level keys starting with `x-` are ignored, as in Compose: a place for YAML anchors.

This module is the one to import from: it re-exports the models and names listed in `__all__`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from app.pipelines._config_errors import ConfigError, ConfigProblem, show_value
from app.pipelines._field_types import (
    PIPELINE_STATUSES,
    PULL_REQUEST_ACTIONS,
    RELEASE_ACTIONS,
    is_template,
    template_problem,
)
from app.pipelines._pipeline_models import Concurrency, PipelineConfig, RepoConfig
from app.pipelines._step_models import StepSpec
from app.pipelines._trigger_models import (
    CommentTrigger,
    PipelineTrigger,
    PullRequestTrigger,
    PushTrigger,
    ReleaseTrigger,
    TagTrigger,
    Triggers,
)
from app.pipelines._validation_messages import problem_message, reported_errors
from app.pipelines._yaml_locations import duplicate_keys, load_yaml, locate
from steps import registry as step_registry
from steps.base import StepType

__all__ = [
    "PIPELINE_STATUSES",
    "PULL_REQUEST_ACTIONS",
    "RELEASE_ACTIONS",
    "CommentTrigger",
    "Concurrency",
    "ConfigError",
    "ConfigProblem",
    "PipelineConfig",
    "PipelineTrigger",
    "PullRequestTrigger",
    "PushTrigger",
    "ReleaseTrigger",
    "RepoConfig",
    "StepSpec",
    "TagTrigger",
    "Triggers",
    "check_config_file",
    "is_template",
    "parse_config",
    "template_problem",
]


def parse_config(
    text: str,
    *,
    filename: str = ".shipyard.yml",
    step_types: Mapping[str, StepType] | None = None,
) -> RepoConfig:
    """The repo config in `text`, or ConfigError listing every problem with its line.

    `step_types` defaults to the registry (`steps.registry.STEP_TYPES`, read at call time).
    An empty file, or one without `pipelines:`, is valid and has no pipelines."""
    types = step_registry.STEP_TYPES if step_types is None else step_types
    try:
        root, data = load_yaml(text)
    except ConfigError as unreadable:
        raise ConfigError(unreadable.problems, filename=filename) from None
    problems = duplicate_keys(root)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        line = None if root is None else root.start_mark.line + 1
        message = f"the file must be a mapping of keys such as `pipelines:`, not {show_value(data)}"
        raise ConfigError([*problems, ConfigProblem(line, "", message)], filename=filename)
    try:
        config = RepoConfig.model_validate(data, context={"step_types": types})
    except ValidationError as invalid:
        for error in reported_errors(invalid.errors(include_url=False)):
            line, path = locate(root, tuple(error["loc"]))
            problems.append(ConfigProblem(line, path, problem_message(error, data, types)))
        raise ConfigError(problems, filename=filename) from None
    if problems:
        raise ConfigError(problems, filename=filename)
    return config


def check_config_file(path: Path, *, step_types: Mapping[str, StepType] | None = None) -> list[str]:
    """Every problem of the config file at `path`, formatted one per line; [] when valid."""
    filename = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [f"{filename}: no such file (Shipyard reads .shipyard.yml at the repository root)"]
    except UnicodeDecodeError as error:
        return [f"{filename}: not UTF-8 text (byte {error.start})"]
    except OSError as error:
        return [f"{filename}: cannot read it: {error.strerror or error}"]
    try:
        parse_config(text, filename=filename, step_types=step_types)
    except ConfigError as error:
        return error.lines()
    return []
