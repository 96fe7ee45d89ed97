"""What a service account may do (pure): roles → permissions, repository scopes, durations.

A permission is a `{resource, action}` pair. An account holds its roles' permissions and any
extra ones it was given; `admin` holds every permission on every repository. Every other
account is scoped to `repositories`: globs such as `acme/*` (any host) or `gitlab:group/**`
(one host), matched case-insensitively with `app.globs` (`*` within a segment, `**` across).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from app.globs import match_glob
from steps.config_types import parse_duration as parse_seconds

__all__ = [
    "ACTIONS",
    "ADMIN",
    "HOSTS",
    "MAX_EXPIRY",
    "METRICS_READER",
    "RESOURCES",
    "ROLES",
    "InvalidAccount",
    "Permission",
    "allowed_repository",
    "check_repositories",
    "parse_duration",
    "parse_permission",
    "permissions_of",
]

ADMIN = "admin"
METRICS_READER = "metrics-reader"
RESOURCES = (
    "releases",
    "builds",
    "deployments",
    "service-accounts",
    "targets",
    "integrations",
    "metrics",  # only `read` means anything: scraping /metrics
)
ACTIONS = ("read", "create", "delete")
HOSTS = ("github", "gitlab", "gitea", "forgejo")
MAX_EXPIRY = timedelta(days=3650)
# Only an admin manages accounts, deploy targets and integrations: no extra permission hands
# these out.
_ADMIN_ONLY = ("service-accounts", "targets", "integrations")


class InvalidAccount(ValueError):
    """An account's roles, permissions, repositories or expiry are not valid; says which."""


@dataclass(frozen=True, order=True)
class Permission:
    resource: str
    action: str

    def __str__(self) -> str:
        return f"{self.resource}:{self.action}"


def _all(resource: str) -> list[Permission]:
    return [Permission(resource, action) for action in ACTIONS]


ROLES: Mapping[str, frozenset[Permission]] = {
    ADMIN: frozenset(p for resource in RESOURCES for p in _all(resource)),
    "release-creator": frozenset(
        {
            Permission("releases", "create"),
            Permission("releases", "read"),
            Permission("builds", "create"),
            Permission("builds", "read"),
        }
    ),
    "deployer": frozenset(
        {
            Permission("releases", "read"),
            Permission("deployments", "create"),
            Permission("deployments", "read"),
        }
    ),
    "viewer": frozenset(
        {
            Permission("releases", "read"),
            Permission("builds", "read"),
            Permission("deployments", "read"),
        }
    ),
    # Prometheus' account: reads no repository's anything, so it needs no repositories.
    METRICS_READER: frozenset({Permission("metrics", "read")}),
}


def parse_permission(value: Mapping[str, object] | str) -> Permission:
    """`{"resource": "releases", "action": "create"}` or `releases:create` → a Permission;
    InvalidAccount naming the resources or actions there are."""
    if isinstance(value, str):
        resource, _, action = value.partition(":")
    else:
        resource, action = str(value.get("resource", "")), str(value.get("action", ""))
    if resource not in RESOURCES:
        raise InvalidAccount(f"unknown resource {resource!r}; resources are {', '.join(RESOURCES)}")
    if action not in ACTIONS:
        raise InvalidAccount(f"unknown action {action!r}; actions are {', '.join(ACTIONS)}")
    return Permission(resource, action)


def permissions_of(
    roles: Iterable[str], extra: Iterable[Mapping[str, object] | str | Permission] = ()
) -> frozenset[Permission]:
    """The permissions `roles` grant, with `extra` added; InvalidAccount for an unknown role
    or permission, or an extra one on service accounts (the role `admin` is for that)."""
    granted: set[Permission] = set()
    for role in roles:
        if role not in ROLES:
            raise InvalidAccount(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        granted |= ROLES[role]
    for item in extra:
        permission = item if isinstance(item, Permission) else parse_permission(item)
        if permission.resource in _ADMIN_ONLY and ADMIN not in roles:
            raise InvalidAccount(
                f"{permission} is not given as an extra permission; only the role admin "
                f"manages {permission.resource.replace('-', ' ')}"
            )
        granted.add(permission)
    return frozenset(granted)


def check_repositories(roles: Iterable[str], repositories: Iterable[str]) -> tuple[str, ...]:
    """The scope, validated: globs, each `glob` or `host:glob`; required unless admin (or
    only metrics-reader)."""
    globs = tuple(repositories)
    named = set(roles)
    if not globs and ADMIN not in named and not (named and named <= {METRICS_READER}):
        raise InvalidAccount(
            "repositories are required for every role but admin (and metrics-reader): give "
            "globs such as acme/* or gitlab:group/**"
        )
    for glob in globs:
        host, colon, pattern = glob.partition(":")
        if colon and host not in HOSTS:
            raise InvalidAccount(
                f"repository glob {glob!r}: unknown host {host!r}; hosts are {', '.join(HOSTS)}"
            )
        body = pattern if colon else glob
        if not body or body.startswith("/") or body.endswith("/") or len(glob) > 300:
            raise InvalidAccount(f"repository glob {glob!r} is not owner/name, like acme/*")
    return globs


def allowed_repository(
    roles: Iterable[str], repositories: Iterable[str], provider: str, repository: str
) -> bool:
    """Whether an account with these roles and scope may act on `provider`'s `repository`."""
    if ADMIN in set(roles):
        return True
    host = "gitea" if provider == "forgejo" else provider
    name = repository.lower()
    for glob in repositories:
        glob_host, colon, pattern = glob.partition(":")
        if colon:
            glob_host = "gitea" if glob_host == "forgejo" else glob_host
            if glob_host != host:
                continue
        else:
            pattern = glob
        if match_glob(pattern.lower(), name):
            return True
    return False


def parse_duration(text: str) -> timedelta:
    """`365d`, `12h`, `30m`, `1h30m` → a timedelta, above zero and at most ten years;
    InvalidAccount otherwise (a bare number is refused: it has no unit)."""
    stripped = text.strip()
    if stripped.replace(".", "", 1).isdigit():
        raise InvalidAccount(f"expiry {text!r} has no unit: write 365d, 12h or 30m")
    try:
        seconds = parse_seconds(stripped)
    except ValueError as error:
        raise InvalidAccount(f"expiry: {error}") from None
    if not math.isfinite(seconds) or seconds > MAX_EXPIRY.total_seconds():
        raise InvalidAccount(f"expiry {text!r} is more than {MAX_EXPIRY.days}d")
    return timedelta(seconds=seconds)
