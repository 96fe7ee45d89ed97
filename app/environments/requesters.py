"""Who asks for a deployment (or approves one): a person on a Git host, a service account, the
server's operator at the command line, or the server's registry notifications."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.accounts import Caller
from app.auth.rules import parse_admins
from providers.vocabulary import Permission

__all__ = ["Requester", "RequesterKind", "is_admin"]


class RequesterKind(StrEnum):
    PERSON = "person"  # a login on a host: their role there is asked of the host
    SERVICE_ACCOUNT = "service_account"  # an API token: its permissions and repositories
    OPERATOR = "operator"  # the server's own command line (it holds the database anyway)
    REGISTRY = "registry"  # a release a registry push made, deploying itself (auto_deploy)


@dataclass(frozen=True)
class Requester:
    kind: RequesterKind
    name: str  # github:alice, the account's name, cli:root, registry
    host: str | None = None  # a person's host
    login: str | None = None  # a person's login there
    account: Caller | None = None  # a service account's, as authenticated

    @classmethod
    def person(cls, host: str, login: str) -> Requester:
        host = "gitea" if host == "forgejo" else host
        return cls(RequesterKind.PERSON, f"{host}:{login}", host=host, login=login)

    @classmethod
    def service_account(cls, caller: Caller) -> Requester:
        return cls(RequesterKind.SERVICE_ACCOUNT, caller.name, account=caller)

    @classmethod
    def operator(cls, user: str) -> Requester:
        return cls(RequesterKind.OPERATOR, f"cli:{user}")

    @classmethod
    def registry(cls) -> Requester:
        return cls(RequesterKind.REGISTRY, "registry")

    def is_person(self, host: str, login: str) -> bool:
        """Whether this is `host:login` (logins compare case-insensitively, as hosts do)."""
        host = "gitea" if host == "forgejo" else host
        return (
            self.kind is RequesterKind.PERSON
            and self.host == host
            and (self.login or "").casefold() == login.casefold()
        )

    def __str__(self) -> str:
        if self.kind is RequesterKind.SERVICE_ACCOUNT:
            return f"service account {self.name}"
        return self.name


def is_admin(requester: Requester, role: Permission | None, admins: str) -> bool:
    """An admin, for what only admins may force (a freeze, someone else's lock): the operator;
    a person with admin on the repository (`role`), or named in SHIPYARD_ADMINS (`admins`)."""
    if requester.kind is RequesterKind.OPERATOR:
        return True
    if requester.kind is not RequesterKind.PERSON or requester.host is None:
        return False
    named = (requester.host, (requester.login or "").casefold())
    return role == Permission.ADMIN or named in parse_admins(admins)
