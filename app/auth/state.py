"""What sign-in keeps for the life of the web process: the cookie key (read or made on first
use, so a server whose pages are open never touches the secret file), the permission cache and
the clock both run on (tests give a fake one)."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.datastructures import State

from app.auth.access import PERMISSION_SECONDS, PermissionCache
from app.auth.rules import parse_admins
from app.auth.secret import session_key
from app.settings import Settings

__all__ = ["Auth", "auth_of"]


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
