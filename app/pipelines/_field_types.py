"""The config's field types: names, globs, `env:`, templates, and the frozen model base."""

from __future__ import annotations

import re
from typing import Annotated, Any

import jinja2
import jinja2.sandbox
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app.pipelines._config_errors import custom_error, did_you_mean

PULL_REQUEST_ACTIONS = ("opened", "synchronize", "reopened", "closed", "merged")
RELEASE_ACTIONS = (
    "published",
    "created",
    "released",
    "prereleased",
    "edited",
    "unpublished",
    "deleted",
)
PIPELINE_STATUSES = ("success", "failed", "cancelled")


NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
FROM_SUFFIX = "_from"  # `X_from: <step>.<output>` in a step's config (steps/templates.resolve_from)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JINJA = jinja2.sandbox.SandboxedEnvironment(autoescape=True)  # only ever parses


def is_template(value: object) -> bool:
    """Whether a config value is a template, rendered (and re-validated) at run time."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def template_problem(text: str) -> str | None:
    """Why `text` is not a valid template, or None (also for text that is no template)."""
    if not (is_template(text) or "{#" in text):
        return None
    try:
        _JINJA.parse(text)
    except jinja2.TemplateSyntaxError as error:
        where = f" (template line {error.lineno})" if "\n" in text.strip() else ""
        return f"template syntax error: {(error.message or '').rstrip('.')}{where}"
    return None


def _named(what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise custom_error(f"{what} {value!r} may only use letters, digits, '-' and '_'")
        return value

    return AfterValidator(check)


def _one_of(what: str, allowed: tuple[str, ...]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed:
            raise custom_error(f"unknown {what} {value!r}{did_you_mean(value, allowed)}")
        return value

    return AfterValidator(check)


def _valid_template(value: str) -> str:
    problem = template_problem(value)
    if problem is not None:
        raise custom_error(problem)
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise custom_error(
            f"environment variable name {value!r} may only use letters, digits and '_'"
        )
    return value


def _env_value(value: object) -> object:
    """Scalars become the strings a process sees: true/false, 8080."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


def none_as_empty(value: object) -> object:
    """`env:` with nothing under it is an empty mapping, not an error."""
    return {} if value is None else value


Template = Annotated[str, AfterValidator(_valid_template)]
PipelineName = Annotated[str, _named("pipeline name")]
StepName = Annotated[str, _named("step name")]
Glob = Annotated[str, Field(min_length=1)]
Globs = Annotated[tuple[Glob, ...], Field(min_length=1)]
Env = Annotated[
    dict[
        Annotated[str, AfterValidator(_env_name)],
        Annotated[str, BeforeValidator(_env_value), AfterValidator(_valid_template)],
    ],
    BeforeValidator(none_as_empty),
]
FreeMapping = Annotated[dict[str, Any], BeforeValidator(none_as_empty)]
PullRequestAction = Annotated[str, _one_of("pull_request action", PULL_REQUEST_ACTIONS)]
ReleaseAction = Annotated[str, _one_of("release action", RELEASE_ACTIONS)]
PipelineStatus = Annotated[str, _one_of("pipeline status", PIPELINE_STATUSES)]


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
