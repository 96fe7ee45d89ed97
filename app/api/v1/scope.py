"""The repository a request is about, as Shipyard names it: from its URL (422 when it is on
no host Shipyard knows) and allowed by the server's SHIPYARD_REPO_ALLOWLIST (403 when not)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from app.accounts import Caller
from app.api.v1.errors import Forbidden, Unprocessable
from app.api.v1.repositories import UnknownRepository, repository_of_url
from app.services import Services

__all__ = ["repository_of", "repository_query", "require_allowed", "scoped_page"]

_QUALIFIED = re.compile(r"(?P<provider>github|gitlab|gitea|forgejo):(?P<name>[^/].*)")


def require_allowed(services: Services, provider: str, repository: str) -> None:
    if not services.allowlist.allows(provider, repository):
        raise Forbidden(
            f"Shipyard does not act on {provider}:{repository}: the server's "
            "SHIPYARD_REPO_ALLOWLIST does not include it",
            code="repository_not_allowed",
        )


def repository_of(services: Services, url: str, path: str) -> tuple[str, str]:
    """(provider, full name) of the repository at `url`, which the server acts on."""
    try:
        provider, repository = repository_of_url(services.settings, url)
    except UnknownRepository as error:
        raise Unprocessable(path, str(error), code="unknown_repository") from None
    require_allowed(services, provider, repository)
    return provider, repository


def repository_query(services: Services, text: str, path: str) -> tuple[str | None, str]:
    """A repository to filter by: a URL, `provider:owner/name`, or `owner/name` (provider
    None: on any host)."""
    qualified = _QUALIFIED.fullmatch(text)
    if qualified:
        provider, repository = qualified["provider"], qualified["name"]
        require_allowed(services, provider, repository)
        return provider, repository
    if "://" in text or "@" in text:
        return repository_of(services, text, path)
    return None, text.strip("/")


class _Listed(Protocol):
    @property
    def id(self) -> int | None: ...

    @property
    def provider(self) -> str: ...

    @property
    def repository(self) -> str: ...


L = TypeVar("L", bound=_Listed)
_SCAN = 200  # rows read at a time when the account's scope filters them
_MAX_SCANS = 25


async def scoped_page(
    caller: Caller,
    fetch: Callable[[int | None, int], Awaitable[list[L]]],
    *,
    before: int | None,
    limit: int,
    narrowed: bool,
) -> list[L]:
    """Up to `limit` + 1 rows newest first (one more: there is a next page) of those the
    account may see. `fetch(before_id, limit)` reads rows newest first; `narrowed`: the query
    names one repository, already checked against the account's scope."""
    if caller.admin or narrowed:
        return await fetch(before, limit + 1)
    found: list[L] = []
    for _ in range(_MAX_SCANS):
        batch = await fetch(before, _SCAN)
        found += [row for row in batch if caller.may_act_on(row.provider, row.repository)]
        if len(found) > limit or len(batch) < _SCAN:
            break
        before = batch[-1].id
    return found[: limit + 1]
