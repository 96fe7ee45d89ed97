"""The releases' handlers on the event router: a tag push, a host release, a CI run or a
registry push becomes a release where the repository's `releases.from:` says so.

The config is read at the default branch, as the pipelines feature reads it (and through the
same cache); an invalid one is reported there (`shipyard/config`), and only noted here.
Every config read also refreshes the image → repository index a registry push is matched by.
"""

from __future__ import annotations

import logging
from typing import Any

from app.pipelines.default_config import read_default_config
from app.releases import images
from app.releases.config import components_of, releases_of
from app.releases.model import Creator
from app.releases.service import create_release
from app.releases.sources import PlanError, plan_release
from app.releases.store import Conflict
from app.repo_config.errors import ConfigError
from app.repo_config.schema import RepoConfig
from app.routing.router import Outcome, Routed, Router
from app.services import Services
from providers.base import Provider
from providers.errors import NotConfigured, NotFound
from providers.events import Event, EventKind
from providers.vocabulary import Repo

__all__ = ["read_config", "router"]

log = logging.getLogger(__name__)

router: Router[Services] = Router("releases")


async def read_config(
    services: Services,
    provider: Provider,
    provider_name: str,
    repo: Repo,
    *,
    default_branch: str | None,
    installation_id: int | None,
    event: Event | None = None,
) -> RepoConfig | None:
    """The repository's config at its default branch, read as the pipelines read it (one read
    serves both), its components remembered in the image index."""
    config = await read_default_config(
        services, provider, provider_name, repo, default_branch=default_branch, event=event
    )
    declared = components_of(config) if config is not None else {}
    await images.remember_components(
        services.sessions, provider_name, repo.full_name, declared, installation_id
    )
    return config


def _creator(routed: Routed) -> Creator:
    return Creator(kind="delivery", name=routed.event.delivery_id, delivery_pk=routed.delivery_pk)


@router.register(EventKind.TAG)
@router.register(EventKind.RELEASE)
@router.register(EventKind.PIPELINE)
@router.register(EventKind.PUSH)
async def release_from_event(services: Services, routed: Routed) -> Outcome:
    event = routed.event
    if event.repository is None or not event.repository.full_name:
        return None
    repo = Repo(event.repository.full_name)
    provider = services.providers(event.provider, event.installation_id)
    try:
        config = await read_config(
            services,
            provider,
            event.provider,
            repo,
            default_branch=event.repository.default_branch,
            installation_id=event.installation_id,
            event=event,
        )
    except ConfigError:
        return {"note": "the config is invalid (see shipyard/config)"}
    except NotConfigured as error:
        return {"note": str(error)}
    if config is None or event.kind is EventKind.PUSH:
        return None
    commit = None
    wants_releases = any(rule.release for rule in releases_of(config).from_)
    if event.kind is EventKind.RELEASE and not event.sha and event.tag and wants_releases:
        commit = await _commit_of_tag(provider, repo, event.tag)
    return await _make(services, routed, config, provider=event.provider, repo=repo, commit=commit)


@router.register(EventKind.PACKAGE)
async def release_from_image(services: Services, routed: Routed) -> Outcome:
    """A pushed image: a release in each repository that declares it as a component."""
    event = routed.event
    package = event.package
    if package is None or not package.image or not package.tag:
        return None
    pushed = f"{package.host}/{package.image}" if package.host else package.image
    declared = await images.repositories_for_image(services.sessions, pushed)
    made: dict[str, Any] = {}
    installations = {(d.provider, d.repository): d.installation_id for d in declared}
    for (provider_name, full_name), installation_id in sorted(installations.items()):
        if not services.allowlist.allows(provider_name, full_name):
            continue  # outside SHIPYARD_REPO_ALLOWLIST: Shipyard acts on nothing there
        provider = services.providers(provider_name, installation_id)
        repo = Repo(full_name)
        try:
            config = await read_config(
                services,
                provider,
                provider_name,
                repo,
                default_branch=None,
                installation_id=installation_id,
            )
        except ConfigError:
            made[f"{provider_name}:{full_name}"] = {"note": "the config is invalid"}
            continue
        if config is not None:
            outcome = await _make(
                services,
                routed,
                config,
                provider=provider_name,
                repo=repo,
                installation_id=installation_id,
            )
            if outcome is not None:
                made[f"{provider_name}:{full_name}"] = outcome
    return {"repositories": made} if made else None


async def _commit_of_tag(provider: Provider, repo: Repo, tag: str) -> str | None:
    try:
        return await provider.commit_of(repo, tag)
    except NotFound:
        return None


async def _make(
    services: Services,
    routed: Routed,
    config: RepoConfig,
    *,
    provider: str,
    repo: Repo,
    commit: str | None = None,
    installation_id: int | None = None,
) -> Outcome:
    event: Event = routed.event
    try:
        planned = plan_release(
            event,
            components=components_of(config),
            config=releases_of(config),
            provider=provider,
            repository=repo.full_name,
            creator=_creator(routed),
            commit=commit,
            installation_id=installation_id,
        )
    except PlanError as error:
        return {"error": str(error)}
    if planned is None:
        return None
    try:
        stored = await create_release(services, planned.draft)
    except Conflict as conflict:
        log.warning("%s", conflict)
        return {"conflict": str(conflict), "release": conflict.release.id}
    return {"release": stored.release.id, "created": stored.created, "from": planned.rule}
