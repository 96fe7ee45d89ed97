"""Rendering a whole file from a template, a repository's or a built-in one, in Jinja2's
sandbox (pure).

This is the sandbox step configs render in (`steps.templates`: no reaching Python internals,
no mutating values, no runaway `*` / `**`), with one difference a template author will notice:
an undefined name is an error, never an empty string. A typo in a compose file's template
(`{{ release.nmae }}`) must stop the deploy, not ship `image: ghcr.io/acme/web:`. In text,
None renders as "", booleans as `true` / `false`, lists and dicts as JSON.

Templates a repository provides are read at its default branch before generating, and handed
in by path (`ArtifactInputs.templates`); the built-in ones are files beside this module.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template, Undefined
from jinja2 import TemplateError as JinjaError
from jinja2.exceptions import SecurityError, TemplateSyntaxError

from app.deployments.artifacts.base import ArtifactError, ArtifactInputs

# The shared sandbox's hardening, reused rather than copied (see the module's docstring).
from steps.templates import Sandbox

__all__ = ["builtin_template", "render_file", "template_source"]

BUILTIN = Path(__file__).parent / "templates"
_SOURCE_NAME = "<template>"


def _finalize(value: Any) -> Any:
    """How a value prints inside a file: an undefined one fails, none is a Python repr."""
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined: raises UndefinedError naming what is undefined
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    return value


_ENV = Sandbox(
    autoescape=False,
    undefined=StrictUndefined,
    finalize=_finalize,
    keep_trailing_newline=True,
)


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return _ENV.from_string(source)


@cache
def builtin_template(name: str) -> str:
    """The text of a built-in template (`templates/<name>` beside this module)."""
    return (BUILTIN / name).read_text(encoding="utf-8")


def template_source(kind: str, path: str, inputs: ArtifactInputs) -> str:
    """The text of the repository's template at `path`, or ArtifactError saying it is missing."""
    source = inputs.templates.get(path)
    if source is None:
        raise ArtifactError(
            f"{kind}: template {path!r} is not in {inputs.repository} at its default branch; "
            "add the file there, or remove `template:` to use the built-in one"
        )
    return source


def _line_of(error: BaseException) -> int | None:
    if isinstance(error, TemplateSyntaxError):
        return error.lineno
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename == _SOURCE_NAME
    ]
    return lines[-1] if lines else None


def _why(error: Exception) -> str:
    if isinstance(error, TemplateSyntaxError):
        return f"syntax error: {error.message}"
    if isinstance(error, SecurityError):
        return f"refused by the sandbox: {error}"
    if isinstance(error, JinjaError):
        return str(error.message or type(error).__name__)
    return f"{type(error).__name__}: {error}"


def render_file(label: str, source: str, values: Mapping[str, Any]) -> str:
    """`source` rendered with `values`, or ArtifactError naming `label` (which template), the
    line and the problem."""
    try:
        return _compiled(source).render(**values)
    except Exception as error:
        line = _line_of(error)
        where = f", line {line}" if line else ""
        raise ArtifactError(f"{label}{where}: {_why(error)}") from None
