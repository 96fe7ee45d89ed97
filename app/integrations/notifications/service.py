"""`steps.integrations.Notices` on the hub: a notice sent through a `notification`
integration by name, through its breaker, its failures in the steps' words."""

from __future__ import annotations

from app.integrations.connector import Connector
from app.integrations.errors import IntegrationError
from app.integrations.hub import Hub
from app.integrations.notifications.base import Notifier
from steps.integrations import IntegrationFailed, Notice, NoticeSent

__all__ = ["HubNotices"]


class HubNotices:
    """Sends notices through the hub's notification integrations; `for_repository` (provider,
    repository) when a repository's config names them, which must be granted it."""

    def __init__(self, hub: Hub, *, for_repository: tuple[str, str] | None = None) -> None:
        self.hub = hub
        self.for_repository = for_repository

    async def send(self, integration: str, notice: Notice) -> NoticeSent:
        async def send(connector: Connector) -> NoticeSent:
            if not isinstance(connector, Notifier):
                raise IntegrationError("INVALID_CONFIG", "cannot send notices")
            return await connector.send(notice)

        try:
            return await self.hub.call(
                integration, send, type="notification", for_repository=self.for_repository
            )
        except IntegrationError as error:
            raise IntegrationFailed(error.code, str(error)) from None
