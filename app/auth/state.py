"""What sign-in keeps for the life of the web process: the cookie key (read or made on first
use, so a server whose pages are open never touches the secret file), the permission cache and
the clock both run on (tests give a fake one)."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.datastructures import State
from starlette.requests import Request

from app.auth.access import PERMISSION_SECONDS, PermissionCache
from app.auth.hosts import configured_hosts
from app.auth.rules import parse_admins
from app.auth.sealed import SESSION_COOKIE, Session, open_session
from app.auth.secret import session_key
from app.settings import Settings

__all__ = ["Auth", "auth_of", "session_of"]


class Auth:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        permission_seconds: float = PERMISSION_SECONDS,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.permissions = PermissionCache(clock, permission_seconds)
        self.admins = parse_admins(settings.admins)
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = session_key(self.settings)
        return self._key

    def is_admin(self, host: str, login: str) -> bool:
        return (host, login.casefold()) in self.admins


def auth_of(state: State, settings: Settings) -> Auth:
    """The app's Auth (`app.state.auth`), made on first use; a test may set its own first."""
    auth = getattr(state, "auth", None)
    if not isinstance(auth, Auth):
        auth = Auth(settings)
        state.auth = auth
    return auth


def session_of(request: Request, settings: Settings) -> Session | None:
    """The request's valid session (its cookie), on a host that still offers sign-in; else
    None. The pages' door and the API's approvals both ask this."""
    auth = auth_of(request.app.state, settings)
    session = open_session(auth.key, request.cookies.get(SESSION_COOKIE), now=auth.clock())
    if session is None or session.host not in configured_hosts(settings):
        return None
    return session
