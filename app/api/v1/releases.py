"""`/releases`: create a release from CI (201; the same again 200; other content under its
name 409 saying what differs), list a repository's releases newest first, read one."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic.config import JsonDict
from starlette.requests import Request
from starlette.responses import Response

from app.accounts import Permission
from app.api.v1.auth import caller_of, require_repository, services_of
from app.api.v1.components import declared_by
from app.api.v1.errors import ApiError, NotFound, Unprocessable
from app.api.v1.models import ApiModel, Commit, Digest, Line, TestResults
from app.api.v1.operations import Operation, json_response, read_body, read_query
from app.api.v1.scope import repository_of, scoped_page
from app.db.models.base import as_utc
from app.db.models.releases import Release, ReleaseState
from app.releases import store
from app.releases.config import ReleasesConfig
from app.releases.links import host_links
from app.releases.model import Creator, ReleaseDraft
from app.releases.service import create_release
from app.releases.sources import PlanError, draft_for_commit
from app.services import Services

__all__ = ["ReleaseOut", "created_release", "operations", "release_out"]

CREATE = Permission("releases", "create")
READ = Permission("releases", "read")
SEED_EXAMPLE: JsonDict = {
    "name": "myapp-v1.2.0",
    "components": [{"componentId": "web", "digest": "sha256:" + "ab" * 32}],
    "sourceRef": {
        "type": "git",
        "repository": "https://github.com/myorg/myapp",
        "commit": "abc123def456",
        "tag": "v1.2.0",
        "branch": "main",
    },
    "metadata": {
        "buildId": "12345",
        "buildUrl": "https://ci.example.com/builds/12345",
        "triggeredBy": "ci-pipeline",
    },
}


class ComponentDigest(ApiModel):
    component_id: Line = Field(max_length=100, description="The component's name in the config")
    digest: Digest


class SourceRefIn(ApiModel):
    type: Literal["git"] = "git"
    repository: Line = Field(
        max_length=500, description="The repository's URL, as CI has it (https or git@)"
    )
    commit: Commit | None = None
    tag: Line | None = Field(None, max_length=255)
    branch: Line | None = Field(None, max_length=255)


class ReleaseMetadata(ApiModel):
    build_id: Line | None = Field(None, max_length=200)
    build_url: Line | None = Field(None, max_length=2000)
    triggered_by: Line | None = Field(None, max_length=200)
    test_results: TestResults | None = None


class ReleaseCreate(ApiModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SEED_EXAMPLE]})

    name: Line | None = Field(
        None, max_length=200, description="Default: the config's releases.name, else the tag"
    )
    components: list[ComponentDigest] = Field(default_factory=list, max_length=100)
    source_ref: SourceRefIn
    metadata: ReleaseMetadata = ReleaseMetadata()

    @model_validator(mode="after")
    def _each_component_once(self) -> ReleaseCreate:
        names = [component.component_id for component in self.components]
        if len(set(names)) != len(names):
            raise ValueError("each componentId may be given once")
        return self


class ComponentOut(ApiModel):
    name: str
    image: str
    digest: str | None = Field(description="None while it is resolved from the registry")
    tag: str | None


class SourceOut(ApiModel):
    provider: str
    repository: str
    commit: str | None
    tag: str | None
    branch: str | None
    url: str | None


class MetadataOut(ApiModel):
    model_config = ConfigDict(extra="ignore")

    build_id: str | None = None
    build_url: str | None = None
    triggered_by: str | None = None
    test_results: TestResults | None = None


class CreatorOut(ApiModel):
    kind: str = Field(description="delivery, service_account or cli")
    name: str


class ReleaseOut(ApiModel):
    id: int
    name: str
    version: str
    state: Literal["resolving", "ready", "failed"]
    error: str | None
    source: SourceOut
    components: list[ComponentOut]
    metadata: MetadataOut
    created_by: CreatorOut
    created_at: datetime
    commits: list[str] = Field(description="The commits since the previous release, capped")
    commits_more: int
    previous_id: int | None


class ReleasePage(ApiModel):
    items: list[ReleaseOut]
    next_cursor: str | None = Field(description="Give it as `cursor` for the next page")


class ReleaseQuery(ApiModel):
    repository: Line | None = Field(
        None,
        max_length=500,
        description="A repository URL, provider:owner/name, or owner/name on any host",
    )
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, pattern=r"^[0-9]{1,10}$")


def release_out(release: Release) -> ReleaseOut:
    assert release.id is not None
    return ReleaseOut(
        id=release.id,
        name=release.name,
        version=release.version,
        state=ReleaseState(release.state).value,
        error=release.error,
        source=SourceOut(
            provider=release.provider,
            repository=release.repository,
            commit=release.commit_sha,
            tag=release.tag,
            branch=release.branch,
            url=release.source_url,
        ),
        components=[
            ComponentOut(name=c["name"], image=c["image"], digest=c.get("digest"), tag=c.get("tag"))
            for c in release.components
        ],
        metadata=MetadataOut.model_validate(release.build),
        created_by=CreatorOut(kind=release.created_by_kind, name=release.created_by),
        created_at=as_utc(release.created_at),
        commits=release.commits,
        commits_more=release.commits_more,
        previous_id=release.previous_id,
    )


async def create(request: Request) -> Response:
    services = services_of(request)
    caller = await caller_of(request, CREATE)
    body = await read_body(request, ReleaseCreate)
    source = body.source_ref
    provider, repository = repository_of(services, source.repository, "body.sourceRef.repository")
    require_repository(caller, provider, repository)
    declared = await declared_by(services, provider, repository, need_config=body.name is None)
    for index, component in enumerate(body.components):
        if component.component_id not in declared.components:
            names = ", ".join(sorted(declared.components)) or "none are declared"
            raise Unprocessable(
                f"body.components[{index}].componentId",
                f"{component.component_id!r} is not a component of {provider}:{repository} "
                f"(its .shipyard.yml components: {names})",
                code="unknown_component",
            )
    metadata = body.metadata.model_dump(exclude_none=True)
    links = host_links(services.settings, provider, repository)
    try:
        draft = draft_for_commit(
            provider=provider,
            repository=repository,
            components=declared.components,
            config=declared.releases or ReleasesConfig(),
            creator=Creator(kind="service_account", name=caller.name),
            commit=source.commit,
            tag=source.tag,
            branch=source.branch,
            url=links.tag(source.tag) if source.tag else links.commit(source.commit),
            name=body.name,
            digests={c.component_id: c.digest for c in body.components},
            metadata=metadata or {"triggered_by": f"service account {caller.name}"},
            installation_id=declared.installation_id,
        )
    except PlanError as error:
        raise Unprocessable("body", str(error), code="not_releasable") from None
    stored = await created_release(services, draft)
    return json_response(release_out(stored.release), 201 if stored.created else 200)


async def created_release(services: Services, draft: ReleaseDraft) -> store.Stored:
    """The release created (or the same one found); 409 with the differences when its name is
    taken by other content."""
    try:
        return await create_release(services, draft)
    except store.Conflict as conflict:
        raise ApiError(
            409,
            "release_conflict",
            f"release {conflict.release.name!r} (id {conflict.release.id}) of "
            f"{draft.source.provider}:{draft.source.repository} exists with other content; "
            "give it another name",
            differences=conflict.differences,
        ) from None


async def show(request: Request) -> Response:
    services = services_of(request)
    caller = await caller_of(request, READ)
    release = await store.get_release(services.sessions, request.path_params["releaseId"])
    if release is None:
        raise NotFound(f"no release has the id {request.path_params['releaseId']}")
    require_repository(caller, release.provider, release.repository)
    return json_response(release_out(release))


async def index(request: Request) -> Response:
    services = services_of(request)
    caller = await caller_of(request, READ)
    query = read_query(request, ReleaseQuery)
    page = await scoped_page(
        services,
        caller,
        lambda provider, repository, before_id, limit: store.list_releases(
            services.sessions,
            provider=provider,
            repository=repository,
            before_id=before_id,
            limit=limit,
        ),
        repository=query.repository,
        cursor=query.cursor,
        limit=query.limit,
    )
    items = [release_out(r) for r in page.items]
    return json_response(ReleasePage(items=items, next_cursor=page.next_cursor))


operations = [
    Operation(
        "POST",
        "/releases",
        "createRelease",
        "Create a release",
        create,
        {
            201: ("The release, created", ReleaseOut),
            200: ("The same release existed already", ReleaseOut),
        },
        tag="releases",
        body=ReleaseCreate,
        example=SEED_EXAMPLE,
        errors={
            409: "A release of that name exists with other content; `differences` says how",
            502: "The Git host did not answer when the repository's config was read",
        },
        description="Components the body does not give are resolved from the registry at "
        "their `tag:` for the commit.",
    ),
    Operation(
        "GET",
        "/releases",
        "listReleases",
        "List releases, newest first",
        index,
        {200: ("A page of releases", ReleasePage)},
        tag="releases",
        query=ReleaseQuery,
    ),
    Operation(
        "GET",
        "/releases/{releaseId}",
        "getRelease",
        "Read one release",
        show,
        {200: ("The release", ReleaseOut)},
        tag="releases",
        path_ids=("releaseId",),
    ),
]
