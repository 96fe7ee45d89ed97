"""`/service-accounts` (admin only): make an account (its token is in this answer and no
other), list them, revoke one. app.accounts keeps them; the CLI uses the same functions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from app.accounts import (
    ACTIONS,
    RESOURCES,
    AccountExists,
    AccountNotFound,
    InvalidAccount,
    Permission,
    create_account,
    list_accounts,
    revoke_account,
)
from app.api.v1.auth import caller_of, services_of
from app.api.v1.errors import ApiError, NotFound
from app.api.v1.models import ApiModel, Line
from app.api.v1.operations import Operation, json_response, read_body
from app.db.models.accounts import ServiceAccount
from app.db.models.base import as_utc

__all__ = ["operations"]

Role = Literal["admin", "release-creator", "deployer", "viewer", "metrics-reader"]
Resource = Literal[
    "releases", "builds", "deployments", "service-accounts", "targets", "integrations", "metrics"
]
Action = Literal["read", "create", "delete"]
assert set(Resource.__args__) == set(RESOURCES)  # type: ignore[attr-defined]
assert set(Action.__args__) == set(ACTIONS)  # type: ignore[attr-defined]


class PermissionIn(ApiModel):
    resource: Resource
    action: Action


class AccountCreate(ApiModel):
    name: Line = Field(
        max_length=100, description="Letters, digits, '.', '_' or '-'; unique, never reused"
    )
    description: str = Field("", max_length=2000)
    roles: list[Role] = Field(min_length=1, max_length=4)
    permissions: list[PermissionIn] = Field(default_factory=list, max_length=50)
    repositories: list[Line] = Field(
        default_factory=list,
        max_length=100,
        description="Globs (acme/*, gitlab:group/**); required for every role but admin",
    )
    expires_in: Line | None = Field(
        None, max_length=20, description="How long the token is good for: 365d, 12h, 30m"
    )


class AccountOut(ApiModel):
    id: int
    name: str
    description: str
    roles: list[str]
    permissions: list[PermissionIn]
    repositories: list[str]
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class CreatedAccount(ApiModel):
    account: AccountOut
    token: str = Field(description="Shown in this answer only: Shipyard keeps its SHA-256")


class AccountList(ApiModel):
    items: list[AccountOut]


def _out(account: ServiceAccount) -> AccountOut:
    assert account.id is not None
    return AccountOut(
        id=account.id,
        name=account.name,
        description=account.description,
        roles=account.roles,
        permissions=[PermissionIn.model_validate(p) for p in account.permissions],
        repositories=account.repositories,
        created_by=account.created_by,
        created_at=as_utc(account.created_at),
        expires_at=as_utc(account.expires_at),
        revoked_at=as_utc(account.revoked_at),
        last_used_at=as_utc(account.last_used_at),
    )


async def create(request: Request) -> Response:
    services = services_of(request)
    caller = await caller_of(request, Permission("service-accounts", "create"))
    body = await read_body(request, AccountCreate)
    try:
        account, token = await create_account(
            services.sessions,
            name=body.name,
            description=body.description,
            roles=body.roles,
            permissions=[p.model_dump() for p in body.permissions],
            repositories=body.repositories,
            expires_in=body.expires_in,
            created_by=f"service account {caller.name}",
        )
    except AccountExists as error:
        raise ApiError(409, "account_exists", str(error)) from None
    except InvalidAccount as error:
        raise ApiError(422, "invalid_account", str(error)) from None
    return json_response(CreatedAccount(account=_out(account), token=token), 201)


async def index(request: Request) -> Response:
    services = services_of(request)
    await caller_of(request, Permission("service-accounts", "read"))
    accounts = await list_accounts(services.sessions)
    return json_response(AccountList(items=[_out(a) for a in accounts]))


async def revoke(request: Request) -> Response:
    services = services_of(request)
    caller = await caller_of(request, Permission("service-accounts", "delete"))
    account_id: int = request.path_params["accountId"]
    if account_id == caller.id:
        raise ApiError(
            409,
            "own_account",
            "an account cannot revoke itself through the API (it would lock itself out): use "
            "another admin account, or `shipyard service-accounts revoke` on the server",
        )
    try:
        account = await revoke_account(services.sessions, account_id)
    except AccountNotFound:
        raise NotFound(f"no service account has the id {account_id}") from None
    return json_response(_out(account))


operations = [
    Operation(
        "POST",
        "/service-accounts",
        "createServiceAccount",
        "Make a service account and its token",
        create,
        {201: ("The account, and its token: shown this once", CreatedAccount)},
        tag="service-accounts",
        body=AccountCreate,
        errors={409: "An account of that name exists"},
    ),
    Operation(
        "GET",
        "/service-accounts",
        "listServiceAccounts",
        "List service accounts (revoked ones too)",
        index,
        {200: ("The accounts", AccountList)},
        tag="service-accounts",
    ),
    Operation(
        "DELETE",
        "/service-accounts/{accountId}",
        "revokeServiceAccount",
        "Revoke a service account: its token stops working at once",
        revoke,
        {200: ("The account, revoked", AccountOut)},
        tag="service-accounts",
        path_ids=("accountId",),
        errors={409: "The account making the request is the one to revoke"},
    ),
]
