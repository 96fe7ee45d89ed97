"""Which events make a release, and what that release is asked to be (pure).

`plan_release` reads one normalised event against a repository's `components:` and
`releases:` and answers with the draft to create, or None. Decisions a user will notice:

- Only the repository's own code becomes a release: a CI run whose head repository is a fork
  (GitHub's `workflow_run` from a fork's `main` has `head_branch` "main" too) never does, nor
  a CI run the payload cannot place.
- A tag pushed and the host release published for the same tag plan the same draft (same name,
  commit and components): they make one release.
- A registry push pins the pushed digest for its component (a push that does not say its digest,
  as Gitea's package events do not, has it read from the registry like the rest); every other
  component is asked at the same tag. A tag push, a host release or a CI run asks each
  component at its `tag:` template, rendered with the commit's values.
- The name is `releases.name` rendered (default: the tag, else the short sha); the version is
  the tag without a leading "v" before a digit, else the short sha.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.globs import match_glob
from app.pipelines.triggers import normalise_pipeline_status, normalise_release_actions
from app.releases.config import ComponentSpec, ReleaseRule, ReleasesConfig
from app.releases.model import ComponentPin, Creator, ReleaseDraft, SourceRef
from providers.events import Event, EventKind
from steps.templates import TemplateError, render_value

__all__ = [
    "PlanError",
    "Planned",
    "draft_for_commit",
    "image_matches",
    "plan_release",
    "release_name",
    "version_of",
]

SHORT_SHA = 12
_VERSION = re.compile(r"v(?=\d)")
# Where a registry is addressed by more than one name (Docker Hub).
_HUB_ALIASES = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")


class PlanError(ValueError):
    """A template of the config did not render; the message names which."""


@dataclass(frozen=True)
class Planned:
    """A draft to create, and the `from:` rule that asked for it (its key: tag, release…)."""

    draft: ReleaseDraft
    rule: str


def version_of(tag: str | None, commit: str | None) -> str:
    if tag:
        return _VERSION.sub("", tag, count=1) if _VERSION.match(tag) else tag
    return (commit or "")[:SHORT_SHA] or "unversioned"


def _values(
    repository: str, commit: str | None, tag: str | None, branch: str | None
) -> dict[str, Any]:
    owner, _, name = repository.rpartition("/")
    return {
        "repo": {"name": name, "owner": owner, "full_name": repository},
        "sha": commit,
        "short_sha": (commit or "")[:SHORT_SHA] or None,
        "tag": tag,
        "branch": branch,
        "version": version_of(tag, commit),
    }


def _render(template: str, values: Mapping[str, Any], what: str) -> str:
    try:
        rendered = render_value(template, values)
    except TemplateError as error:
        raise PlanError(f"{what}: {error}") from None
    text = "" if rendered is None else str(rendered).strip()
    if not text:
        raise PlanError(f"{what} rendered empty from {template!r}")
    return text


def release_name(config: ReleasesConfig, values: Mapping[str, Any]) -> str:
    if config.name is not None:
        return _render(config.name, values, "releases.name")[:200]
    tag, short = values.get("tag"), values.get("short_sha")
    if not (tag or short):
        raise PlanError("a release needs a tag or a commit to be named by")
    return str(tag or short)[:200]


def _pins(
    components: Mapping[str, ComponentSpec],
    values: Mapping[str, Any],
    *,
    fixed: Mapping[str, ComponentPin] | None = None,
    tag: str | None = None,
) -> tuple[ComponentPin, ...]:
    """Each component at its tag (`tag`, when one is imposed; else its template rendered),
    except those `fixed` already (by name)."""
    pins = []
    for name, spec in components.items():
        if fixed and name in fixed:
            pins.append(fixed[name])
            continue
        image_tag = tag or _render(spec.tag, values, f"components.{name}.tag")
        pins.append(
            ComponentPin(name=name, image=spec.image, tag=image_tag[:128], registry=spec.registry)
        )
    return tuple(pins)


def draft_for_commit(
    *,
    provider: str,
    repository: str,
    components: Mapping[str, ComponentSpec],
    config: ReleasesConfig,
    creator: Creator,
    commit: str | None,
    tag: str | None = None,
    branch: str | None = None,
    url: str | None = None,
    name: str | None = None,
    digests: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    installation_id: int | None = None,
) -> ReleaseDraft:
    """The release of `commit` (and `tag`): each component at its tag template, or at the
    digest `digests` gives it. PlanError when a template does not render."""
    values = _values(repository, commit, tag, branch)
    fixed = {
        component: ComponentPin(name=component, image=components[component].image, digest=digest)
        for component, digest in (digests or {}).items()
        if component in components
    }
    return ReleaseDraft(
        name=name or release_name(config, values),
        version=version_of(tag, commit),
        source=SourceRef(
            provider=provider, repository=repository, commit=commit, tag=tag, branch=branch, url=url
        ),
        components=_pins(components, values, fixed=fixed),
        metadata=dict(metadata or {}),
        creator=creator,
        installation_id=installation_id,
    )


def image_matches(declared: str, pushed: str) -> bool:
    """Whether the image a registry reports (`host/name`) is the declared component image."""

    def plain(image: str) -> str:
        image = image.lower()
        for alias in _HUB_ALIASES:
            if image.startswith(alias):
                image = image[len(alias) :]
                return image if "/" in image else f"library/{image}"
        return image

    return plain(declared) == plain(pushed)


def _globs(patterns: Iterable[str] | None, name: str | None) -> bool:
    if name is None:
        return False
    return patterns is None or any(match_glob(pattern, name) for pattern in patterns)


def _own_ci_run(event: Event, rule: ReleaseRule) -> bool:
    assert rule.ci is not None
    pipeline = event.pipeline
    if pipeline is None or pipeline.from_fork is not False or event.tag is not None:
        return False
    status = normalise_pipeline_status(pipeline.status)
    return status in rule.ci.status and _globs(rule.ci.branches, event.branch)


def _matching_rule(
    event: Event, config: ReleasesConfig, components: Mapping[str, ComponentSpec]
) -> tuple[str, ReleaseRule] | None:
    for rule in config.from_:
        if rule.tag is not None and event.kind is EventKind.TAG:
            if event.action != "deleted" and event.sha and _globs(rule.tag.tags, event.tag):
                return "tag", rule
        elif rule.release is not None and event.kind is EventKind.RELEASE:
            draft = event.release is not None and event.release.draft is True
            actions = normalise_release_actions(event)
            if not draft and event.tag and set(actions) & set(rule.release.actions):
                return "release", rule
        elif rule.ci is not None and event.kind is EventKind.PIPELINE:
            if _own_ci_run(event, rule):
                return "ci", rule
        elif rule.registry is not None and event.kind is EventKind.PACKAGE:
            package, spec = event.package, components.get(rule.registry.component)
            if package is None or spec is None or not package.image or not package.tag:
                continue
            pushed = f"{package.host}/{package.image}" if package.host else package.image
            if image_matches(spec.image, pushed) and _globs(rule.registry.tags, package.tag):
                return "registry", rule
    return None


def plan_release(
    event: Event,
    *,
    components: Mapping[str, ComponentSpec],
    config: ReleasesConfig,
    provider: str,
    repository: str,
    creator: Creator,
    commit: str | None = None,
    installation_id: int | None = None,
) -> Planned | None:
    """The release `event` makes in `provider`'s `repository`, or None. `commit` is the tag's
    commit when the caller had to ask the host for it (a host release's payload may not say)."""
    found = _matching_rule(event, config, components)
    if found is None:
        return None
    key, rule = found
    web = event.repository.web_url if event.repository else None
    common: dict[str, Any] = {
        "provider": provider,
        "repository": repository,
        "components": components,
        "config": config,
        "creator": creator,
        "installation_id": installation_id or event.installation_id,
    }
    if key == "registry":
        assert rule.registry is not None
        assert event.package is not None
        package = event.package
        name = rule.registry.component
        values = _values(repository, commit, package.tag, None)
        pinned = ComponentPin(
            name=name,
            image=components[name].image,
            digest=package.digest,
            tag=package.tag,
            registry=components[name].registry,
        )
        draft = ReleaseDraft(
            name=release_name(config, values),
            version=version_of(package.tag, commit),
            source=SourceRef(
                provider=provider, repository=repository, commit=commit, tag=package.tag
            ),
            components=_pins(components, values, fixed={name: pinned}, tag=package.tag),
            metadata={"triggered_by": f"registry push of {package.image}:{package.tag}"},
            creator=creator,
            installation_id=common["installation_id"],
        )
        return Planned(draft, key)
    sha = event.sha or commit
    tag = event.tag if key in ("tag", "release") else None
    url = f"{web}/tree/{tag}" if web and tag else (f"{web}/commit/{sha}" if web and sha else None)
    metadata: dict[str, Any] = {"triggered_by": f"{event.name} {event.action or ''}".strip()}
    if key == "ci" and event.pipeline is not None:
        metadata |= {"build_id": str(event.pipeline.id or ""), "build_url": event.pipeline.url}
    draft = draft_for_commit(
        **common, commit=sha, tag=tag, branch=event.branch, url=url, metadata=metadata
    )
    return Planned(draft, key)
