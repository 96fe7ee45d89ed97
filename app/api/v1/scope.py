"""The repository a request is about, as Shipyard names it: from its URL (422 when it is on
no host Shipyard knows) and allowed by the server's SHIPYARD_REPO_ALLOWLIST (403 when not)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from app.accounts import Caller
from app.api.v1.auth import require_repository
from app.api.v1.errors import Forbidden, Unprocessable
from app.api.v1.operations import MAX_ID
from app.api.v1.repositories import UnknownRepository, repository_of_url
from app.services import Services

__all__ = ["Listing", "repository_of", "repository_query", "require_allowed", "scoped_page"]

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


Fetch = Callable[[str | None, str | None, int | None, int], Awaitable[list[L]]]
"""(provider, repository, before_id, limit) → rows newest first."""


@dataclass(frozen=True)
class Listing(Generic[L]):
    items: list[L]
    next_cursor: str | None  # the previous page's last id, for `cursor`


async def scoped_page(
    services: Services,
    caller: Caller,
    fetch: Fetch[L],
    *,
    repository: str | None,
    cursor: str | None,
    limit: int,
) -> Listing[L]:
    """A page of rows newest first, of those the account may see: `repository` (a URL,
    `provider:owner/name`, or `owner/name` on any host) narrows them, checked against the
    account's scope; `cursor` is the last id of the page before."""
    provider, name = None, None
    if repository is not None:
        provider, name = repository_query(services, repository, "query.repository")
        if provider is not None:
            require_repository(caller, provider, name)
    before = int(cursor) if cursor else None
    if before is not None and before > MAX_ID:
        before = None  # every id is below it
    if caller.admin or provider is not None:
        found = await fetch(provider, name, before, limit + 1)
    else:
        found = []
        for _ in range(_MAX_SCANS):
            batch = await fetch(None, name, before, _SCAN)
            found += [row for row in batch if caller.may_act_on(row.provider, row.repository)]
            if len(found) > limit or len(batch) < _SCAN:
                break
            before = batch[-1].id
    items = found[:limit]
    more = len(found) > limit and bool(items)
    return Listing(items, str(items[-1].id) if more else None)
