"""The top-level fields each event's payload always carries, per host, and which of them a
payload lacks: a payload sent with the wrong event header (or not a webhook body at all)
normalises into an event of nulls, and `shipyard receive` says so instead of staying silent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ALWAYS", "missing_fields"]

_GIT_HUB_LIKE: dict[str, tuple[str, ...]] = {
    "push": ("ref", "before", "after", "repository"),
    "pull_request": ("action", "number", "pull_request", "repository"),
    "issue_comment": ("action", "issue", "comment", "repository"),
    "issues": ("action", "issue", "repository"),
    "release": ("action", "release", "repository"),
    "create": ("ref", "ref_type", "repository"),
    "delete": ("ref", "ref_type", "repository"),
}

ALWAYS: dict[str, dict[str, tuple[str, ...]]] = {
    "github": {
        **_GIT_HUB_LIKE,
        "pull_request_review": ("action", "review", "pull_request", "repository"),
        "check_run": ("action", "check_run"),
        "check_suite": ("action", "check_suite"),
        "workflow_run": ("action", "workflow_run", "repository"),
        "deployment": ("deployment", "repository"),
        "deployment_status": ("deployment_status", "deployment", "repository"),
        "ping": ("zen", "hook_id"),
    },
    "gitlab": {
        "Push Hook": ("object_kind", "ref", "project"),
        "Tag Push Hook": ("object_kind", "ref", "project"),
        "Merge Request Hook": ("object_kind", "object_attributes", "project"),
        "Note Hook": ("object_kind", "object_attributes", "project"),
        "Pipeline Hook": ("object_kind", "object_attributes", "project"),
        "Release Hook": ("object_kind", "action", "project"),
    },
    "gitea": _GIT_HUB_LIKE,
    "forgejo": _GIT_HUB_LIKE,
}


def missing_fields(provider: str, event: str, payload: Mapping[str, Any]) -> list[str]:
    """The fields an `event` payload from `provider` always carries that `payload` lacks (or
    holds as null); [] for events this table does not know."""
    expected = ALWAYS.get(provider, {}).get(event, ())
    return [name for name in expected if payload.get(name) is None]
