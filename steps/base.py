"""What a step type is, and what it is given when it runs: the run, and narrow services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import httpx
from pydantic import BaseModel, ConfigDict

from providers.base import Provider
from providers.mask import Mask
from providers.vocabulary import Repo
from steps.integrations import CiSystems, Notices
from steps.launchers import Launcher

__all__ = [
    "AiService",
    "DeployService",
    "Deployment",
    "Mask",
    "RunInfo",
    "SecretResolver",
    "StepConfig",
    "StepContext",
    "StepFailed",
    "StepType",
]


class StepFailed(Exception):
    """The step ran and failed; the message says why, for the run page and the log."""


class StepConfig(BaseModel):
    """Base of every step type's `config:` model: unknown keys are errors, not silence.

    `verbatim` names fields that reach a shell or an argv (a command line). They are never
    rendered as templates and take no `<key>_from`: values from people (titles, branch names,
    comment text) must reach a command only as environment variables.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    verbatim: ClassVar[frozenset[str]] = frozenset()


class SecretResolver(Protocol):
    """Resolves a secret reference (`steps.secret_refs`) to its value, and teaches the step's
    mask that value before returning it. Raises `steps.secret_refs.SecretError`."""

    async def resolve(self, reference: str) -> str: ...


@dataclass(frozen=True)
class AiService:
    """What the server offers `ai_review`: Anthropic's API, its default model, and the key the
    server holds (used only when a step keeps the default `api_key`)."""

    api_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Deployment:
    """A deployment a step asked for, as it stands: its id, state, page and why it failed."""

    id: int
    state: str
    url: str
    release: str
    error: str | None = None

    @property
    def ended(self) -> bool:
        return self.state in ("completed", "failed", "rolled_back", "cancelled")

    @property
    def succeeded(self) -> bool:
        return self.state == "completed"


class DeployService(Protocol):
    """Deployments, as the server offers them to a run's steps: a promotion passes the same
    gate as any other, asked for by the person whose event started the run."""

    async def promote(
        self, environment: str, release: str | None, params: Mapping[str, str]
    ) -> Deployment:
        """Promote `release` (a name; None: the newest ready release of the run's commit)
        into `environment`; StepFailed with the gate's refusal."""
        ...

    async def read(self, deployment_id: int) -> Deployment: ...


@dataclass(frozen=True)
class RunInfo:
    """The run a step belongs to."""

    id: int
    pipeline: str
    provider: str
    repo: Repo
    sha: str | None
    ref: str | None
    pr_number: int | None
    page_url: str  # the run's page on Shipyard


@dataclass
class StepContext:
    """Everything a step may use. Steps do I/O only through `provider`, `http` and processes."""

    run: RunInfo
    name: str
    attempt: int
    provider: Provider
    http: httpx.AsyncClient  # shared; pass a per-request `timeout=`
    secrets: SecretResolver
    mask: Mask  # replaces every known secret value with ***; `add` teaches it one more
    workspace: Path  # the run's working directory; `checkout` clones into workspace / "src"
    artifacts: Path  # where this run's kept files go (`upload_artifact`)
    sandbox: Launcher  # how a command (a script, git) starts: in the sandbox, as a rule
    process_env: Mapping[str, str]  # what a process starts with: PATH and LANG
    ai: AiService
    template: Mapping[str, Any]  # event, repo, pull_request, release, env, steps, vars
    env: Mapping[str, str]  # the pipeline's and step's `env:`, rendered; secrets allowed
    log: Callable[[str], None]  # one line to the step log (masked before it is stored)
    record: Callable[[str, Any], Awaitable[None]]  # persist a side effect now (e.g. comment id)
    recorded: Mapping[str, Any] = field(default_factory=dict)  # what earlier attempts recorded
    deployments: DeployService | None = None  # the `deploy` step's way to the environments
    notices: Notices | None = None  # `notify` through a notification integration
    ci_systems: CiSystems | None = None  # `trigger_ci` / `wait_ci` through a CI integration


class StepType(Protocol):
    """A step type: its name in `type:`, its config model, and how it runs."""

    type_name: ClassVar[str]
    Config: ClassVar[type[StepConfig]]

    async def run(self, ctx: StepContext, config: StepConfig) -> dict[str, Any]:
        """Do the step; return its outputs (JSON values). Raise StepFailed to fail it."""
        ...
