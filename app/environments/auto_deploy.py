"""`auto_deploy: true`: every new release goes to such an environment by itself — through the
same gate as any promotion, asked for by whoever made the release: the person whose push or
release made it (their role, asked of the host), the service account that created it through
the API (its permission and repositories), the operator at the command line, or, for a
registry's push, the server's registry notifications (as a writer would)."""

from __future__ import annotations

import logging

from app.accounts.store import acting_caller
from app.db.models.deliveries import Delivery
from app.db.models.releases import Release
from app.deployments import jobs
from app.deployments.reporting import deploy_context, status_description
from app.environments.config import environments_of
from app.environments.promotion import Promotion, Refusal, promote
from app.environments.requesters import Requester
from app.pipelines.default_config import read_default_config
from app.repo_config.errors import ConfigError
from app.services import Services
from providers.errors import ProviderError
from providers.vocabulary import CommitState, CommitStatus, Repo

__all__ = ["AUTO_DEPLOY", "deploy_new_release", "release_requester"]

log = logging.getLogger(__name__)

AUTO_DEPLOY = "auto_deploy"


async def release_requester(services: Services, release: Release) -> Requester | None:
    """Who asks for a release's automatic deployments: whoever made it (None when that can
    no longer be told, e.g. a revoked account)."""
    kind = release.created_by_kind
    if kind == "cli":
        return Requester.operator(release.created_by)
    if kind == "service_account":
        caller = await acting_caller(services.sessions, release.created_by)
        return Requester.service_account(caller) if caller is not None else None
    if release.delivery_pk is None:
        return None
    async with services.sessions() as session:
        delivery = await session.get(Delivery, release.delivery_pk)
    if delivery is None:
        return None
    if delivery.provider == "registry":
        return Requester.registry()
    actor = ((delivery.normalised or {}).get("actor") or {}).get("login")
    return Requester.person(release.provider, actor) if actor else None


async def deploy_new_release(services: Services, release: Release) -> list[int]:
    """Promote a ready release to each environment that says `auto_deploy: true`; the jobs
    made. A refusal is set as a failing `shipyard/deploy/<env>` status on its commit."""
    assert release.id is not None
    client = services.providers(release.provider, release.installation_id)
    repo = Repo(release.repository)
    try:
        config = await read_default_config(
            services, client, release.provider, repo, default_branch=None
        )
    except (ConfigError, ProviderError) as error:
        log.warning("release %s: auto_deploy not read: %s", release.id, error)
        return []
    wanted = [
        name
        for name, spec in (environments_of(config) if config else {}).items()
        if spec.auto_deploy
    ]
    if not wanted:
        return []
    requester = await release_requester(services, release)
    made: list[int] = []
    for name in wanted:
        earlier = await jobs.list_jobs(
            services.sessions, release_id=release.id, environment=name, limit=100
        )
        if any(job.via == AUTO_DEPLOY for job in earlier):
            continue  # this release was handed to the environment already
        try:
            if requester is None:
                raise Refusal(
                    "deployers",
                    f"who made release {release.name} cannot be told any more, so nobody asks "
                    "for its automatic deployment",
                )
            job = await promote(services, Promotion(release.id, name, requester, via=AUTO_DEPLOY))
        except Refusal as refusal:
            await _refused(services, release, name, refusal)
            continue
        made.append(job.id or 0)
    return made


async def _refused(services: Services, release: Release, environment: str, why: Refusal) -> None:
    log.warning("release %s: auto_deploy to %s refused: %s", release.id, environment, why)
    if release.commit_sha is None:
        return
    client = services.providers(release.provider, release.installation_id)
    status = CommitStatus(
        state=CommitState.FAILURE,
        context=deploy_context(environment),
        description=status_description(f"auto_deploy refused: {why}"),
    )
    try:
        await client.set_commit_status(Repo(release.repository), release.commit_sha, status)
    except ProviderError as error:
        log.warning("release %s: the refusal was not reported: %s", release.id, error)
