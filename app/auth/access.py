"""Who may read a run or a delivery: admins and open (loopback) pages everything; anyone else
what their host says they may read — at least READ on the repository, asked through Shipyard's
own client for that host, the answer kept a few minutes per (provider, repository, login)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from app.auth.rules import sign_in_host
from app.db.models.deliveries import Delivery
from app.db.models.pipelines import PipelineRun
from app.services import ProviderFactory
from providers.errors import ProviderError
from providers.vocabulary import Permission, Repo

__all__ = [
    "ANYONE",
    "Decision",
    "PermissionCache",
    "Resource",
    "Viewer",
    "decide",
    "may_read",
    "readable",
    "resource_of_delivery",
    "resource_of_run",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
PERMISSION_SECONDS = 300.0


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a signed-in login on a host, or anyone (pages open on loopback)."""

    host: str = ""
    login: str = ""
    csrf: str = ""  # the token this viewer's forms carry
    sees_everything: bool = False  # an admin, or pages open on loopback

    @property
    def signed_in(self) -> bool:
        return bool(self.login)


ANYONE = Viewer(sees_everything=True)


@dataclass(frozen=True)
class Resource:
    """What a page shows belongs to a repository on a provider (None: unknown)."""

    provider: str
    repository: str | None
    installation_id: int | None = None


def resource_of_run(run: PipelineRun) -> Resource:
    return Resource(run.provider, run.repository or None, run.installation_id)


def resource_of_delivery(delivery: Delivery) -> Resource:
    """A delivery belongs to the repository its event names; one that names none (a ping, an
    installation, a payload that could not be normalised) is for admins only."""
    event = delivery.normalised or {}
    repository = event.get("repository") or {}
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    installation = event.get("installation_id")
    return Resource(
        delivery.provider,
        full_name if isinstance(full_name, str) and full_name else None,
        installation if isinstance(installation, int) else None,
    )


class Decision(Enum):
    ALLOW = "allow"
    DENY = "deny"
    ASK_HOST = "ask the host"


def decide(viewer: Viewer, resource: Resource) -> Decision:
    """What can be said without the host: everything for admins, nothing of an unknown
    repository or of another host's (a GitLab login proves nothing on GitHub)."""
    if viewer.sees_everything:
        return Decision.ALLOW
    if not viewer.signed_in or resource.repository is None:
        return Decision.DENY
    if sign_in_host(resource.provider) != viewer.host:
        return Decision.DENY
    return Decision.ASK_HOST


_Key = tuple[str, str, str]  # (provider, repository, login casefolded)


class PermissionCache:
    """Hosts' answers for `ttl` seconds of `clock`; at most `max_entries` kept."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        ttl: float = PERMISSION_SECONDS,
        max_entries: int = 10_000,
    ) -> None:
        self._clock, self._ttl, self._max = clock, ttl, max_entries
        self._answers: dict[_Key, tuple[Permission, float]] = {}

    def get(self, key: _Key) -> Permission | None:
        found = self._answers.get(key)
        if found is None:
            return None
        if found[1] <= self._clock():
            del self._answers[key]
            return None
        return found[0]

    def put(self, key: _Key, permission: Permission) -> None:
        now = self._clock()
        if len(self._answers) >= self._max:
            self._answers = {k: v for k, v in self._answers.items() if v[1] > now}
            while len(self._answers) >= self._max:  # still full: drop the oldest
                del self._answers[next(iter(self._answers))]
        self._answers[key] = (permission, now + self._ttl)


async def may_read(
    providers: ProviderFactory,
    cache: PermissionCache,
    viewer: Viewer,
    resource: Resource,
    *,
    at_least: Permission = Permission.READ,
) -> bool:
    """Whether `viewer` may see what belongs to `resource` (or, with `at_least`, act on it). A
    host that cannot be asked (not configured, down, refusing) means no: the page answers as if
    there were nothing there."""
    decision = decide(viewer, resource)
    if decision is not Decision.ASK_HOST:
        return decision is Decision.ALLOW
    assert resource.repository is not None
    key = (resource.provider, resource.repository, viewer.login.casefold())
    permission = cache.get(key)
    if permission is None:
        try:
            host = providers(resource.provider, resource.installation_id)
            permission = await host.get_permission(Repo(resource.repository), viewer.login)
        except (ProviderError, ValueError) as error:
            log.warning(
                "cannot ask %s whether %s may read %s: %s",
                resource.provider,
                viewer.login,
                resource.repository,
                error,
            )
            return False
        cache.put(key, permission)
    return permission >= at_least


async def readable(
    providers: ProviderFactory,
    cache: PermissionCache,
    viewer: Viewer,
    items: Iterable[T],
    resource_of: Callable[[T], Resource],
) -> list[T]:
    """The items `viewer` may read, in order; each repository's host is asked once."""
    listed = list(items)
    resources = list(dict.fromkeys(resource_of(item) for item in listed))
    answers = await asyncio.gather(
        *(may_read(providers, cache, viewer, resource) for resource in resources)
    )
    allowed = {resource for resource, yes in zip(resources, answers, strict=True) if yes}
    return [item for item in listed if resource_of(item) in allowed]
