"""The field types every config section shares: names, globs, `env:`, templates, free mappings,
the frozen model base, and the validators that word their problems."""

from __future__ import annotations

import re
from typing import Annotated, Any

import jinja2
import jinja2.sandbox
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app.repo_config.errors import custom_error, did_you_mean
from steps.config_types import is_env_name
from steps.templates import is_template

__all__ = [
    "NAME_PATTERN",
    "Env",
    "FreeMapping",
    "FrozenModel",
    "Glob",
    "Globs",
    "Template",
    "named",
    "none_as_empty",
    "one_of",
    "template_problem",
]

NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
_JINJA = jinja2.sandbox.SandboxedEnvironment(autoescape=True)  # only ever parses


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


def named(what: str) -> AfterValidator:
    """A validator: letters, digits, '-' and '_' only (names that become ids and paths)."""

    def check(value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise custom_error(f"{what} {value!r} may only use letters, digits, '-' and '_'")
        return value

    return AfterValidator(check)


def one_of(what: str, allowed: tuple[str, ...]) -> AfterValidator:
    """A validator: one of `allowed`, else "unknown <what>" with a did-you-mean."""

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
    if not is_env_name(value):
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
    """A key with nothing under it (`env:`) is an empty mapping, not an error."""
    return {} if value is None else value


Template = Annotated[str, AfterValidator(_valid_template)]
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


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
