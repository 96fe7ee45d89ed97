"""`/ci-events/build-complete`: a CI build reported, recorded once per build id; a successful
one makes the release where the repository's `releases.from:` has a matching `ci:` rule,
its artifacts pinning the components they built (app.releases.builds)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic.config import JsonDict
from starlette.requests import Request
from starlette.responses import Response

from app.accounts import Caller, Permission
from app.api.v1.auth import caller_of, require_repository, services_of
from app.api.v1.components import declared_by
from app.api.v1.errors import ApiError, Unprocessable
from app.api.v1.models import ApiModel, Commit, Digest, Line, TestResults
from app.api.v1.operations import Operation, json_response, read_body
from app.api.v1.releases import ReleaseOut, created_release, release_out
from app.api.v1.scope import repository_of, require_allowed
from app.db.models.releases import CiBuild, Release
from app.pipelines.triggers import normalise_pipeline_status
from app.releases import builds, images, store
from app.releases.config import ReleasesConfig
from app.releases.links import host_links
from app.releases.model import Creator
from app.releases.sources import PlanError, draft_for_commit
from app.services import Services

__all__ = ["operations"]

CREATE = Permission("builds", "create")
Status = Literal["success", "failed", "failure", "error", "timed_out", "cancelled", "canceled"]


class ArtifactIn(ApiModel):
    name: Line = Field(max_length=100, description="The component it built, by name")
    digest: Digest
    repository: Line = Field(
        max_length=500, description="The image's repository: registry.example.com/acme/web"
    )


EXAMPLE: JsonDict = {
    "buildId": "4711",
    "status": "success",
    "commit": "abc123def456",
    "branch": "main",
    "repository": "https://github.com/myorg/myapp",
    "artifacts": [
        {
            "name": "web",
            "digest": "sha256:" + "cd" * 32,
            "repository": "registry.example.com/myorg/web",
        }
    ],
    "testResults": {"passed": 120, "failed": 0, "skipped": 3},
}


class BuildComplete(ApiModel):
    model_config = ApiModel.model_config | {"json_schema_extra": {"examples": [EXAMPLE]}}

    integration_id: Line | None = Field(None, max_length=200)
    build_id: Line = Field(max_length=200)
    status: Status
    commit: Commit
    branch: Line | None = Field(None, max_length=255)
    repository: Line | None = Field(
        None,
        max_length=500,
        description="The repository's URL; default: the one whose config declares the "
        "artifacts' images",
    )
    build_url: Line | None = Field(None, max_length=2000)
    artifacts: list[ArtifactIn] = Field(default_factory=list, max_length=100)
    test_results: TestResults | None = None


class BuildOut(ApiModel):
    id: int
    build_id: str
    provider: str
    repository: str
    status: str
    commit: str | None
    branch: str | None
    release_id: int | None
    release: ReleaseOut | None = Field(description="The release the build made, if any")
    note: str | None = Field(None, description="Why the build made no release")


async def _repository(services: Services, body: BuildComplete) -> tuple[str, str]:
    if body.repository is not None:
        return repository_of(services, body.repository, "body.repository")
    found: set[tuple[str, str]] = set()
    for artifact in body.artifacts:
        for declared in await images.repositories_for_image(services.sessions, artifact.repository):
            found.add((declared.provider, declared.repository))
    if len(found) != 1:
        listed = ", ".join(f"{p}:{r}" for p, r in sorted(found))
        why = (
            f"the artifacts' images are declared by {listed}"
            if found
            else ("no repository Shipyard knows declares the artifacts' images")
        )
        raise Unprocessable("body.repository", f"give the repository's URL: {why}")
    provider, repository = found.pop()
    require_allowed(services, provider, repository)
    return provider, repository


async def build_complete(request: Request) -> Response:
    services = services_of(request)
    caller = await caller_of(request, CREATE)
    body = await read_body(request, BuildComplete)
    provider, repository = await _repository(services, body)
    require_repository(caller, provider, repository)
    report = builds.BuildReport(
        provider=provider,
        repository=repository,
        build_id=body.build_id,
        status=normalise_pipeline_status(body.status) or body.status,
        commit=body.commit,
        reported_by=caller.name,
        branch=body.branch,
        build_url=body.build_url,
        integration_id=body.integration_id,
        artifacts=tuple(builds.Artifact(a.name, a.digest, a.repository) for a in body.artifacts),
        test_results=body.test_results.model_dump() if body.test_results else None,
    )
    existing = await builds.find_build(services.sessions, provider, repository, body.build_id)
    if existing is not None:
        return await _again(services, existing, report)
    release, note = None, None
    if report.status == "success":
        release, note = await _release_of(services, caller, report)
    else:
        note = f"a {report.status} build makes no release"
    build, created = await builds.record_build(
        services.sessions, report, release.id if release else None
    )
    return json_response(await _out(services, build, note), 201 if created else 200)


async def _again(services: Services, build: CiBuild, report: builds.BuildReport) -> Response:
    found = builds.build_differences(build, report)
    if found:
        raise ApiError(
            409,
            "build_conflict",
            f"build {report.build_id!r} of {report.provider}:{report.repository} was reported "
            "already with other content",
            differences=found,
        )
    return json_response(await _out(services, build, None))


async def _release_of(
    services: Services, caller: Caller, report: builds.BuildReport
) -> tuple[Release | None, str | None]:
    declared = await declared_by(services, report.provider, report.repository, need_config=True)
    config = declared.releases or ReleasesConfig()
    if not builds.ci_rule_matches(config, report.status, report.branch):
        branch = f" on {report.branch}" if report.branch else ""
        return None, f"no `releases.from: ci` rule matches a {report.status} build{branch}"
    metadata = {
        "build_id": report.build_id,
        "build_url": report.build_url,
        "triggered_by": report.integration_id or f"service account {caller.name}",
        "test_results": dict(report.test_results) if report.test_results else None,
    }
    try:
        draft = draft_for_commit(
            provider=report.provider,
            repository=report.repository,
            components=declared.components,
            config=config,
            creator=Creator(kind="service_account", name=caller.name),
            commit=report.commit,
            branch=report.branch,
            url=host_links(services.settings, report.provider, report.repository).commit(
                report.commit
            ),
            digests=builds.digests_of_artifacts(declared.components, report.artifacts),
            metadata={key: value for key, value in metadata.items() if value is not None},
            installation_id=declared.installation_id,
        )
    except PlanError as error:
        raise Unprocessable("body", str(error), code="not_releasable") from None
    stored = await created_release(services, draft)
    return stored.release, None


async def _out(services: Services, build: CiBuild, note: str | None) -> BuildOut:
    assert build.id is not None
    release = None
    if build.release_id is not None:
        release = await store.get_release(services.sessions, build.release_id)
    return BuildOut(
        id=build.id,
        build_id=build.build_id,
        provider=build.provider,
        repository=build.repository,
        status=build.status,
        commit=build.commit_sha,
        branch=build.branch,
        release_id=build.release_id,
        release=release_out(release) if release is not None else None,
        note=note,
    )


operations = [
    Operation(
        "POST",
        "/ci-events/build-complete",
        "reportBuild",
        "Report a finished CI build",
        build_complete,
        {
            201: ("The build, recorded (with the release it made)", BuildOut),
            200: ("The same build was reported already", BuildOut),
        },
        tag="ci-events",
        body=BuildComplete,
        example=EXAMPLE,
        errors={
            409: "The build id was reported with other content, or its release name is taken",
            502: "The Git host did not answer when the repository's config was read",
        },
    ),
]
