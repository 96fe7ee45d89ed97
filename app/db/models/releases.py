"""The releases feature's tables: releases, the image → repository index and the CI builds
reported through the API. (Registries are `docker-registry` integrations.)"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Text,
    UniqueConstraint,
    false,
)
from sqlmodel import Field, SQLModel

from app.db.models.base import utcnow
from app.work.states import Transitions

__all__ = [
    "MOVES",
    "CiBuild",
    "Release",
    "ReleaseState",
    "RepositoryComponent",
]


class ReleaseState(StrEnum):
    RESOLVING = "resolving"  # some component's digest is still to be read from its registry
    READY = "ready"
    FAILED = "failed"  # a digest could not be resolved; `error` says which


MOVES: Transitions[ReleaseState] = Transitions(
    {ReleaseState.RESOLVING: [ReleaseState.READY, ReleaseState.FAILED]}
)


def _when(nullable: bool = False) -> Any:
    return Column(DateTime(timezone=True), nullable=nullable)


class Release(SQLModel, table=True):
    """An immutable, named set of component digests and the source they came from."""

    __tablename__ = "releases"
    __table_args__ = (
        UniqueConstraint("provider", "repository", "name", name="uq_releases_repository_name"),
        Index("ix_releases_repository_id", "provider", "repository", "id"),
        Index("ix_releases_state", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=16)
    repository: str = Field(max_length=300)
    name: str = Field(max_length=200)
    version: str = Field(max_length=200)
    state: str = Field(default=ReleaseState.READY, max_length=16)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    commit_sha: str | None = Field(default=None, max_length=64)
    tag: str | None = Field(default=None, max_length=255)
    branch: str | None = Field(default=None, max_length=255)
    source_url: str | None = Field(default=None, max_length=2000)
    components: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # `metadata` is SQLAlchemy's own attribute name: the column is, the attribute is not.
    build: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JSON, nullable=False)
    )
    created_by_kind: str = Field(max_length=32)
    created_by: str = Field(max_length=200)
    delivery_pk: int | None = None
    installation_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    # The commits since the previous release of the repository (shas, newest last), capped.
    commits: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    commits_more: int = 0  # how many more the comparison had than are kept
    previous_id: int | None = None
    announced: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    wait_until: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    next_try_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class RepositoryComponent(SQLModel, table=True):
    """A component a repository's config declares: which repositories an image push is for.
    Rewritten whenever Shipyard reads that repository's config."""

    __tablename__ = "repository_components"
    __table_args__ = (
        UniqueConstraint(
            "provider", "repository", "component", name="uq_repository_components_component"
        ),
        Index("ix_repository_components_image", "image"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=16)
    repository: str = Field(max_length=300)
    component: str = Field(max_length=100)
    image: str = Field(max_length=500)
    tag_template: str = Field(max_length=500)
    installation_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class CiBuild(SQLModel, table=True):
    """A CI build a pipeline reported (`POST /api/v1/ci-events/build-complete`)."""

    __tablename__ = "ci_builds"
    __table_args__ = (
        UniqueConstraint("provider", "repository", "build_id", name="uq_ci_builds_build"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=16)
    repository: str = Field(max_length=300)
    build_id: str = Field(max_length=200)
    integration_id: str | None = Field(default=None, max_length=200)
    status: str = Field(max_length=32)
    commit_sha: str | None = Field(default=None, max_length=64)
    branch: str | None = Field(default=None, max_length=255)
    build_url: str | None = Field(default=None, max_length=2000)
    artifacts: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    test_results: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reported_by: str = Field(max_length=200)
    release_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())
