"""The image → repository index: which repositories declare an image as a component, so a
registry push finds the releases it makes. Rewritten whenever Shipyard reads a repository's
config (`remember_components`); `shipyard components refresh` rebuilds it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import col, delete, select

from app.db.engine import SessionFactory
from app.db.models.base import utcnow
from app.db.models.releases import RepositoryComponent
from app.releases.config import ComponentSpec
from app.releases.sources import image_matches

__all__ = ["Declared", "components_of_repository", "remember_components", "repositories_for_image"]

_Key = tuple[str, str]
_Shape = tuple[tuple[tuple[str, str, str], ...], int | None]
# What this process last wrote per repository, and when: a write is skipped while the same
# shape was written less than KNOWN_SECONDS ago (another process may have written since).
KNOWN_SECONDS = 300.0
_known: dict[_Key, tuple[_Shape, float]] = {}


@dataclass(frozen=True)
class Declared:
    provider: str
    repository: str
    component: str
    image: str
    tag_template: str
    installation_id: int | None


async def remember_components(
    sessions: SessionFactory,
    provider: str,
    repository: str,
    components: Mapping[str, ComponentSpec],
    installation_id: int | None,
) -> bool:
    """Record what `repository` declares now; False (and no write) when this process recorded
    the same within the last KNOWN_SECONDS."""
    key = (provider, repository)
    declared = tuple(sorted((name, spec.image, spec.tag) for name, spec in components.items()))
    shape: _Shape = (declared, installation_id)
    known = _known.get(key)
    if known is not None and known[0] == shape and time.monotonic() - known[1] < KNOWN_SECONDS:
        return False
    async with sessions() as session:
        await session.exec(
            delete(RepositoryComponent).where(
                col(RepositoryComponent.provider) == provider,
                col(RepositoryComponent.repository) == repository,
            )
        )
        for name, image, tag in declared:
            session.add(
                RepositoryComponent(
                    provider=provider,
                    repository=repository,
                    component=name,
                    image=image,
                    tag_template=tag,
                    installation_id=installation_id,
                    updated_at=utcnow(),
                )
            )
        await session.commit()
    _known[key] = (shape, time.monotonic())
    return True


def _declared(row: RepositoryComponent) -> Declared:
    return Declared(
        row.provider,
        row.repository,
        row.component,
        row.image,
        row.tag_template,
        row.installation_id,
    )


async def repositories_for_image(sessions: SessionFactory, image: str) -> list[Declared]:
    """The components, in any repository, whose image is `image` (`host/name`)."""
    tail = image.rsplit("/", 1)[-1]
    query = select(RepositoryComponent).where(col(RepositoryComponent.image).endswith(tail))
    async with sessions() as session:
        rows = (await session.exec(query)).all()
    return [_declared(row) for row in rows if image_matches(row.image, image)]


async def components_of_repository(
    sessions: SessionFactory, provider: str, repository: str
) -> list[Declared]:
    query = select(RepositoryComponent).where(
        RepositoryComponent.provider == provider, RepositoryComponent.repository == repository
    )
    async with sessions() as session:
        return [_declared(row) for row in (await session.exec(query)).all()]


def forget_known() -> None:
    """Forget what this process recorded (tests; a rebuild)."""
    _known.clear()
