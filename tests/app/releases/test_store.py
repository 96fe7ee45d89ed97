"""Releases in the database: one per name, whoever asks and however often at once; the same
content is the same release, other content a conflict that says what differs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from app.db.engine import SessionFactory, create_engine, session_factory
from app.db.models.base import utcnow
from app.db.models.releases import ReleaseState
from app.releases import store
from app.releases.model import ComponentPin, Creator, ReleaseDraft, SourceRef
from app.settings import Settings

WEB = "registry.example.com/acme/web"
DIGEST = "sha256:" + "1" * 64


def _draft(
    name: str = "v1", *, digest: str | None = DIGEST, commit: str = "c" * 40, by: str = "ci"
) -> ReleaseDraft:
    return ReleaseDraft(
        name=name,
        version=name.lstrip("v"),
        source=SourceRef(provider="github", repository="acme/web", commit=commit, tag=name),
        components=(ComponentPin(name="web", image=WEB, digest=digest, tag=name),),
        metadata={"build_id": by},
        creator=Creator(kind="service_account", name=by),
    )


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[SessionFactory]:
    engine = create_engine(settings)
    yield session_factory(engine)
    await engine.dispose()


async def test_the_same_release_twice_is_one_release(sessions: SessionFactory) -> None:
    first = await store.insert_release(sessions, _draft(), state=ReleaseState.READY)
    again = await store.insert_release(sessions, _draft(by="other"), state=ReleaseState.READY)
    assert first.created
    assert not again.created
    assert again.release.id == first.release.id
    assert again.release.build == {"build_id": "ci"}  # the first creator is kept
    assert again.release.created_by == "ci"


async def test_other_content_under_the_same_name_is_a_conflict(sessions: SessionFactory) -> None:
    await store.insert_release(sessions, _draft(), state=ReleaseState.READY)
    other = _draft(digest="sha256:" + "2" * 64, commit="d" * 40)
    with pytest.raises(store.Conflict) as conflict:
        await store.insert_release(sessions, other, state=ReleaseState.READY)
    assert conflict.value.differences == [
        f"commit is {'c' * 40}, not {'d' * 40}",
        f"component 'web' digest is {DIGEST}, not sha256:{'2' * 64}",
    ]


async def test_a_draft_still_to_resolve_matches_the_resolved_release(
    sessions: SessionFactory,
) -> None:
    """A host release arriving after the tag push resolved its digests is the same release."""
    await store.insert_release(sessions, _draft(), state=ReleaseState.READY)
    same = await store.insert_release(sessions, _draft(digest=None), state=ReleaseState.RESOLVING)
    assert not same.created
    assert same.release.state == ReleaseState.READY


async def test_concurrent_creations_make_one(sessions: SessionFactory) -> None:
    results = await asyncio.gather(
        *(
            store.insert_release(sessions, _draft(by=f"ci-{n}"), state=ReleaseState.READY)
            for n in range(8)
        )
    )
    assert sum(result.created for result in results) == 1
    assert len({result.release.id for result in results}) == 1
    assert len(await store.list_releases(sessions, repository="acme/web")) == 1


async def test_newest_first_with_a_cursor(sessions: SessionFactory) -> None:
    for n in range(5):
        await store.insert_release(sessions, _draft(f"v{n}"), state=ReleaseState.READY)
    page = await store.list_releases(sessions, repository="acme/web", limit=2)
    assert [r.name for r in page] == ["v4", "v3"]
    rest = await store.list_releases(sessions, repository="acme/web", before_id=page[-1].id)
    assert [r.name for r in rest] == ["v2", "v1", "v0"]
    assert await store.list_releases(sessions, repository="acme/api") == []


async def test_a_release_moves_once(sessions: SessionFactory) -> None:
    stored = await store.insert_release(sessions, _draft(digest=None), state=ReleaseState.RESOLVING)
    release_id = stored.release.id or 0
    resolved = [{"name": "web", "image": WEB, "tag": "v1", "digest": DIGEST}]
    assert await store.move_release(sessions, release_id, ReleaseState.READY, components=resolved)
    assert not await store.move_release(sessions, release_id, ReleaseState.FAILED, error="late")
    release = await store.get_release(sessions, release_id)
    assert release is not None
    assert (release.state, release.components, release.error) == ("ready", resolved, None)


async def test_previous_release_and_what_recovery_finds(sessions: SessionFactory) -> None:
    one = (await store.insert_release(sessions, _draft("v1"), state=ReleaseState.READY)).release
    two = (await store.insert_release(sessions, _draft("v2"), state=ReleaseState.READY)).release
    previous = await store.previous_release(sessions, two)
    assert previous is not None
    assert previous.id == one.id
    assert await store.previous_release(sessions, one) is None
    assert await store.unfinished_releases(sessions) == [one.id, two.id]
    await store.record_announcement(sessions, one.id or 0, previous_id=None, commits=[], more=0)
    assert await store.unfinished_releases(sessions) == [two.id]
    soon = utcnow() - timedelta(seconds=60)
    assert await store.unfinished_releases(sessions, due_before=soon) == []  # not overdue yet
