"""The hub's vocabulary: integration types, health, check levels and discoverable resources."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "CHECK_LEVELS",
    "DISCOVERY_TTL_SECONDS",
    "HEALTH_STATES",
    "INTEGRATION_TYPES",
    "CheckLevel",
    "Health",
    "IntegrationType",
    "ResourceType",
]

IntegrationType = Literal["registry", "ci", "notification", "secrets", "metrics", "scm"]
INTEGRATION_TYPES: tuple[IntegrationType, ...] = get_args(IntegrationType)

Health = Literal["healthy", "degraded", "unhealthy", "unknown"]
HEALTH_STATES: tuple[Health, ...] = get_args(Health)

CheckLevel = Literal["connectivity", "authentication", "functionality"]
CHECK_LEVELS: tuple[CheckLevel, ...] = get_args(CheckLevel)

ResourceType = Literal[
    "repositories", "tags", "projects", "jobs", "pipelines", "channels", "secrets", "metrics"
]

# How long a discovery's answer is reused, per resource type.
DISCOVERY_TTL_SECONDS: dict[str, float] = {
    "repositories": 3600.0,
    "tags": 300.0,
    "projects": 3600.0,
    "jobs": 3600.0,
    "pipelines": 3600.0,
    "channels": 86400.0,
    "secrets": 300.0,
    "metrics": 3600.0,
}
