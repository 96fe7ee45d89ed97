"""The `on:` models: each trigger, its list shorthand, and `Triggers`; the config's words for
pull request actions, release actions and CI statuses."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import Field, StrictBool, model_validator

from app.access.roles import Role
from app.repo_config.errors import custom_error
from app.repo_config.fields import FrozenModel, Globs, one_of

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

PullRequestAction = Annotated[str, one_of("pull_request action", PULL_REQUEST_ACTIONS)]
ReleaseAction = Annotated[str, one_of("release action", RELEASE_ACTIONS)]
PipelineStatus = Annotated[str, one_of("pipeline status", PIPELINE_STATUSES)]


class PullRequestTrigger(FrozenModel):
    actions: Annotated[tuple[PullRequestAction, ...], Field(min_length=1)] = (
        "opened",
        "synchronize",
        "reopened",
    )
    branches: Globs | None = None  # the pull request's base branch; None: any


class PushTrigger(FrozenModel):
    branches: Globs | None = None  # None: every branch


class TagTrigger(FrozenModel):
    tags: Globs | None = None  # None: every tag


class CommentTrigger(FrozenModel):
    """Comments on pull requests whose first line starts with one of the commands, by someone
    with at least `min_role` (never below the server's SHIPYARD_MIN_COMMAND_ROLE)."""

    commands: Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)]
    min_role: Role | None = None


class ReleaseTrigger(FrozenModel):
    actions: Annotated[tuple[ReleaseAction, ...], Field(min_length=1)] = ("published",)


class PipelineTrigger(FrozenModel):
    """The host's CI finished (GitHub workflow run, GitLab pipeline)."""

    status: Annotated[tuple[PipelineStatus, ...], Field(min_length=1)] = PIPELINE_STATUSES
    branches: Globs | None = None


# Each trigger's list shorthand: `push: [main]` is `push: {branches: [main]}`.
_SHORTHAND = {
    "pull_request": "actions",
    "push": "branches",
    "tag": "tags",
    "comment": "commands",
    "release": "actions",
    "pipeline": "status",
}


class Triggers(FrozenModel):
    """`on:`. A trigger that is absent (or false) is None; `manual` is CLI / API only."""

    pull_request: PullRequestTrigger | None = None
    push: PushTrigger | None = None
    tag: TagTrigger | None = None
    comment: CommentTrigger | None = None
    release: ReleaseTrigger | None = None
    pipeline: PipelineTrigger | None = None
    manual: StrictBool = False

    @model_validator(mode="before")
    @classmethod
    def _expand_shorthand(cls, data: Any) -> Any:
        """`on: push`, `on: [push, tag]`, `push:` / `push: true` (defaults), `push: false`
        (absent), `tag: "v*"` and `push: [main]` (the trigger's list) become the full form."""
        if data is None:
            return {}
        if isinstance(data, str):
            data = [data]
        if isinstance(data, list) and all(isinstance(name, str) for name in data):
            data = dict.fromkeys(data, True)
        if not isinstance(data, dict):
            return data
        expanded: dict[Any, Any] = {}
        for key, value in data.items():
            list_key = _SHORTHAND.get(key)
            if list_key is None:
                expanded[key] = True if key == "manual" and value is None else value
            elif value is not False:
                if value is None or value is True:
                    value = {}
                elif isinstance(value, str | list):
                    value = {list_key: [value] if isinstance(value, str) else value}
                expanded[key] = value
        return expanded

    @model_validator(mode="after")
    def _at_least_one(self) -> Self:
        if self.manual or any(getattr(self, name) is not None for name in _SHORTHAND):
            return self
        raise custom_error(
            f"at least one trigger is required: {', '.join([*_SHORTHAND, 'manual'])}"
        )
