"""A release asked for by hand (`shipyard releases create`): the draft for a commit or tag,
with the digests a person names for the components the repository's config declares.

The config is read (at the default branch, through the provider): every component it declares
is in the release — those not named are asked of the registry at their `tag:` for the commit,
as a tag push would — and a named component it does not declare is refused. A repository
that declares no components gets a release that pins the commit (or tag) alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.releases.config import ComponentSpec, ReleasesConfig, components_of
from app.releases.known import known_repositories
from app.releases.links import host_links
from app.releases.model import Creator, ReleaseDraft
from app.releases.routing import read_config
from app.releases.sources import PlanError, draft_for_commit
from app.repo_config.errors import ConfigError
from app.services import Services
from providers.errors import ProviderError
from providers.vocabulary import Repo

__all__ = ["DIGEST", "NotReleasable", "draft_by_hand", "parse_component"]

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{7,64}")
_MAX_NAME = 200


class NotReleasable(ValueError):
    """What was asked cannot be a release; the message says why and what to give instead."""


def parse_component(value: str) -> tuple[str, str]:
    """`web=sha256:…` → ("web", "sha256:…"), or NotReleasable."""
    name, equals, digest = value.partition("=")
    name, digest = name.strip(), digest.strip()
    if not equals or not name:
        raise NotReleasable(f"--component {value!r}: give it as NAME=sha256:<64 hex digits>")
    if not DIGEST.fullmatch(digest):
        raise NotReleasable(
            f"--component {name}: the digest must be sha256: followed by 64 lower-case hex "
            "digits (what `docker buildx imagetools inspect` or the registry reports)"
        )
    return name, digest


def _check(name: str, repository: str, commit: str | None, tag: str | None) -> None:
    if not name.strip() or len(name) > _MAX_NAME:
        raise NotReleasable(f"a release name has 1 to {_MAX_NAME} characters")
    owner, slash, project = repository.rpartition("/")
    if not (slash and owner.strip("/") and project):
        raise NotReleasable(f"--repo {repository!r}: give owner/name (GitLab: group/project)")
    if commit is not None and not _COMMIT.fullmatch(commit):
        raise NotReleasable(f"--commit {commit!r}: give the commit's sha (7 to 64 hex digits)")
    if tag is not None and not 0 < len(tag) <= 255:
        raise NotReleasable("a tag has 1 to 255 characters")


async def _installation(services: Services, provider: str, repository: str) -> int | None:
    """The GitHub App installation Shipyard last saw the repository through, if any."""
    known = await known_repositories(services.sessions, provider=provider, repository=repository)
    return known[0].installation_id if known else None


async def _declared(
    services: Services, provider: str, repository: str, installation_id: int | None
) -> dict[str, ComponentSpec]:
    """The components the repository's config declares at its default branch."""
    try:
        config = await read_config(
            services,
            services.providers(provider, installation_id),
            provider,
            Repo(repository),
            default_branch=None,
            installation_id=installation_id,
        )
    except ConfigError as error:
        raise NotReleasable(f"{repository}'s .shipyard.yml is invalid:\n{error}") from None
    except ProviderError as error:
        raise NotReleasable(f"{repository}'s .shipyard.yml could not be read: {error}") from None
    return components_of(config) if config is not None else {}


async def draft_by_hand(
    services: Services,
    *,
    provider: str,
    repository: str,
    name: str,
    creator: Creator,
    commit: str | None = None,
    tag: str | None = None,
    branch: str | None = None,
    digests: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ReleaseDraft:
    """The release to create; NotReleasable saying what is wrong."""
    commit = commit.lower() if commit else None
    _check(name, repository, commit, tag)
    if not (commit or tag or digests):
        raise NotReleasable("a release needs --commit, --tag or a --component to pin")
    installation_id = await _installation(services, provider, repository)
    links = host_links(services.settings, provider, repository)
    url = links.tag(tag) if tag else links.commit(commit)
    declared = await _declared(services, provider, repository, installation_id)
    if digests:
        unknown = sorted(set(digests) - set(declared))
        if unknown:
            listed = ", ".join(declared) or "none: it has no `components:`"
            verb = "is" if len(unknown) == 1 else "are"
            raise NotReleasable(
                f"component {', '.join(map(repr, unknown))} {verb} not declared in "
                f"{repository}'s .shipyard.yml at its default branch (its components: {listed})"
            )
    try:
        return draft_for_commit(
            provider=provider,
            repository=repository,
            components=declared,
            config=ReleasesConfig(),  # the name is given: no template to render
            creator=creator,
            commit=commit,
            tag=tag,
            branch=branch,
            url=url,
            name=name,
            digests=digests,
            metadata=metadata,
            installation_id=installation_id,
        )
    except PlanError as error:
        missing = sorted(set(declared) - set(digests or {}))
        raise NotReleasable(
            f"{error}: give --commit (to find {', '.join(missing)} by its tag), or a "
            f"--component for {', '.join(missing)} too"
        ) from None
