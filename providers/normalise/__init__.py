"""Webhook payload to normalised Event, for every host: pure, no I/O.

The host modules fill what their payloads say and leave the rest None; they never guess.
Across hosts, `sha` is the commit the event is about: a push's new head (None when the push
deletes the ref), a pull request's head, a pipeline's or deployment's commit. Decisions a
reader would otherwise wonder about:

- A tag push is kind `tag` (GitHub/Gitea `push` to refs/tags/*, GitLab `Tag Push Hook`),
  a deletion too, with `action` "deleted" and `sha` None.
- GitHub/Gitea `create` and `delete` are kind `other`: the same branch or tag also arrives as a
  `push`, with its sha, and acting on both would start every tag release twice.
- A comment on a pull / merge request is kind `comment` with `comment.on_pull_request` and
  `pull_request` filled from what the payload has; on an issue, commit or snippet it is a
  `comment` with no pull request.
- CI: GitHub workflow_run, workflow_job, check_suite, check_run and status, and GitLab
  pipeline and job hooks, are kind `pipeline`; a workflow run (GitHub's, Gitea's) and a GitLab
  pipeline say whose code they built (`pipeline.head_repository`, `pipeline.from_fork`).
- Images: a container registry's notification (provider `registry`, one event per delivery)
  is kind `package` only for a tagged push of a manifest or index; GitHub's `package` /
  `registry_package` and Gitea's `package` are kind `package`, with `package` filled in for
  container images.
- Every value is bounded (providers.bounds) so that no payload can break a column: a ref,
  sha, name or URL that does not fit, or a number out of range, is a PayloadShapeError naming
  the field and the limit (cleaning or cutting it would make it another name); titles and
  comment bodies lose control characters and are cut with an ellipsis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from providers.events import Event
from providers.normalise._fields import PayloadShapeError
from providers.normalise.gitea import normalise_gitea
from providers.normalise.github import normalise_github
from providers.normalise.gitlab import normalise_gitlab
from providers.normalise.registry import normalise_registry

__all__ = ["PayloadShapeError", "normalise"]

Normaliser = Callable[[str, str, Mapping[str, Any], str], Event]

NORMALISERS: dict[str, Normaliser] = {
    "github": normalise_github,
    "gitlab": normalise_gitlab,
    "gitea": normalise_gitea,
    "forgejo": normalise_gitea,  # Forgejo sends Gitea's payloads; Event.provider says "forgejo"
    "registry": normalise_registry,  # a container registry's notification, one event of it
}


def normalise(
    provider: str, event_name: str, payload: Mapping[str, Any], *, delivery_id: str
) -> Event:
    """Turn one delivery into an Event.

    `event_name` is the value of the host's event header (X-GitHub-Event, X-Gitlab-Event,
    X-Gitea-Event / X-Forgejo-Event); for a registry's event, its `action`. An unknown event
    gives kind `other`; a field the payload lacks gives None; a payload of the wrong shape raises
    PayloadShapeError; an unknown provider raises ValueError.
    """
    normaliser = NORMALISERS.get(provider)
    if normaliser is None:
        known = ", ".join(sorted(NORMALISERS))
        raise ValueError(f"unknown provider {provider!r}: expected one of {known}")
    return normaliser(provider, event_name, payload, delivery_id)
