"""The `chatops:` section of `.shipyard.yml`: how commands are written, who may give them, what
a deploy from a pull request waits for, and how long locks last (pure models).

```yaml
chatops:
  prefix: "/"                        # or "@shipyard ", "!"
  default_environment: staging       # `/deploy` with no environment
  permissions: {deploy: write, "deploy:production": maintain, rollback: maintain}
  required_checks: [build, "test-*"] # absent: every status and check must pass
  lock_ttl: 1d                       # a lock without `--for` lasts this long
  freeze_label: deploy-freeze        # an open issue with it freezes the environments it names
  unlock_on_close: true
  branches: ["release/*"]            # `/deploy BRANCH to ENV` may name these too
```

The section only tunes ChatOps (which works without it), so it declares nothing on its own.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from app.access.roles import Role
from app.chatops.names import COMMANDS, INFORMATIONAL
from app.environments.config import EnvironmentName, environments_of
from app.repo_config.errors import custom_error, did_you_mean
from app.repo_config.fields import NAME_PATTERN, FrozenModel, Glob, none_as_empty
from app.repo_config.schema import RepoConfig, Section
from steps.config_types import Duration

__all__ = ["CHATOPS", "MAX_LOCK_TTL", "ChatopsConfig", "chatops_of", "chatops_problems"]

MAX_LOCK_TTL = 30 * 86400.0


def _prefix(value: str) -> str:
    if not 1 <= len(value) <= 20:
        raise custom_error(f"prefix {value!r}: 1 to 20 characters")
    if any(not char.isprintable() and char != " " for char in value):
        raise custom_error(f"prefix {value!r}: one line of printable characters")
    if value[0].isspace():
        raise custom_error(f"prefix {value!r} may not start with a space")
    if value[0].isalnum() and not value.endswith(" "):
        raise custom_error(
            f"prefix {value!r}: a prefix starting with a letter or digit ends with a space "
            f"({value + ' '!r}), or `{value}deploy` would be read in ordinary words"
        )
    return value


def _permission_key(key: str) -> str:
    """`deploy`, or `deploy:production` for one environment."""
    command, colon, environment = key.partition(":")
    if command not in COMMANDS:
        raise custom_error(f"unknown command {command!r}{did_you_mean(command, COMMANDS)}")
    if colon and command in INFORMATIONAL:
        raise custom_error(f"{command} is for every environment: write {command!r} alone")
    if colon and not NAME_PATTERN.fullmatch(environment):
        raise custom_error(
            f"{key!r}: write a command, or a command and an environment (deploy:production)"
        )
    return key


def _lock_ttl(seconds: float) -> float:
    if seconds > MAX_LOCK_TTL:
        raise custom_error("lock_ttl is at most 30 days (30d)")
    return seconds


def _label(text: str) -> str:
    """A label the hosts can be asked for alone: one line, not empty, no comma (every host
    reads a comma as a list of labels), not GitLab's `None` or `Any` (special values there)."""
    if not text.strip() or "\n" in text or "\r" in text:
        raise custom_error(f"{text!r} is not a label: one line, not empty")
    if "," in text:
        raise custom_error(f"{text!r}: a label with a comma cannot be asked for alone")
    if text.strip().casefold() in ("none", "any"):
        raise custom_error(f"{text!r}: GitLab reads None and Any as no label and any label")
    return text


class ChatopsConfig(FrozenModel):
    """`permissions` maps a command (or `command:environment`) to the least role that may give
    it; `required_checks` (globs) are the statuses and checks a deploy waits for, None for
    every one. `lock_ttl` is how long a lock lasts that does not say; `branches` (globs) are
    the branches besides the default one that `/deploy BRANCH to ENV` may name."""

    prefix: Annotated[str, AfterValidator(_prefix)] = "/"
    default_environment: EnvironmentName | None = None
    permissions: Annotated[
        dict[Annotated[str, AfterValidator(_permission_key)], Role],
        BeforeValidator(none_as_empty),
    ] = {}
    required_checks: tuple[Glob, ...] | None = None
    lock_ttl: Annotated[Duration, AfterValidator(_lock_ttl)] = 86400.0
    freeze_label: Annotated[str, AfterValidator(_label), Field(max_length=255)] | None = None
    unlock_on_close: bool = True
    branches: tuple[Glob, ...] = ()


CHATOPS: Section[ChatopsConfig] = Section(
    "chatops",
    Annotated[ChatopsConfig, BeforeValidator(none_as_empty)],  # `chatops:` alone: defaults
    ChatopsConfig(),
    declares=None,
)


def chatops_of(config: RepoConfig) -> ChatopsConfig:
    return CHATOPS.of(config)


def chatops_problems(config: RepoConfig) -> list[tuple[tuple[str | int, ...], str]]:
    """`default_environment` and the environment of each `command:environment` permission
    name declared environments."""
    chatops = chatops_of(config)
    declared = environments_of(config)
    known = ", ".join(declared) or "none are declared under `environments:`"
    problems: list[tuple[tuple[str | int, ...], str]] = []
    default = chatops.default_environment
    if default is not None and default not in declared:
        problems.append(
            (("chatops", "default_environment"), f"unknown environment {default!r} ({known})")
        )
    for key in chatops.permissions:
        _, colon, environment = key.partition(":")
        if colon and environment not in declared:
            problems.append(
                (("chatops", "permissions", key), f"unknown environment {environment!r} ({known})")
            )
    return problems
