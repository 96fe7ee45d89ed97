"""What each Git host is told of a deployment, request by request, through the real host
clients with the hosts faked at HTTP: a deployment made when the job starts preparing, its
statuses as it runs and ends, the `shipyard/deploy/<env>` commit status from waiting to the
end, and one pull request comment made and then edited. A job that fails and rolls back ends
its deployment failed, and its rollback gets a deployment of its own, describing itself as the
rollback. GitLab's deployments are made running and never set running again. On Gitea the
deployment is the commit status: one context, never two, made linking to the job's page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from app.db.models.deployments import DeploymentJob, JobState, TaskKind, TaskState
from app.settings import Settings
from app.wiring import open_services
from tests.support.deploy_hosts import (
    DeployHost,
    deploy_host,
    deploy_settings,
    progress_body,
    read_config,
    ready_release_on,
)
from tests.support.deploying import command_target, deploy, marker_script, register, tasks_of
from tests.support.host_reports import (
    GITEA,
    GITHUB,
    GITLAB,
    Deployed,
    described,
    gitea_comments,
    gitea_edited_comment,
    gitea_new_comment,
    gitea_open_pulls,
    gitea_status,
    github_comments,
    github_deployment,
    github_deployment_status,
    github_edited_comment,
    github_new_comment,
    github_status,
    github_until_running,
    gitlab_deployment,
    gitlab_deployment_status,
    gitlab_edited_note,
    gitlab_environment_named,
    gitlab_merge_requests_of,
    gitlab_new_environment,
    gitlab_new_note,
    gitlab_notes,
    gitlab_status,
    gitlab_tag,
)
from tests.support.releases import digest_of, sha_of

STAGING_URL = "https://staging.acme.example"
PRODUCTION_URL = "https://production.acme.example"
PULL = 7  # the open pull request whose head is v1's commit
BAD = digest_of("web-v2")  # the health check fails wherever it runs

CONFIG = f"""
components:
  web: {{image: registry.example.com/acme/web}}
environments:
  staging:
    targets: [s1, s2]
    strategy: {{type: rolling, batch_size: 1}}
    url: {STAGING_URL}
  production:
    targets: [p1, p2]
    strategy: {{type: canary, canary: 1}}
    health: {{command: '[ "$SHIPYARD_DIGEST" != "{BAD}" ]', retries: 0}}
    rollback: auto
    production: true
    url: {PRODUCTION_URL}
"""


@pytest.fixture
def settings_for(migrated: str) -> dict[str, Settings]:
    return {provider: deploy_settings(migrated, provider) for provider in (GITHUB, GITLAB, GITEA)}


@dataclass(frozen=True)
class Ran:
    """A job run to its end, and where its calls start among the host's."""

    job: DeploymentJob
    deployed: Deployed
    since: int


async def add_targets(settings: Settings, directory: Path) -> None:
    async with open_services(settings) as services:
        for name in ("s1", "s2", "p1", "p2"):
            await register(services, name, command_target(marker_script(directory)))


async def run_job(settings: Settings, host: DeployHost, release: str, environment: str) -> Ran:
    """Release `release` promoted to `environment` and run to its end, in a process of its own
    (so its config is read afresh, as a new command's would be)."""
    async with open_services(settings) as services:
        release_id = await ready_release_on(services.sessions, host.provider, release)
        since = len(host.calls)
        job = await deploy(services, release_id, environment)
    url = STAGING_URL if environment == "staging" else PRODUCTION_URL
    deployed = Deployed(
        job.id or 0, release_id, release, environment, url, production=environment != "staging"
    )
    return Ran(job, deployed, since)


def ran(directory: Path) -> list[str]:
    path = directory / "ran"
    return path.read_text().splitlines() if path.exists() else []


def staging_rows(state: str) -> list[tuple[str, str, str]]:
    return [("deploy web", "s1", state), ("deploy web", "s2", state)]


# Staging deploys one target at a time: the comment is edited as its second wave begins.
SECOND_WAVE = [("deploy web", "s1", "succeeded"), ("deploy web", "s2", "queued")]


async def rolled_back(settings: Settings, host: DeployHost, directory: Path) -> tuple[Ran, Ran]:
    """v1 deployed to production, then v2, whose canary fails its health check and is rolled
    back to v1."""
    await add_targets(settings, directory)
    first = await run_job(settings, host, "v1", "production")
    assert first.job.state == JobState.COMPLETED, first.job.error
    second = await run_job(settings, host, "v2", "production")
    async with open_services(settings) as services:
        rows = await tasks_of(services, second.job.id or 0)
    assert second.job.state == JobState.ROLLED_BACK, second.job.error
    assert "deploying failed on p1" in (second.job.error or "")
    good = digest_of("web-v1")
    assert ran(directory)[-2:] == [f"p1 web {BAD}", f"p1 web {good} rollback"]
    assert [(t.kind, t.target, t.state) for t in rows] == [
        (TaskKind.DEPLOY, "p1", TaskState.FAILED),
        (TaskKind.DEPLOY, "p2", TaskState.CANCELLED),
        (TaskKind.ROLLBACK, "p1", TaskState.SUCCEEDED),
    ]
    assert host.unexpected == []
    return first, second


# --- GitHub ------------------------------------------------------------------------------------


async def test_github_hears_of_a_deployment_and_its_comment_is_made_then_edited(
    settings_for: dict[str, Settings], tmp_path: Path
) -> None:
    with deploy_host(GITHUB, CONFIG, open_pulls={sha_of("v1"): PULL}) as host:
        await add_targets(settings_for[GITHUB], tmp_path)
        done = await run_job(settings_for[GITHUB], host, "v1", "staging")
    job = done.deployed
    assert done.job.state == JobState.COMPLETED, done.job.error
    [made] = host.deployments
    [comment] = host.comments[PULL]
    running = progress_body(job.id, job.words, "running", staging_rows("pending"), wave="Wave 1/2")
    second = progress_body(job.id, job.words, "running", SECOND_WAVE, wave="Wave 2/2")
    completed = progress_body(job.id, job.words, "completed", staging_rows("succeeded"))
    assert host.sent(done.since) == [
        *read_config(GITHUB),
        *github_until_running(job, made["id"]),
        github_comments(PULL),
        github_new_comment(PULL, running),
        github_edited_comment(comment["id"], second),
        github_deployment_status(job, made["id"], "success", f"{job.words}: done"),
        github_status(job, "success", f"{job.words}: done"),
        github_edited_comment(comment["id"], completed),
    ]
    assert comment["body"] == completed
    assert host.deployment_statuses == {made["id"]: ["queued", "in_progress", "success"]}
    assert host.unexpected == []


async def test_github_a_rolled_back_deployment_fails_and_the_rollback_gets_its_own(
    settings_for: dict[str, Settings], tmp_path: Path
) -> None:
    with deploy_host(GITHUB, CONFIG) as host:
        first, second = await rolled_back(settings_for[GITHUB], host, tmp_path)
    v1, v2 = first.deployed, second.deployed
    first_made, second_made, rollback_made = (made["id"] for made in host.deployments)
    assert host.sent(first.since, second.since) == [
        *read_config(GITHUB),
        *github_until_running(v1, first_made),
        github_deployment_status(v1, first_made, "success", f"{v1.words}: done"),
        github_status(v1, "success", f"{v1.words}: done"),
    ]
    reason = second.job.error or ""
    ended = f"{v2.words}: rolled back ({reason})"
    rollback = v2.rollback_words("v1")
    assert host.sent(second.since) == [
        *read_config(GITHUB),
        *github_until_running(v2, second_made),
        github_deployment_status(v2, second_made, "failure", f"failed: {reason}"),
        github_deployment(v2, kind="rollback", sha=v1.sha, text=rollback),
        github_deployment_status(v2, rollback_made, "in_progress", rollback),
        github_status(v2, "pending", f"{v2.words} failed; rolling back: {reason}"),
        github_deployment_status(v2, rollback_made, "success", f"{rollback}: done"),
        github_status(v2, "failure", ended),  # the commit's status: the deploy's words
    ]
    assert host.deployments[2]["description"] == "roll production back to v1"
    assert host.deployments[2]["ref"] == v1.sha
    assert host.deployment_statuses == {
        first_made: ["queued", "in_progress", "success"],
        second_made: ["queued", "in_progress", "failure"],
        rollback_made: ["in_progress", "success"],
    }


# --- GitLab ------------------------------------------------------------------------------------


async def test_gitlab_hears_of_a_deployment_in_its_environment_and_the_note_is_edited(
    settings_for: dict[str, Settings], tmp_path: Path
) -> None:
    with deploy_host(GITLAB, CONFIG, open_pulls={sha_of("v1"): PULL}) as host:
        await add_targets(settings_for[GITLAB], tmp_path)
        done = await run_job(settings_for[GITLAB], host, "v1", "staging")
    job = done.deployed
    assert done.job.state == JobState.COMPLETED, done.job.error
    [made] = host.deployments
    [note] = host.comments[PULL]
    running = progress_body(job.id, job.words, "running", staging_rows("pending"), wave="Wave 1/2")
    second = progress_body(job.id, job.words, "running", SECOND_WAVE, wave="Wave 2/2")
    completed = progress_body(job.id, job.words, "completed", staging_rows("succeeded"))
    assert host.sent(done.since) == [
        *read_config(GITLAB),
        gitlab_status(job, "pending", f"{job.words}: queued"),
        gitlab_environment_named("staging"),
        gitlab_new_environment("staging", STAGING_URL, "staging"),
        gitlab_tag(job.sha),
        gitlab_deployment(job),  # running already: queued and in progress send nothing
        gitlab_status(job, "running", f"{job.words}: running"),
        gitlab_merge_requests_of(job.sha),
        gitlab_notes(PULL),
        gitlab_new_note(PULL, running),
        gitlab_edited_note(PULL, note["id"], second),
        gitlab_deployment_status(made["id"], "success"),
        gitlab_status(job, "success", f"{job.words}: done"),
        gitlab_edited_note(PULL, note["id"], completed),
    ]
    assert [(env["name"], env["tier"], env["external_url"]) for env in host.environments] == [
        ("staging", "staging", STAGING_URL)
    ]
    assert host.deployment_statuses == {made["id"]: ["running", "success"]}
    assert [(s["name"], s["status"], s["description"]) for s in host.commit_statuses] == [
        (job.context, "success", f"{job.words}: done")
    ]
    assert note["body"] == completed
    assert host.unexpected == []


async def test_gitlab_a_rolled_back_deployment_fails_and_the_rollback_gets_its_own(
    settings_for: dict[str, Settings], tmp_path: Path
) -> None:
    with deploy_host(GITLAB, CONFIG) as host:
        first, second = await rolled_back(settings_for[GITLAB], host, tmp_path)
    v1, v2 = first.deployed, second.deployed
    first_made, second_made, rollback_made = (made["id"] for made in host.deployments)
    assert host.sent(first.since, second.since) == [
        *read_config(GITLAB),
        gitlab_status(v1, "pending", f"{v1.words}: queued"),
        gitlab_environment_named("production"),
        gitlab_new_environment("production", PRODUCTION_URL, "production"),
        gitlab_tag(v1.sha),
        gitlab_deployment(v1),
        gitlab_status(v1, "running", f"{v1.words}: running"),
        gitlab_merge_requests_of(v1.sha),
        gitlab_deployment_status(first_made, "success"),
        gitlab_status(v1, "success", f"{v1.words}: done"),
    ]
    reason = second.job.error or ""
    assert host.sent(second.since) == [
        *read_config(GITLAB),
        gitlab_status(v2, "pending", f"{v2.words}: queued"),
        gitlab_environment_named("production"),  # there, at its URL: left as it is
        gitlab_tag(v2.sha),
        gitlab_deployment(v2),
        gitlab_status(v2, "running", f"{v2.words}: running"),
        gitlab_merge_requests_of(v2.sha),
        gitlab_deployment_status(second_made, "failed"),
        gitlab_environment_named("production"),
        gitlab_tag(v1.sha),
        gitlab_deployment(v2, sha=v1.sha),  # the rollback's, made running
        # Refused (400): a running status cannot run again ("Cannot transition status via
        # :run from :running"), so GitLab keeps showing the deploy running.
        gitlab_status(v2, "running", f"{v2.words} failed; rolling back: {reason}"),
        gitlab_deployment_status(rollback_made, "success"),
        gitlab_status(v2, "failed", f"{v2.words}: rolled back ({reason})"),
    ]
    assert host.deployment_statuses == {
        first_made: ["running", "success"],
        second_made: ["running", "failed"],
        rollback_made: ["running", "success"],
    }
    assert [(s["sha"], s["status"]) for s in host.commit_statuses] == [
        (v1.sha, "success"),
        (v2.sha, "failed"),
    ]


# --- Gitea -------------------------------------------------------------------------------------


async def test_gitea_hears_of_a_deployment_as_one_commit_status(
    settings_for: dict[str, Settings], tmp_path: Path
) -> None:
    with deploy_host(GITEA, CONFIG, open_pulls={sha_of("v1"): PULL}) as host:
        await add_targets(settings_for[GITEA], tmp_path)
        done = await run_job(settings_for[GITEA], host, "v1", "staging")
    job = done.deployed
    assert done.job.state == JobState.COMPLETED, done.job.error
    [comment] = host.comments[PULL]
    running = progress_body(job.id, job.words, "running", staging_rows("pending"), wave="Wave 1/2")
    second = progress_body(job.id, job.words, "running", SECOND_WAVE, wave="Wave 2/2")
    completed = progress_body(job.id, job.words, "completed", staging_rows("succeeded"))
    queued = f"Deployment to staging is queued: {job.words}"
    assert host.sent(done.since) == [
        *read_config(GITEA),
        gitea_status(job, "pending", f"{job.words}: queued"),
        gitea_status(job, "pending", queued),  # the deployment made, linking the job's page
        gitea_status(job, "pending", f"Deploying to staging: {job.words}"),
        gitea_open_pulls(),
        gitea_comments(PULL),
        gitea_new_comment(PULL, running),
        gitea_edited_comment(comment["id"], second),
        gitea_status(job, "success", f"Deployed to staging: {job.words}: done"),
        gitea_edited_comment(comment["id"], completed),
    ]
    assert host.api is not None
    assert {status.body["context"] for status in host.api.statuses} == {job.context}
    assert [call.path for call in host.calls if "/deployments" in call.path] == []
    assert comment["body"] == completed
    assert host.unexpected == []


async def test_gitea_a_rolled_back_deployment_fails_and_the_rollback_is_on_the_old_commit(
    settings_for: dict[str, Settings], tmp_path: Path
) -> None:
    with deploy_host(GITEA, CONFIG) as host:
        first, second = await rolled_back(settings_for[GITEA], host, tmp_path)
    v1, v2 = first.deployed, second.deployed
    assert host.sent(first.since, second.since) == [
        *read_config(GITEA),
        gitea_status(v1, "pending", f"{v1.words}: queued"),
        gitea_status(v1, "pending", f"Deployment to production is queued: {v1.words}"),
        gitea_status(v1, "pending", f"Deploying to production: {v1.words}"),
        gitea_open_pulls(),
        gitea_status(v1, "success", f"Deployed to production: {v1.words}: done"),
    ]
    reason = second.job.error or ""
    rollback = v2.rollback_words("v1")
    assert host.sent(second.since) == [
        *read_config(GITEA),
        gitea_status(v2, "pending", f"{v2.words}: queued"),
        gitea_status(v2, "pending", f"Deployment to production is queued: {v2.words}"),
        gitea_status(v2, "pending", f"Deploying to production: {v2.words}"),
        gitea_open_pulls(),
        gitea_status(
            v2, "failure", f"Deployment to production failed: {described(f'failed: {reason}')}"
        ),
        # The rollback's deployment: the status on the commit it puts back.
        gitea_status(v2, "pending", f"Deployment to production is queued: {rollback}", sha=v1.sha),
        gitea_status(v2, "pending", f"Deploying to production: {rollback}", sha=v1.sha),
        gitea_status(v2, "success", f"Deployed to production: {rollback}: done", sha=v1.sha),
    ]
    assert host.api is not None
    assert {status.body["context"] for status in host.api.statuses} == {v1.context}
    assert [call.path for call in host.calls if "/deployments" in call.path] == []
