"""The composition root: everything a process needs, built once from `Settings` — the database,
the queue, the host clients, the secrets and the mask, the outbound HTTP client, the router —
for the web process, the worker and the CLI alike, and closed in reverse when it is done."""

from __future__ import annotations

import contextlib
import gc
import os
import pwd
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import SecretStr

from app import metrics
from app.access.allowlist import RepoAllowlist
from app.access.permissions import PermissionCache
from app.db.engine import SessionFactory, create_engine, session_factory
from app.db.schema import ensure_migrated
from app.deployments.executors.ssh_pool import SshConnections
from app.features import JOBS, RECOVERY, REPO_CONFIG, event_router
from app.intake.queueing import PROCESS_DELIVERIES
from app.integrations.breaker import BreakerPolicy, Breakers
from app.integrations.catalogue import catalogue
from app.integrations.hub import Hub
from app.integrations.secrets.source import vault_reader
from app.jobs import SERVICES, queue_functions
from app.logs import masking_logs
from app.repo_config.cache import ConfigCache
from app.secrets.definitions import forbidden_paths, forbidden_variables
from app.secrets.masker import Masker
from app.secrets.resolvers import Secrets, VaultSource
from app.services import ProviderFactory, ProviderPool, Services
from app.settings import Settings
from jobqueue.arq_queue import ArqQueue, redis_settings
from jobqueue.base import JobQueue
from jobqueue.inprocess import InProcessQueue
from providers.gitea import GiteaConfig
from providers.github import GitHubConfig
from providers.gitlab import GitLabConfig
from providers.http import observe_host_calls, tls_context
from providers.registry import HostConfigs
from steps.sandbox import SandboxPolicy, find_tools
from steps.secret_refs import is_reference

__all__ = [
    "SettingsError",
    "build_queue",
    "freeze_startup_objects",
    "host_configs",
    "intake_queue_name",
    "open_services",
    "private_key_text",
    "process_mask",
    "queue_routes",
    "sandbox_policy",
]

PEM_BEGIN = "-----BEGIN"


class SettingsError(ValueError):
    """A setting names something that is not there (a key file that cannot be read)."""


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    queue: JobQueue | None = None,
    providers: ProviderFactory | None = None,
) -> AsyncIterator[Services]:
    """The process's Services on a migrated database (DatabaseNotMigrated otherwise). A given
    `queue` (the worker's, on arq's own pool) or `providers` (tests) is used, not closed."""
    async with contextlib.AsyncExitStack() as stack:
        engine = create_engine(settings)
        stack.push_async_callback(engine.dispose)
        await ensure_migrated(engine)
        mask = process_mask(settings)
        stack.enter_context(masking_logs(mask))
        observe_host_calls(metrics.host_answered, metrics.rate_limit_waited)
        if providers is None:
            pool = ProviderPool(host_configs(settings, mask))
            stack.push_async_callback(pool.aclose)
            providers = pool
        http = httpx.AsyncClient(verify=tls_context(), timeout=httpx.Timeout(30.0, connect=10.0))
        stack.push_async_callback(http.aclose)
        connections = SshConnections()
        stack.push_async_callback(connections.aclose)
        if queue is None:
            queue = build_queue(settings)
            stack.push_async_callback(queue.close)  # first to close: running jobs finish
        vault = VaultSource()  # bound to the hub below, which is built on these secrets
        secrets = Secrets.from_environ(
            settings.environ,
            own=mask,
            forbidden_variables=forbidden_variables(settings),
            forbidden_paths=forbidden_paths(settings),
            vault=vault,
        )
        sessions = session_factory(engine)
        services = Services(
            settings=settings,
            sessions=sessions,
            queue=queue,
            providers=providers,
            config_cache=ConfigCache(REPO_CONFIG),
            secrets=secrets,
            mask=mask,
            http=http,
            sandbox=sandbox_policy(settings),
            allowlist=repo_allowlist(settings),
            permissions=PermissionCache(),
            router=event_router(),
            recovery=RECOVERY,
            connections=connections,
            integrations=integration_hub(settings, sessions, http, secrets, mask),
        )
        vault.bind(vault_reader(services.integrations))
        if isinstance(queue, InProcessQueue):
            queue.bind(queue_functions(JOBS), {SERVICES: services})
        yield services


def integration_hub(
    settings: Settings,
    sessions: SessionFactory,
    http: httpx.AsyncClient,
    secrets: Secrets,
    mask: Masker,
) -> Hub:
    """The hub, with the breakers and cache times the settings give."""
    policy = BreakerPolicy(
        failure_threshold=settings.breaker_failures,
        success_threshold=settings.breaker_successes,
        open_seconds=settings.breaker_open_seconds,
    )
    return Hub(
        sessions=sessions,
        http=http,
        secrets=secrets,
        mask=mask.child(),
        catalogue=catalogue(),
        breakers=Breakers(policy),
        backoff_seconds=settings.integration_retry_seconds,
        secret_ttl_seconds=settings.secret_cache_seconds,
    )


def build_queue(settings: Settings) -> JobQueue:
    """arq on REDIS_URL, or (unset) the same jobs in this process."""
    if settings.redis_url:
        return ArqQueue(
            redis_settings(settings.redis_url, verify_tls=settings.redis_verify_tls),
            queue_name=settings.queue_name,
            pause_after_failure=settings.queue_pause_seconds,
            routes=queue_routes(settings),
        )
    return InProcessQueue()


def intake_queue_name(settings: Settings) -> str:
    return f"{settings.queue_name}-intake"


def queue_routes(settings: Settings) -> dict[str, str]:
    """The jobs that go to a queue of their own: deliveries, with SHIPYARD_INTAKE_QUEUE."""
    return {PROCESS_DELIVERIES: intake_queue_name(settings)} if settings.intake_queue else {}


def process_mask(settings: Settings) -> Masker:
    """A masker for every credential the process holds: each secret setting (one that is a
    reference, ANTHROPIC_API_KEY=vault://…, names a credential and is not one), a key file's
    contents, and the passwords in DATABASE_URL and REDIS_URL. Host clients add the tokens they
    mint; each piece of work masks with a child of it."""
    secrets: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        text = value.get_secret_value() if isinstance(value, SecretStr) else ""
        if text and not is_reference(text):
            secrets.append(text)
    key = private_key_text(settings)
    if key:
        secrets.append(key)
    for url in (settings.database_url, settings.redis_url):
        password = urlsplit(url).password if url else None
        if password:
            secrets += [password, unquote(password)]
    return Masker(secrets)


def private_key_text(settings: Settings) -> str | None:
    """GITHUB_PRIVATE_KEY as PEM text: as given, or read from the file it names."""
    value = settings.github_private_key.get_secret_value() if settings.github_private_key else ""
    if not value.strip():
        return None
    if value.lstrip().startswith(PEM_BEGIN):
        return value
    path = Path(value.strip()).expanduser()
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(
            f"GITHUB_PRIVATE_KEY is neither PEM text nor a readable key file ({path}: "
            f"{getattr(error, 'strerror', None) or type(error).__name__})"
        ) from None


def host_configs(settings: Settings, mask: Masker) -> HostConfigs:
    """Each host client's own config, from the settings."""

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() or None if value is not None else None

    return HostConfigs(
        mask=mask,
        github=GitHubConfig(
            api_url=settings.github_api_url,
            app_id=settings.github_app_id,
            private_key=private_key_text(settings),
            token=secret(settings.github_token),
        ),
        gitlab=GitLabConfig(url=settings.gitlab_url, token=secret(settings.gitlab_token)),
        gitea=GiteaConfig(url=settings.gitea_url, token=secret(settings.gitea_token)),
    )


def repo_allowlist(settings: Settings) -> RepoAllowlist:
    try:
        return RepoAllowlist.parse(settings.repo_allowlist)
    except ValueError as error:
        raise SettingsError(str(error)) from None


def sandbox_policy(settings: Settings) -> SandboxPolicy:
    """SHIPYARD_STEP_SANDBOX=none, or the sandbox's tools on this machine (or why it has
    none); as root, steps run as SHIPYARD_STEP_USER."""
    if settings.step_sandbox == "none":
        return SandboxPolicy(None)
    user = step_user(settings.step_user) if os.geteuid() == 0 else None
    return SandboxPolicy(find_tools(settings.environ.get("PATH")), user=user)


def step_user(name: str) -> tuple[int, int]:
    """(uid, gid) of SHIPYARD_STEP_USER: a user name, or `uid:gid`."""
    uid, colon, gid = name.partition(":")
    if colon and uid.isdigit() and gid.isdigit():
        return int(uid), int(gid)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise SettingsError(
            f"SHIPYARD_STEP_USER names no user of this machine ({name!r}); give a user name "
            "or uid:gid for steps to run as (never root)"
        ) from None
    if entry.pw_uid == 0:
        raise SettingsError("SHIPYARD_STEP_USER may not be root: steps run unprivileged")
    return entry.pw_uid, entry.pw_gid


def freeze_startup_objects() -> None:
    """Move what start-up allocated (modules, tables, ~130k objects) out of the collector's
    reach: a full collection otherwise scans them all, a 50-300 ms pause in the middle of
    requests."""
    gc.collect()
    gc.freeze()
