"""What a step is given: its template context, its rendered `env:`, its masker and log, and
the StepContext that carries them with the narrow services a step may use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.db.models.pipelines import PipelineRun, StepRun
from app.environments.step_deployer import StepDeployer
from app.integrations.ci.service import HubCi
from app.integrations.notifications.service import HubNotices
from app.pipelines import reporting, runs
from app.secrets.definitions import Definition, all_definitions
from app.secrets.masker import Masker
from app.secrets.resolvers import Resolver
from app.services import Services
from app.work.log_lines import LogLines
from providers.base import Provider
from providers.vocabulary import Repo, TokenScope
from steps.ai_review import AiReviewConfig
from steps.base import AiService, RunInfo, StepConfig, StepContext
from steps.secret_refs import SecretError, is_reference
from steps.templates import build_context, render_value

__all__ = [
    "READ_ONLY_PERMISSIONS",
    "ai_service",
    "prepare_workspace",
    "process_env",
    "render_env",
    "run_secrets",
    "step_context",
    "template_context",
    "token_scope",
    "trusted",
    "workspace",
]

_PROCESS_ENV = ("PATH", "LANG")
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def workspace(services: Services, run_id: int) -> Path:
    """Where a run's steps work (the checkout is `src` inside). Steps of one run share it, so
    with workers on several machines SHIPYARD_DATA_DIR must be shared storage."""
    return Path(services.settings.data_dir) / "workspaces" / str(run_id)


def prepare_workspace(services: Services, run_id: int) -> Path:
    """The run's workspace, made on first use: owned by the step user (steps run as it), in a
    folder that lets it through without listing the other runs' workspaces."""
    return services.sandbox.make_workspace(workspace(services, run_id))


def template_context(run: PipelineRun, outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The names a step's templates see, from the run's event and the finished steps."""
    event = run.event or {}
    return build_context(
        event=event,
        repo=event.get("repository") or {"full_name": run.repository},
        pull_request=event.get("pull_request"),
        release=event.get("release"),
        env=run.spec.get("env", {}),
        vars=run.spec.get("vars", {}),
        step_outputs=outputs,
    )


async def render_env(
    pipeline_env: dict[str, str],
    step_env: dict[str, str],
    names: dict[str, Any],
    secrets: Resolver,
) -> dict[str, str]:
    """The pipeline's and step's `env:`, rendered; a reference is resolved (and so masked)."""
    env: dict[str, str] = {}
    for key, value in {**pipeline_env, **step_env}.items():
        if isinstance(value, str) and is_reference(value):
            env[key] = await secrets.resolve(value)
        else:
            env[key] = str(render_value(value, names))
    return env


def process_env(services: Services) -> dict[str, str]:
    """What every process a step starts begins with: PATH and LANG from Shipyard's own."""
    environ = services.settings.environ
    env = {name: environ[name] for name in _PROCESS_ENV if name in environ}
    env.setdefault("PATH", _DEFAULT_PATH)
    return env


UNTRUSTED = (
    "this run's code is not trusted (a pull request from a fork, or by someone below the "
    "repository's pull_requests.min_role): it gets no secrets"
)


def trusted(run: PipelineRun) -> bool:
    """Whether the run's code may have secrets and write access (routing decided, see
    `app.access.trust`; runs made before that decision were all trusted)."""
    return bool(run.spec.get("trusted", True))


# What an untrusted run's token may do on GitHub: read the code, and nothing else.
READ_ONLY_PERMISSIONS = (("contents", "read"), ("metadata", "read"))


def token_scope(run: PipelineRun) -> TokenScope:
    """The GitHub App token a step of `run` gets: its own repository only (an installation
    often covers every repository of an organisation), and read-only for untrusted code."""
    name = run.repository.rpartition("/")[2]
    if not trusted(run):
        return TokenScope(repositories=(name,), permissions=READ_ONLY_PERMISSIONS)
    return TokenScope(repositories=(name,))


def run_secrets(services: Services, run: PipelineRun, masker: Masker) -> Resolver:
    """What the step may resolve: the secrets granted to its repository, or none at all for
    untrusted code. The definitions are read once, when the first reference is resolved."""
    if not trusted(run):
        return services.secrets.for_untrusted(masker, UNTRUSTED)
    loaded: dict[str, Definition] | None = None

    async def definitions() -> dict[str, Definition]:
        nonlocal loaded
        if loaded is None:
            loaded = await all_definitions(services.sessions)
        return loaded

    return services.secrets.for_repository(
        masker, provider=run.provider, repository=run.repository, definitions=definitions
    )


def _ai(services: Services, key: str | None) -> AiService:
    settings = services.settings
    return AiService(api_url=settings.anthropic_api_url, model=settings.ai_model, api_key=key)


def _server_ai_key(services: Services, run: PipelineRun) -> str | None:
    """ANTHROPIC_API_KEY as set (a value or a reference), for trusted code only."""
    key = services.settings.anthropic_api_key
    return key.get_secret_value() or None if key is not None and trusted(run) else None


def _plain_ai(services: Services, run: PipelineRun) -> AiService:
    key = _server_ai_key(services, run)
    return _ai(services, None if key is None or is_reference(key) else key)


async def ai_service(
    services: Services, run: PipelineRun, config: StepConfig, masker: Masker
) -> AiService:
    """What `ai_review` is offered. ANTHROPIC_API_KEY may be a server-side reference (env://,
    file://, vault://): it is resolved (into `masker`) for an `ai_review` step that names no
    key of its own; a failure is SecretError "CREDENTIAL_FETCH_FAILED: …" naming it."""
    key = _server_ai_key(services, run)
    if key is None or not is_reference(key):
        return _ai(services, key)
    if not isinstance(config, AiReviewConfig) or config.api_key is not None:
        return _ai(services, None)  # the server's key is not this step's to use
    try:
        value = await services.secrets.for_server(masker).resolve(key)
    except SecretError as error:
        detail = str(error).removeprefix("CREDENTIAL_FETCH_FAILED: ")
        raise SecretError(
            f"CREDENTIAL_FETCH_FAILED: ANTHROPIC_API_KEY ({key}) cannot be read: {detail}"
        ) from None
    return _ai(services, value)


def step_context(
    services: Services,
    run: PipelineRun,
    step: StepRun,
    provider: Provider,
    names: dict[str, Any],
    env: dict[str, str],
    secrets: Resolver,
    log: LogLines,
    *,
    ai: AiService | None = None,
) -> StepContext:
    """The StepContext of `step`: its run, the template `names`, its `env:`, and the narrow
    services (host client, HTTP, secrets resolved into `masker`, workspace, artifacts). `ai`
    is what `ai_service` made; without it, ANTHROPIC_API_KEY serves when it is a value."""
    assert run.id is not None
    assert step.id is not None
    run_id, step_id, settings = run.id, step.id, services.settings
    directory = prepare_workspace(services, run_id)

    async def record(key: str, value: Any) -> None:
        await runs.record(services.sessions, step_id, key, value)

    return StepContext(
        run=RunInfo(
            id=run_id,
            pipeline=run.pipeline,
            provider=run.provider,
            repo=Repo(run.repository),
            sha=run.sha,
            ref=run.ref,
            pr_number=run.pr_number,
            page_url=reporting.run_url(settings, run_id),
        ),
        name=step.name,
        attempt=step.attempts,
        provider=provider,
        http=services.http,
        secrets=secrets,
        mask=secrets.mask,
        workspace=directory,
        artifacts=Path(settings.data_dir) / "artifacts" / str(run_id),
        sandbox=services.sandbox.launcher(directory, network=run.spec.get("network", True)),
        process_env=process_env(services),
        ai=ai if ai is not None else _plain_ai(services, run),
        template=names,
        env=env,
        log=log.write,
        record=record,
        recorded=step.recorded,
        deployments=StepDeployer(services, run) if trusted(run) else None,
        notices=HubNotices(services.integrations, for_repository=(run.provider, run.repository))
        if trusted(run)
        else None,
        ci_systems=HubCi(
            services.integrations,
            may_trigger=trusted(run),
            for_repository=(run.provider, run.repository),
        ),
    )
