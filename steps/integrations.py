"""What steps may ask of the server's registered integrations: send a notice through a
notification integration, start and follow a build on a CI integration. The server implements
these protocols (through its hub, breakers and all); a step names the integration, nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

__all__ = [
    "CiRun",
    "CiRunStatus",
    "CiSystems",
    "CiTrigger",
    "IntegrationFailed",
    "Notice",
    "NoticeSent",
    "NoticeStatus",
    "Notices",
]

NoticeStatus = Literal["info", "started", "succeeded", "failed", "rolled_back"]
CiRunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class IntegrationFailed(Exception):
    """A call to an integration failed: `code` is the hub's error code (CREDENTIAL_FETCH_FAILED,
    INTEGRATION_UNHEALTHY, …); the message names the integration, never a credential."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Notice:
    """One message, said the way each service says things (a Slack block, an Adaptive Card, an
    e-mail, an alert). `dedup_key` ties a failure's alert to the success that resolves it."""

    title: str
    text: str
    status: NoticeStatus = "info"
    url: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    dedup_key: str | None = None
    thread: str | None = None  # a Slack thread to answer in (its ts)
    channel: str | None = None  # overrides the integration's default channel
    recipients: tuple[str, ...] = ()  # e-mail: overrides the integration's default


@dataclass(frozen=True)
class NoticeSent:
    integration: str
    id: str | None = None  # what the service answered: a Slack ts, a dedup key, a Message-ID


class Notices(Protocol):
    async def send(self, integration: str, notice: Notice) -> NoticeSent:
        """Send `notice` through `integration`; IntegrationFailed when it cannot."""
        ...


@dataclass(frozen=True)
class CiTrigger:
    """What to start: a Jenkins job (its path), a workflow file (GitHub, Gitea), or the project's
    pipeline (GitLab), at `ref`, with `inputs` as its parameters."""

    job: str
    ref: str | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)
    repository: str | None = None  # a host CI integration's repository, when not its default


@dataclass(frozen=True)
class CiRun:
    integration: str
    id: str
    status: CiRunStatus
    url: str | None = None
    conclusion: str | None = None  # the CI system's own word for how it ended


class CiSystems(Protocol):
    async def trigger(self, integration: str, request: CiTrigger) -> CiRun:
        """Start a build; IntegrationFailed when it cannot."""
        ...

    async def read(self, integration: str, run_id: str) -> CiRun:
        """The build as it stands now."""
        ...
