"""`/locks`: the environment locks held now, within the account's repositories, and forcing
one open (admin only), recorded as released by the account. Locks are taken from pull
requests (`/lock`); `app.environments.locks` keeps them, and the CLI's `shipyard locks` too."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from app.accounts import Permission
from app.api.v1.auth import caller_of, require_repository, services_of
from app.api.v1.errors import ApiError, Forbidden, NotFound
from app.api.v1.models import ApiModel, Line
from app.api.v1.operations import Operation, json_response, read_query
from app.api.v1.scope import repository_query
from app.db.models.base import as_utc, utcnow
from app.db.models.locks import DeploymentLock
from app.environments import locks
from app.environments.requesters import Requester

__all__ = ["LockOut", "lock_out", "operations"]

READ = Permission("deployments", "read")


class LockOut(ApiModel):
    id: int
    repository: str = Field(description="provider:owner/name")
    environment: str | None = Field(description="null: a lock on every environment")
    holder: str = Field(description="Who holds it: github:alice, a service account, cli:root")
    reason: str | None
    pr: int | None = Field(description="The pull request it was taken from")
    sticky: bool = Field(description="Released when its pull request is closed or merged")
    created_at: datetime
    expires_at: datetime


class ReleasedLockOut(LockOut):
    released_at: datetime | None
    released_by: str | None
    forced: bool = Field(description="Released by someone other than its holder")


class LockList(ApiModel):
    items: list[LockOut]


class LockQuery(ApiModel):
    repo: Line | None = Field(
        None,
        max_length=500,
        description="Only this repository's: provider:owner/name, a URL, or owner/name on any host",
    )


def lock_out(lock: DeploymentLock) -> LockOut:
    assert lock.id is not None
    return LockOut(
        id=lock.id,
        repository=f"{lock.provider}:{lock.repository}",
        environment=lock.environment,
        holder=lock.holder,
        reason=lock.reason,
        pr=lock.pr_number,
        sticky=lock.sticky,
        created_at=as_utc(lock.created_at),
        expires_at=as_utc(lock.expires_at),
    )


def _released_out(lock: DeploymentLock) -> ReleasedLockOut:
    return ReleasedLockOut(
        **lock_out(lock).model_dump(),
        released_at=as_utc(lock.released_at),
        released_by=lock.released_by,
        forced=lock.forced,
    )


def _not_held(lock_id: int, how: str) -> ApiError:
    return ApiError(409, "lock_not_held", f"lock {lock_id} is no longer held: {how}")


async def index(request: Request) -> Response:
    services = services_of(request)
    caller = await caller_of(request, READ)
    query = read_query(request, LockQuery)
    provider, name = None, None
    if query.repo is not None:
        provider, name = repository_query(services, query.repo, "query.repo")
        if provider is not None:
            require_repository(caller, provider, name)
    held = await locks.active_locks(services.sessions, provider, name)
    shown = [lock for lock in held if caller.may_act_on(lock.provider, lock.repository)]
    return json_response(LockList(items=[lock_out(lock) for lock in shown]))


async def remove(request: Request) -> Response:
    services = services_of(request)
    caller = await caller_of(request, READ)
    if not caller.admin:
        raise Forbidden(
            f"the service account {caller.name!r} may not release locks: only an admin "
            "account forces a lock open (its holder unlocks it with /unlock)",
            code="missing_permission",
        )
    lock_id: int = request.path_params["lockId"]
    lock = await locks.get_lock(services.sessions, lock_id)
    if lock is None:
        raise NotFound(f"no lock has the id {lock_id}")
    if lock.slot is None and lock.released_by != locks.EXPIRED:
        raise _not_held(lock_id, f"{lock.released_by} released it")
    if lock.slot is None or as_utc(lock.expires_at) <= utcnow():
        raise _not_held(lock_id, f"it expired at {as_utc(lock.expires_at):%Y-%m-%d %H:%M} UTC")
    try:
        released = await locks.release_lock(
            services.sessions,
            provider=lock.provider,
            repository=lock.repository,
            environment=lock.environment,
            by=Requester.service_account(caller).name,
            force=True,
            admin=True,
            lock_id=lock_id,
        )
    except locks.LockRefused:
        raise _not_held(lock_id, "it was released just now") from None
    return json_response(_released_out(released))


operations = [
    Operation(
        "GET",
        "/locks",
        "listLocks",
        "List the environment locks held now, by repository and environment",
        index,
        {200: ("The locks held, within the account's repositories", LockList)},
        tag="locks",
        query=LockQuery,
    ),
    Operation(
        "DELETE",
        "/locks/{lockId}",
        "releaseLock",
        "Force an environment lock open (admin only), whoever holds it",
        remove,
        {200: ("The lock, released", ReleasedLockOut)},
        tag="locks",
        path_ids=("lockId",),
        errors={
            403: "The account is not an admin",
            409: "The lock is no longer held: released, or expired",
        },
        description="Recorded as released by the account, and forced when someone else held it.",
    ),
]
