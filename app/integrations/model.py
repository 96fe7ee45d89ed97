"""An integration as the hub, the API and the pages see it (not the table's row), and the
results of checking one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.integrations.kinds import CheckLevel, Health, IntegrationType

__all__ = ["CheckResult", "Integration", "TestReport", "health_of"]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@dataclass(frozen=True)
class Integration:
    id: int
    name: str
    type: IntegrationType
    provider: str
    description: str
    config: Mapping[str, Any]
    credential_ref: str | None
    labels: Mapping[str, str]
    repositories: tuple[str, ...]  # whose `.shipyard.yml` may name it
    health: Health
    health_checked_at: datetime | None
    health_latency_ms: float | None
    health_message: str | None
    checks: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "provider": self.provider,
            "description": self.description,
            "config": dict(self.config),
            "credentialRef": self.credential_ref,
            "labels": dict(self.labels),
            "repositories": list(self.repositories),
            "health": {
                "status": self.health,
                "lastCheck": _iso(self.health_checked_at),
                "latencyMs": self.health_latency_ms,
                "message": self.health_message,
                "checks": dict(self.checks),
            },
            "createdAt": _iso(self.created_at),
            "updatedAt": _iso(self.updated_at),
        }


@dataclass(frozen=True)
class CheckResult:
    level: CheckLevel
    ok: bool
    latency_ms: float
    message: str
    code: str | None = None  # the error code when not ok
    checked_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "success": self.ok,
            "latencyMs": round(self.latency_ms, 2),
            "message": self.message,
            "errorCode": self.code,
            "checkedAt": _iso(self.checked_at),
        }


def health_of(results: Mapping[CheckLevel, CheckResult]) -> Health:
    """healthy when every check that ran passed; unhealthy when it cannot be reached or signed
    in to; degraded when it can but does not do its work; unknown before any check."""
    if not results:
        return "unknown"
    failed = {level for level, result in results.items() if not result.ok}
    if not failed:
        return "healthy"
    if failed & {"connectivity", "authentication"}:
        return "unhealthy"
    return "degraded"


@dataclass(frozen=True)
class TestReport:
    integration: Integration
    results: tuple[CheckResult, ...] = field(default_factory=tuple)

    @property
    def health(self) -> Health:
        return health_of({result.level: result for result in self.results})

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    def as_json(self) -> dict[str, Any]:
        return {
            "integrationId": self.integration.id,
            "name": self.integration.name,
            "success": self.ok,
            "health": self.health,
            "results": {result.level: result.as_json() for result in self.results},
        }
