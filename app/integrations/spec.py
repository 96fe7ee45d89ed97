"""What a provider module declares: its name and type, its config model, how to connect, and
what it can discover. The catalogue lists them; each provider module imports only this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.integrations.connector import Connector, ConnectorContext, ProviderConfig
from app.integrations.kinds import IntegrationType

__all__ = ["ConfigModel", "Connect", "ProviderSpec"]

ConfigModel = type[ProviderConfig]
Connect = Callable[[ConnectorContext], Connector]


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    type: IntegrationType
    title: str
    config: ConfigModel = ProviderConfig
    connect: Connect | None = None  # None: not in this version
    resource_types: tuple[str, ...] = ()
    test_only: bool = False

    @property
    def available(self) -> bool:
        return self.connect is not None

    @property
    def supports_discovery(self) -> bool:
        return self.available and bool(self.resource_types)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "title": self.title,
            "available": self.available,
            "supportsDiscovery": self.supports_discovery,
            "supportedResourceTypes": list(self.resource_types),
            "isTestOnly": self.test_only,
        }
