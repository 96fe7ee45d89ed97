"""Shipyard's pages behind sign-in, for tests about who sees what: the app at https://shipyard
with every host's sign-in offered, a host client that says who may read which repository
(and records each question), a clock to move, and signing in as anyone."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette

from app.auth.state import Auth
from app.db.engine import SessionFactory
from app.main import create_app
from app.settings import Settings
from providers.vocabulary import Permission
from tests.support.clock import FakeClock
from tests.support.oauth import SIGN_IN, Permissions, running_https, sign_in_as, use_permissions
from tests.support.settings import make_settings


@dataclass
class Pages:
    app: Starlette
    settings: Settings
    client: httpx.AsyncClient
    host: Permissions
    clock: FakeClock

    @property
    def sessions(self) -> SessionFactory:
        sessions: SessionFactory = self.app.state.services.sessions
        return sessions

    def sign_in(self, host: str, login: str) -> None:
        sign_in_as(self.client, self.settings, host, login, now=self.clock.now)


@contextlib.asynccontextmanager
async def signed_in_pages(
    database_url: str, *, admins: str, answers: dict[tuple[str, str], Permission]
) -> AsyncIterator[Pages]:
    """`admins` as SHIPYARD_ADMINS says them; `answers`: (repository, login) → permission."""
    settings = make_settings(database_url, **SIGN_IN, SHIPYARD_ADMINS=admins)
    app = create_app(settings)
    clock = FakeClock()
    app.state.auth = Auth(settings, clock=clock.time)
    host = Permissions(answers)
    async with running_https(app) as client:
        use_permissions(app, host)
        yield Pages(app, settings, client, host, clock)
