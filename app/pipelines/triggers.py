"""Which pipelines of a repo's config an event starts: pure matching of `on:` triggers.

Each host's words are translated here, in tables, to the config's one vocabulary:

- Pull request actions: opened, synchronize, reopened, closed, merged. GitHub and Gitea say a
  merge with `closed` and `merged: true`. GitLab's `update` is every change to a merge request
  (title, labels, new commits...): it is `synchronize` only when commits were pushed, which
  GitLab says with `oldrev` (the Event's `before`). Other actions (labeled, edited,
  assigned, review events, approvals) start nothing. Draft pull requests match like any other.
- Release actions: GitHub's words. A GitLab `create` and a Gitea `published` are a release
  that is created and published at once, so they match `created` and `published` (and
  `released`, or `prereleased` for a Gitea pre-release).
- CI statuses: success; failed (failure, timed_out, startup_failure, error); cancelled
  (canceled). Only whole runs count (GitHub `workflow_run`, GitLab `Pipeline Hook`): jobs,
  check runs and commit statuses would start a pipeline once per job, and Shipyard's own
  statuses would start pipelines in a loop.
- Globs are `app.globs`': `*` and `?` within one path segment, `**` across them;
  case-sensitive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.globs import match_glob
from app.pipelines.config import RELEASE_ACTIONS, PipelineConfig, Triggers, pipelines_of
from app.repo_config.schema import RepoConfig
from providers.events import Event, EventKind

__all__ = [
    "PULL_REQUEST_ACTIONS_BY_HOST",
    "RELEASE_ACTIONS_BY_HOST",
    "PipelineNotFound",
    "TriggerMatch",
    "command_in",
    "manual_pipeline",
    "match_pipelines",
    "normalise_pipeline_status",
    "normalise_pull_request_action",
    "normalise_release_actions",
]

_GITEA_PULL_REQUEST = {
    "opened": "opened",
    "synchronized": "synchronize",
    "reopened": "reopened",
    "closed": "closed",
}
PULL_REQUEST_ACTIONS_BY_HOST: dict[str, dict[str, str]] = {
    "github": {
        "opened": "opened",
        "synchronize": "synchronize",
        "reopened": "reopened",
        "closed": "closed",
    },
    "gitlab": {
        "open": "opened",
        "update": "synchronize",
        "reopen": "reopened",
        "close": "closed",
        "merge": "merged",
    },
    "gitea": _GITEA_PULL_REQUEST,
    "forgejo": _GITEA_PULL_REQUEST,
}

_GITEA_RELEASE = {
    "published": ("published", "created"),  # + released / prereleased, from the release
    "updated": ("edited",),
    "deleted": ("deleted",),
}
RELEASE_ACTIONS_BY_HOST: dict[str, dict[str, tuple[str, ...]]] = {
    "github": {action: (action,) for action in RELEASE_ACTIONS},  # the config's own words
    "gitlab": {
        "create": ("published", "created", "released"),
        "update": ("edited",),
        "delete": ("deleted",),
    },
    "gitea": _GITEA_RELEASE,
    "forgejo": _GITEA_RELEASE,
}

PIPELINE_STATUSES_BY_HOST_WORD = {
    "success": "success",
    "failed": "failed",
    "failure": "failed",
    "timed_out": "failed",
    "startup_failure": "failed",
    "error": "failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
}
# The host events that report a whole CI run (not a job, a check run or a commit status).
CI_RUN_EVENTS = frozenset({"workflow_run", "Pipeline Hook"})

_COMMENT_CREATED = frozenset({"created", "create"})  # GitHub and Gitea; GitLab notes


@dataclass(frozen=True)
class TriggerMatch:
    """Pipeline `pipeline` starts because of its `trigger` (a key of `on:`).

    `action` is in the config's words: the pull request action, the release action, the CI
    status, "created" for a comment; for a push or tag the Event's action (None, or
    "created" for a new branch or tag). `command` is the comment command that matched."""

    pipeline: str
    trigger: str
    action: str | None = None
    command: str | None = None


class PipelineNotFound(KeyError):
    """No pipeline of that name can be started by hand; the message lists those that can."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "pipeline not found"


# --- the hosts' words --------------------------------------------------------------------------


def normalise_pull_request_action(event: Event) -> str | None:
    """The pull request action in the config's words, or None for actions that start nothing."""
    table = PULL_REQUEST_ACTIONS_BY_HOST.get(event.provider, {})
    action = table.get(event.action or "")
    if event.provider == "gitlab" and event.action == "update" and event.before is None:
        return None  # a title, label or description edit: no new commits
    merged = event.pull_request is not None and event.pull_request.merged is True
    return "merged" if action == "closed" and merged else action


def normalise_release_actions(event: Event) -> tuple[str, ...]:
    """The release actions (config words) this event is, most specific first; () for none."""
    actions = RELEASE_ACTIONS_BY_HOST.get(event.provider, {}).get(event.action or "", ())
    if event.provider in ("gitea", "forgejo") and event.action == "published":
        prerelease = event.release is not None and event.release.prerelease is True
        actions = (*actions, "prereleased" if prerelease else "released")
    return actions


def normalise_pipeline_status(status: str | None) -> str | None:
    """success, failed or cancelled for a finished CI run; None while running (or skipped)."""
    return PIPELINE_STATUSES_BY_HOST_WORD.get((status or "").lower())


def _any_glob(patterns: Iterable[str] | None, name: str | None) -> bool:
    """None (no filter) matches anything that has a name."""
    if name is None:
        return False
    return patterns is None or any(match_glob(pattern, name) for pattern in patterns)


# --- one matcher per event kind ----------------------------------------------------------------

_Hit = tuple[str | None, str | None]  # (action, command)
_Matcher = Callable[[Triggers, Event], _Hit | None]


def _push(on: Triggers, event: Event) -> _Hit | None:
    if on.push is None or event.action == "deleted":
        return None
    return (event.action, None) if _any_glob(on.push.branches, event.branch) else None


def _tag(on: Triggers, event: Event) -> _Hit | None:
    if on.tag is None or event.action == "deleted":
        return None
    return (event.action, None) if _any_glob(on.tag.tags, event.tag) else None


def _pull_request(on: Triggers, event: Event) -> _Hit | None:
    trigger, pr = on.pull_request, event.pull_request
    action = normalise_pull_request_action(event)
    if trigger is None or pr is None or action not in trigger.actions:
        return None
    if trigger.branches is not None and not _any_glob(trigger.branches, pr.base_ref):
        return None
    return action, None


def _comment(on: Triggers, event: Event) -> _Hit | None:
    comment = event.comment
    if on.comment is None or comment is None or not comment.on_pull_request:
        return None
    if event.action is not None and event.action not in _COMMENT_CREATED:
        return None  # edited or deleted comments start nothing
    command = command_in(comment.body or "", on.comment.commands)
    return None if command is None else ("created", command)


def command_in(body: str, commands: Iterable[str]) -> str | None:
    """The command (one of `commands`) the comment's first line gives, if any."""
    text = body.lstrip()
    first_line = text.splitlines()[0].rstrip() if text else ""
    for command in commands:
        rest = first_line.removeprefix(command)
        if command and rest != first_line and (not rest or rest[0].isspace()):
            return command
    return None


def _release(on: Triggers, event: Event) -> _Hit | None:
    if on.release is None:
        return None
    wanted = on.release.actions
    action = next((a for a in normalise_release_actions(event) if a in wanted), None)
    return None if action is None else (action, None)


def _pipeline(on: Triggers, event: Event) -> _Hit | None:
    trigger = on.pipeline
    if trigger is None or event.name not in CI_RUN_EVENTS or event.pipeline is None:
        return None
    status = normalise_pipeline_status(event.pipeline.status)
    if status not in trigger.status:
        return None
    if trigger.branches is not None and not _any_glob(trigger.branches, event.branch):
        return None
    return status, None


_MATCHERS: dict[EventKind, tuple[str, _Matcher]] = {
    EventKind.PUSH: ("push", _push),
    EventKind.TAG: ("tag", _tag),
    EventKind.PULL_REQUEST: ("pull_request", _pull_request),
    EventKind.COMMENT: ("comment", _comment),
    EventKind.RELEASE: ("release", _release),
    EventKind.PIPELINE: ("pipeline", _pipeline),
}


def match_pipelines(config: RepoConfig, event: Event) -> list[TriggerMatch]:
    """The pipelines `event` starts, in the order of the config file. Pure."""
    found = _MATCHERS.get(event.kind)
    if found is None:
        return []
    trigger, matcher = found
    matches = []
    for name, pipeline in pipelines_of(config).items():
        hit = matcher(pipeline.on, event)
        if hit is not None:
            matches.append(TriggerMatch(name, trigger, action=hit[0], command=hit[1]))
    return matches


def manual_pipeline(config: RepoConfig, name: str) -> PipelineConfig:
    """The pipeline `name`, if it has `manual: true` (CLI / API runs); else PipelineNotFound."""
    pipelines = pipelines_of(config)
    pipeline = pipelines.get(name)
    if pipeline is not None and pipeline.on.manual:
        return pipeline
    manual = [known for known, p in pipelines.items() if p.on.manual]
    listed = ", ".join(manual) if manual else "none (add `manual: true` under a pipeline's `on:`)"
    if pipeline is None:
        raise PipelineNotFound(f"no pipeline named {name!r}; pipelines that run by hand: {listed}")
    raise PipelineNotFound(
        f"pipeline {name!r} has no `manual: true` trigger; pipelines that run by hand: {listed}"
    )
