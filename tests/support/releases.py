"""Releases to look at: rows written straight into the database (a page or a command is what
the test is about, not how the release was made), and digests that look like a registry's."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from typing import Any

from app.db.engine import SessionFactory, create_engine, session_factory
from app.db.models.releases import Release
from app.settings import Settings


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def sha_of(text: str) -> str:
    """A commit sha (40 hex) made from `text`."""
    return hashlib.sha256(text.encode()).hexdigest()[:40]


async def add_release(
    sessions: SessionFactory,
    name: str = "v1.0.0",
    *,
    provider: str = "github",
    repository: str = "acme/web",
    **values: Any,
) -> int:
    values.setdefault("version", name.removeprefix("v"))
    values.setdefault("created_by_kind", "cli")
    values.setdefault("created_by", "alice")
    release = Release(provider=provider, repository=repository, name=name, **values)
    async with sessions() as session:
        session.add(release)
        await session.commit()
        await session.refresh(release)
    assert release.id is not None
    return release.id


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[SessionFactory]:
    """Sessions on the settings' database, for a test that runs the command line beside it."""
    engine = create_engine(settings)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()
