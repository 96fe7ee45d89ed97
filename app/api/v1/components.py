"""What a repository declares, for a release asked for through the API: its components from
the image → repository index, or (when the index has nothing for it, or the release's name
comes from the config's `releases.name`) its `.shipyard.yml` read once through the host.

What was found is remembered for as long as the config cache keeps a config (its `ttl`), so
a release costs neither a host call nor an index read while it is fresh; a repository that
declares nothing (its releases pin commits) too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.api.v1.errors import ApiError
from app.releases import images
from app.releases.config import ComponentSpec, ReleasesConfig, components_of, releases_of
from app.releases.known import known_repositories
from app.releases.routing import read_config
from app.repo_config.errors import ConfigError
from app.services import Services
from providers.errors import NotConfigured, NotFound, ProviderError
from providers.vocabulary import Repo

__all__ = ["Declared", "declared_by", "forget_read"]


@dataclass(frozen=True)
class Declared:
    components: dict[str, ComponentSpec]
    releases: ReleasesConfig | None  # None: not read (the index answered)
    installation_id: int | None


_read: dict[tuple[str, str], tuple[float, Declared]] = {}
_MAX_REMEMBERED = 10_000  # repositories; past that the memory starts again


def forget_read() -> None:
    """Forget the configs this process read (tests)."""
    _read.clear()


async def declared_by(
    services: Services, provider: str, repository: str, *, need_config: bool
) -> Declared:
    """The repository's components (and, with `need_config`, its `releases:` section)."""
    key = (provider, repository)
    ttl = services.config_cache.ttl
    cached = _read.get(key)
    fresh = cached is not None and time.monotonic() - cached[0] <= ttl
    if cached is not None and fresh and (cached[1].releases is not None or not need_config):
        return cached[1]
    declared = None
    if not need_config:
        indexed = await images.components_of_repository(services.sessions, provider, repository)
        if indexed:
            specs = {
                row.component: ComponentSpec.model_construct(image=row.image, tag=row.tag_template)
                for row in indexed
            }
            declared = Declared(specs, None, indexed[0].installation_id)
    if declared is None:
        declared = await _read_config(services, provider, repository)
    if len(_read) >= _MAX_REMEMBERED:
        _read.clear()
    _read[key] = (time.monotonic(), declared)
    return declared


async def _read_config(services: Services, provider: str, repository: str) -> Declared:
    # The GitHub App installation Shipyard last saw the repository through, if any.
    known = await known_repositories(services.sessions, provider=provider, repository=repository)
    installation_id = known[0].installation_id if known else None
    client = services.providers(provider, installation_id)
    where = f"{provider}:{repository}"
    try:
        config = await read_config(
            services,
            client,
            provider,
            Repo(repository),
            default_branch=None,
            installation_id=installation_id,
        )
    except ConfigError as error:
        raise ApiError(
            422, "invalid_config", f"{where}'s .shipyard.yml is invalid: {error}"
        ) from None
    except NotConfigured as error:
        raise ApiError(
            422, "host_not_configured", f"Shipyard cannot read {where}'s config: {error}"
        ) from None
    except NotFound:
        raise ApiError(
            422,
            "repository_not_found",
            f"{where} was not found on {provider}, or Shipyard's credentials do not reach it",
        ) from None
    except ProviderError as error:
        raise ApiError(
            502, "host_unavailable", f"{provider} did not answer reading {where}'s config: {error}"
        ) from None
    if config is None:
        return Declared({}, ReleasesConfig(), installation_id)
    return Declared(components_of(config), releases_of(config), installation_id)
