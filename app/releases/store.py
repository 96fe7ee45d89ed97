"""Releases in the database: created once per name (a unique index decides, never a read
first), read newest first, and moved from resolving to ready or failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import col, select

from app.db.engine import SessionFactory
from app.db.inserts import insert_new
from app.db.models.base import utcnow
from app.db.models.releases import MOVES, Release, ReleaseState
from app.releases.model import ReleaseDraft, differences

__all__ = [
    "Conflict",
    "Stored",
    "claim_finishing",
    "find_release",
    "get_release",
    "insert_release",
    "list_releases",
    "move_release",
    "previous_release",
    "record_announcement",
    "release_of_commit",
    "set_next_try",
    "unfinished_releases",
]

_TABLE = Release.__table__  # type: ignore[attr-defined]
_INSERT = insert_new(_TABLE)

_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


@dataclass(frozen=True)
class Stored:
    release: Release
    created: bool  # False: the same release existed already


class Conflict(Exception):
    """A release of that name exists with other content; `differences` says how."""

    def __init__(self, release: Release, found: list[str]) -> None:
        self.release, self.differences = release, found
        super().__init__(
            f"release {release.name!r} already exists with other content: " + "; ".join(found)
        )


def row_of(
    draft: ReleaseDraft, *, state: ReleaseState, wait_until: datetime | None
) -> dict[str, Any]:
    source = draft.source
    return {
        "provider": source.provider,
        "repository": source.repository,
        "name": draft.name,
        "version": draft.version,
        "state": state.value,
        "commit_sha": source.commit,
        "tag": source.tag,
        "branch": source.branch,
        "source_url": source.url,
        "components": [component.model_dump() for component in draft.components],
        "metadata": dict(draft.metadata),
        "created_by_kind": draft.creator.kind,
        "created_by": draft.creator.name[:200],
        "delivery_pk": draft.creator.delivery_pk,
        "installation_id": draft.installation_id,
        "commits": [],
        "commits_more": 0,
        "announced": False,
        "created_at": utcnow(),
        "wait_until": wait_until,
    }


async def insert_release(
    sessions: SessionFactory,
    draft: ReleaseDraft,
    *,
    state: ReleaseState,
    wait_until: datetime | None = None,
) -> Stored:
    """The release `draft` names: created now, or the one that exists with the same content.
    Conflict when one exists with other content. Safe under concurrent requests: the unique
    index on (provider, repository, name) lets one insert win; the others read it."""
    async with sessions() as session:
        # One statement, no transaction around it (no BEGIN and COMMIT round trips); the values
        # as parameters, not .values(), so the statement stays one cached compilation.
        connection = await session.connection(execution_options=_AUTOCOMMIT)
        result = await connection.execute(
            _INSERT[connection.dialect.name], row_of(draft, state=state, wait_until=wait_until)
        )
        inserted = result.first()
    source = draft.source
    if inserted is not None:  # the row as stored, from RETURNING: no second read
        values = dict(inserted._mapping)
        values["build"] = values.pop("metadata")
        return Stored(Release(**values), created=True)
    existing = await find_release(sessions, source.provider, source.repository, draft.name)
    assert existing is not None, "a release that blocked an insert is gone"
    found = differences(
        version=existing.version,
        commit=existing.commit_sha,
        components=existing.components,
        draft=draft,
    )
    if found:
        raise Conflict(existing, found)
    return Stored(existing, created=False)


async def get_release(sessions: SessionFactory, release_id: int) -> Release | None:
    async with sessions() as session:
        return await session.get(Release, release_id)


async def find_release(
    sessions: SessionFactory, provider: str, repository: str, name: str
) -> Release | None:
    async with sessions() as session:
        query = select(Release).where(
            Release.provider == provider, Release.repository == repository, Release.name == name
        )
        return (await session.exec(query)).first()


async def release_of_commit(
    sessions: SessionFactory, provider: str, repository: str, commit: str
) -> Release | None:
    """The newest release of the repository that pins `commit` (a full sha), if any."""
    async with sessions() as session:
        query = (
            select(Release)
            .where(
                Release.provider == provider,
                Release.repository == repository,
                Release.commit_sha == commit.lower(),
            )
            .order_by(col(Release.id).desc())
        )
        return (await session.exec(query)).first()


async def list_releases(
    sessions: SessionFactory,
    *,
    provider: str | None = None,
    repository: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Release]:
    """Newest first; `before_id` continues a page (the cursor is the last id seen)."""
    query = select(Release).order_by(col(Release.id).desc()).limit(limit)
    if provider is not None:
        query = query.where(Release.provider == provider)
    if repository is not None:
        query = query.where(Release.repository == repository)
    if before_id is not None:
        query = query.where(col(Release.id) < before_id)
    async with sessions() as session:
        return list((await session.exec(query)).all())


async def previous_release(sessions: SessionFactory, release: Release) -> Release | None:
    """The repository's newest ready release with a commit, made before `release`."""
    query = (
        select(Release)
        .where(
            Release.provider == release.provider,
            Release.repository == release.repository,
            col(Release.id) < (release.id or 0),
            Release.state == ReleaseState.READY,
            col(Release.commit_sha).is_not(None),
        )
        .order_by(col(Release.id).desc())
        .limit(1)
    )
    async with sessions() as session:
        return (await session.exec(query)).first()


async def move_release(
    sessions: SessionFactory,
    release_id: int,
    to: ReleaseState,
    *,
    components: list[dict[str, Any]] | None = None,
    error: str | None = None,
) -> bool:
    """Resolving → ready (with its resolved components) or failed (with why). False if the
    release was not resolving any more (another attempt finished it)."""
    sources = MOVES.sources(to)
    values: dict[str, Any] = {"state": to.value}
    if components is not None:
        values["components"] = components
    if error is not None:
        values["error"] = error
    async with sessions() as session:
        result = await session.exec(
            update(Release)
            .where(col(Release.id) == release_id, col(Release.state).in_(sources))
            .values(**values)
        )
        await session.commit()
        return bool(result.rowcount)


async def record_announcement(
    sessions: SessionFactory,
    release_id: int,
    *,
    previous_id: int | None,
    commits: list[str],
    more: int,
) -> None:
    async with sessions() as session:
        await session.exec(
            update(Release)
            .where(col(Release.id) == release_id)
            .values(announced=True, previous_id=previous_id, commits=commits, commits_more=more)
        )
        await session.commit()


async def claim_finishing(sessions: SessionFactory, release_id: int, *, lease: timedelta) -> bool:
    """Take the release's finishing for `lease`: one conditional UPDATE of its next try, so of
    two jobs for one release (the one that made it and the one recovery hands over at a
    worker's start) one goes on. False when it is announced, another job holds it, or its
    deferred retry is not due yet (that retry will come)."""
    now = utcnow()
    async with sessions() as session:
        result = await session.exec(
            update(Release)
            .where(
                col(Release.id) == release_id,
                ~col(Release.announced),
                or_(col(Release.next_try_at).is_(None), col(Release.next_try_at) <= now),
            )
            .values(next_try_at=now + lease)
        )
        await session.commit()
        return bool(result.rowcount)


async def set_next_try(sessions: SessionFactory, release_id: int, at: datetime) -> None:
    async with sessions() as session:
        await session.exec(
            update(Release).where(col(Release.id) == release_id).values(next_try_at=at)
        )
        await session.commit()


async def unfinished_releases(
    sessions: SessionFactory, *, due_before: datetime | None = None, limit: int = 500
) -> list[int]:
    """Releases not yet announced on the host (resolving or not); with `due_before`, only
    those whose next try (or creation) is older than that: work the queue lost."""
    query = select(Release.id).where(~col(Release.announced))
    if due_before is not None:
        query = query.where(
            func.coalesce(col(Release.next_try_at), col(Release.created_at)) < due_before
        )
    query = query.order_by(col(Release.id)).limit(limit)
    async with sessions() as session:
        return [int(i) for i in (await session.exec(query)).all() if i is not None]
