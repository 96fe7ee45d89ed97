"""CI builds reported through the API (`POST /api/v1/ci-events/build-complete`): recorded once
per build id and repository (a unique index decides), and which release a build makes.

A successful build makes a release where the repository's `releases.from:` has a `ci:` rule
whose statuses include success and whose `branches` (when given) match the build's branch.
Its artifacts pin the components they built: an artifact is a component's when its `name` is
the component's name, or its `repository` is the component's image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from app.db.engine import SessionFactory
from app.db.inserts import insert_new
from app.db.models.base import utcnow
from app.db.models.releases import CiBuild
from app.globs import match_glob
from app.releases.config import ComponentSpec, ReleasesConfig
from app.releases.sources import image_matches

__all__ = [
    "Artifact",
    "BuildReport",
    "build_differences",
    "ci_rule_matches",
    "digests_of_artifacts",
    "find_build",
    "record_build",
]

_TABLE = CiBuild.__table__  # type: ignore[attr-defined]
_INSERT = insert_new(_TABLE, _TABLE.c.id)


@dataclass(frozen=True)
class Artifact:
    name: str
    digest: str
    repository: str  # the image's repository: registry.example.com/acme/web


@dataclass(frozen=True)
class BuildReport:
    provider: str
    repository: str
    build_id: str
    status: str  # success, failed or cancelled
    commit: str
    reported_by: str
    branch: str | None = None
    build_url: str | None = None
    integration_id: str | None = None
    artifacts: tuple[Artifact, ...] = ()
    test_results: Mapping[str, int] | None = None


def ci_rule_matches(config: ReleasesConfig, status: str, branch: str | None) -> bool:
    """Whether a build of `status` on `branch` makes a release under `releases.from:`."""
    for rule in config.from_:
        if rule.ci is None or status not in rule.ci.status:
            continue
        branches = rule.ci.branches
        if branches is None or (branch and any(match_glob(g, branch) for g in branches)):
            return True
    return False


def digests_of_artifacts(
    components: Mapping[str, ComponentSpec], artifacts: Sequence[Artifact]
) -> dict[str, str]:
    """Component name → the digest an artifact built for it (by name, else by image)."""
    digests: dict[str, str] = {}
    for name, spec in components.items():
        for artifact in artifacts:
            if artifact.name == name or image_matches(spec.image, artifact.repository):
                digests[name] = artifact.digest
                break
    return digests


def _row(report: BuildReport, release_id: int | None) -> dict[str, Any]:
    return {
        "provider": report.provider,
        "repository": report.repository,
        "build_id": report.build_id,
        "integration_id": report.integration_id,
        "status": report.status,
        "commit_sha": report.commit,
        "branch": report.branch,
        "build_url": report.build_url,
        "artifacts": [
            {"name": a.name, "digest": a.digest, "repository": a.repository}
            for a in report.artifacts
        ],
        "test_results": dict(report.test_results) if report.test_results is not None else None,
        "reported_by": report.reported_by[:200],
        "release_id": release_id,
        "created_at": utcnow(),
    }


async def find_build(
    sessions: SessionFactory, provider: str, repository: str, build_id: str
) -> CiBuild | None:
    query = select(CiBuild).where(
        CiBuild.provider == provider,
        CiBuild.repository == repository,
        CiBuild.build_id == build_id,
    )
    async with sessions() as session:
        return (await session.exec(query)).first()


async def record_build(
    sessions: SessionFactory, report: BuildReport, release_id: int | None
) -> tuple[CiBuild, bool]:
    """The build recorded (True), or the one recorded first under its id (False)."""
    async with sessions() as session:
        connection = await session.connection()
        statement = _INSERT[connection.dialect.name]
        inserted = await connection.execute(statement, _row(report, release_id))
        new_id = inserted.scalar_one_or_none()
        await session.commit()
    found = await find_build(sessions, report.provider, report.repository, report.build_id)
    assert found is not None, "a build that blocked an insert is gone"
    return found, new_id is not None


def build_differences(build: CiBuild, report: BuildReport) -> list[str]:
    """How a report differs from the build recorded under its id ([]: the same report)."""
    found = []
    if build.status != report.status:
        found.append(f"status is {build.status}, not {report.status}")
    if build.commit_sha != report.commit:
        found.append(f"commit is {build.commit_sha}, not {report.commit}")
    recorded = sorted((a["name"], a["digest"]) for a in build.artifacts)
    if recorded != sorted((a.name, a.digest) for a in report.artifacts):
        found.append("the artifacts differ")
    return found
