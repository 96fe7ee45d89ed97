"""The repositories Shipyard knows (from the components it indexed, the releases it made and
the pipelines it ran), and rebuilding the image → repository index from their configs
(`shipyard components refresh`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import union
from sqlmodel import col, select

from app.db.engine import SessionFactory
from app.db.models.pipelines import PipelineRun
from app.db.models.releases import Release, RepositoryComponent
from app.releases import images
from app.releases.config import ComponentSpec, components_of
from app.releases.routing import read_config
from app.repo_config.errors import ConfigError
from app.services import Services
from providers.errors import NotConfigured, ProviderError
from providers.vocabulary import Repo

__all__ = ["KnownRepository", "Refreshed", "known_repositories", "refresh_components"]


@dataclass(frozen=True)
class KnownRepository:
    provider: str
    repository: str
    installation_id: int | None


@dataclass(frozen=True)
class Refreshed:
    """What one repository's config said: its components, or why it could not be read
    (`problem`; the index keeps what it had for that repository then)."""

    repository: KnownRepository
    components: dict[str, ComponentSpec] | None = None  # None: no .shipyard.yml
    problem: str | None = None


async def known_repositories(
    sessions: SessionFactory, *, provider: str | None = None, repository: str | None = None
) -> list[KnownRepository]:
    """Each (provider, repository) once, sorted, with the installation it was last seen
    through: of the ids the tables hold for it, the highest (a reinstalled GitHub App gets a
    new, higher id), else None."""
    query = union(
        *(
            select(col(table.provider), col(table.repository), col(table.installation_id))
            for table in (RepositoryComponent, Release, PipelineRun)
        )
    )
    async with sessions() as session:
        rows = (await (await session.connection()).execute(query)).all()
    found: dict[tuple[str, str], int | None] = {}
    for host, name, installation in rows:
        if not name or (provider is not None and host != provider):
            continue
        if repository is not None and name != repository:
            continue
        seen = found.get((host, name))
        found[(host, name)] = max((i for i in (seen, installation) if i is not None), default=None)
    return [KnownRepository(host, name, found[(host, name)]) for host, name in sorted(found)]


async def _refresh(services: Services, known: KnownRepository) -> Refreshed:
    try:
        config = await read_config(
            services,
            services.providers(known.provider, known.installation_id),
            known.provider,
            Repo(known.repository),
            default_branch=None,
            installation_id=known.installation_id,
        )
    except ConfigError as error:
        return Refreshed(known, problem=f"its .shipyard.yml is invalid: {error.summary}")
    except NotConfigured as error:
        return Refreshed(known, problem=error.detail)
    except (ProviderError, ValueError) as error:
        return Refreshed(known, problem=str(error))
    if config is None:
        return Refreshed(known)
    return Refreshed(known, components=components_of(config))


async def refresh_components(services: Services) -> list[Refreshed]:
    """Read every known repository's config again at its default branch: the index is
    rewritten for each one read (emptied for one with no .shipyard.yml)."""
    images.forget_known()
    return [
        await _refresh(services, known) for known in await known_repositories(services.sessions)
    ]
