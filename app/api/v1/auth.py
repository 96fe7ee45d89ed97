"""Who is calling: the service account behind `Authorization: Bearer shipyard_sa_…`, what it
may do (403 naming the permission it lacks) and on which repositories (403 naming it).

A missing, unknown, expired or revoked token is 401. The token is never logged, stored or
echoed: only its SHA-256 reaches the database, and no answer quotes it.
"""

from __future__ import annotations

from starlette.requests import Request

from app.accounts import Caller, Permission, Unauthenticated, authenticate
from app.api.v1.errors import Forbidden, Unauthorized
from app.services import Services

__all__ = ["caller_of", "require_repository", "services_of"]

_SCHEME = "bearer "


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def caller_of(request: Request, permission: Permission) -> Caller:
    """The authenticated account, holding `permission`; Unauthorized or Forbidden else."""
    header = request.headers.get("authorization")
    if header is None:
        raise Unauthorized("an Authorization: Bearer shipyard_sa_… header is required")
    if header[: len(_SCHEME)].lower() != _SCHEME:
        raise Unauthorized("the Authorization header must be Bearer and a service-account token")
    try:
        caller = await authenticate(services_of(request).sessions, header[len(_SCHEME) :].strip())
    except Unauthenticated as error:
        raise Unauthorized(str(error)) from None
    if not caller.may(permission):
        raise Forbidden(
            f"the service account {caller.name!r} lacks the permission {permission} "
            f"(resource {permission.resource!r}, action {permission.action!r})",
            code="missing_permission",
        )
    return caller


def require_repository(caller: Caller, provider: str, repository: str) -> None:
    """Forbidden unless the account's scope covers `provider`'s `repository`."""
    if not caller.may_act_on(provider, repository):
        scope = ", ".join(caller.repositories) or "none"
        raise Forbidden(
            f"the service account {caller.name!r} may not act on {provider}:{repository} "
            f"(its repositories: {scope})",
            code="repository_not_in_scope",
        )
