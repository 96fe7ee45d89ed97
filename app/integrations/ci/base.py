"""What a `ci` connector does beyond checking and discovering: start a build, read one."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from app.integrations.connector import Connector
from app.integrations.errors import IntegrationError
from providers.vocabulary import RunStatus
from steps.integrations import CiRun, CiRunStatus, CiTrigger

__all__ = ["RUN_STATUS", "CiConnector", "ci_connector"]

RUN_STATUS: dict[RunStatus, CiRunStatus] = {
    RunStatus.QUEUED: "queued",
    RunStatus.RUNNING: "running",
    RunStatus.SUCCEEDED: "succeeded",
    RunStatus.FAILED: "failed",
    RunStatus.CANCELLED: "cancelled",
}


@runtime_checkable
class CiConnector(Protocol):
    """A CI system's connector. A run id is the connector's own text: it says everything
    `read` needs (Jenkins: the queue item, then the build; a host: the repository and run).
    `read` may answer with a different id once the system knows more (Jenkins: the build
    that a queue item became); callers follow that one from then on."""

    async def trigger(self, request: CiTrigger) -> CiRun: ...

    async def read(self, run_id: str) -> CiRun: ...


def ci_connector(connector: Connector) -> CiConnector:
    if not isinstance(connector, CiConnector):
        raise IntegrationError("INVALID_CONFIG", "is not a CI system: it cannot start builds")
    return connector
