"""A rolling deploy over a real sshd, end to end in one process: four ssh targets registered on
the server, a release promoted, its files (compose lock, env file, manifest) uploaded into each
target's work dir and the deploy command run there, wave after wave; GitHub told of it request by
request. A target whose host key is not the one registered is refused before anything is
written, and the deployment fails."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.db.models.deployments import (
    DeploymentArtifact,
    DeploymentJob,
    DeploymentTask,
    JobState,
    TaskState,
)
from app.deployments import jobs
from app.deployments.artifacts.compose_lock import verify_compose_lock
from app.settings import Settings
from app.wiring import open_services
from tests.support.deploy_hosts import DeployHost, Sent, deploy_host, deploy_settings, read_config
from tests.support.deploying import deploy, ready_release, register, tasks_of
from tests.support.host_reports import (
    GITHUB,
    Deployed,
    github_deployment_status,
    github_status,
    github_until_running,
)
from tests.support.releases import digest_of
from tests.support.sshd import Sshd, another_host_key

TARGETS = ("web-1", "web-2", "web-3", "web-4")
URL = "https://staging.acme.example"
LOCK = "shipyard.compose.lock.yml"
# What each target ran with, then the lock's sha256 as the target computed it.
DEPLOY = (
    'echo "$SHIPYARD_TARGET $SHIPYARD_DIGEST $SHIPYARD_ENVIRONMENT $SHIPYARD_RELEASE '
    '$SHIPYARD_COMPONENT $SHIPYARD_JOB_ID $SHIPYARD_TASK_ID" >> deployed\n'
    f"sha256sum {LOCK} >> deployed\n"
)
CONFIG = yaml.safe_dump(
    {
        "components": {"web": {"image": "registry.example.com/acme/web"}},
        "environments": {
            "staging": {
                "targets": list(TARGETS),
                "strategy": {"type": "rolling", "batch_size": 2},
                "deploy": {"command": DEPLOY},
                "artifacts": ["compose-lock", "env-file", "manifest"],
                "url": URL,
            }
        },
    },
    sort_keys=False,
)


@pytest.fixture
def settings(migrated: str) -> Settings:
    return deploy_settings(migrated, GITHUB)


def work_dir(directory: Path, name: str) -> Path:
    return directory / "targets" / name


def connection(sshd: Sshd, workdir: Path, known_host: str) -> dict[str, Any]:
    return {
        "type": "ssh",
        "host": sshd.host,
        "port": sshd.port,
        "user": sshd.user,
        "workdir": str(workdir),
        "known_host": known_host,
    }


@dataclass(frozen=True)
class Deployment:
    """A job run to its end: as the host should hear of it, its tasks, its stored files, and
    where its calls start among the host's."""

    job: DeploymentJob
    deployed: Deployed
    rows: list[DeploymentTask]
    files: dict[str, DeploymentArtifact]
    since: int


async def deploy_v1(
    settings: Settings, host: DeployHost, sshd: Sshd, directory: Path, known: dict[str, str]
) -> Deployment:
    """Register the targets (each with its `known` host key line), deploy v1 to staging."""
    async with open_services(settings) as services:
        for name in TARGETS:
            await register(
                services,
                name,
                connection(sshd, work_dir(directory, name), known[name]),
                credential=f"file://{sshd.key_path}",
            )
        release = await ready_release(services.sessions, "v1")
        since = len(host.calls)
        job = await deploy(services, release, "staging")
        rows = await tasks_of(services, job.id or 0)
        stored = await jobs.artifacts_of(services.sessions, job.id or 0, "deploy")
    deployed = Deployed(job.id or 0, release, "v1", "staging", URL)
    return Deployment(job, deployed, rows, {row.name: row for row in stored}, since)


def reported(job: Deployed, deployment_id: int, state: str, text: str) -> list[Sent]:
    """What GitHub hears of a job that ends `state` (success, failure) saying `text`."""
    return [
        *read_config(GITHUB),
        *github_until_running(job, deployment_id),
        github_deployment_status(job, deployment_id, state, text),
        github_status(job, state, text),
    ]


async def test_a_rolling_deploy_writes_the_pinned_files_and_runs_the_command_on_each_target(
    settings: Settings, sshd: Sshd, tmp_path: Path
) -> None:
    digest = digest_of("web-v1")
    with deploy_host(GITHUB, CONFIG) as host:
        known = dict.fromkeys(TARGETS, sshd.host_public_key)
        done = await deploy_v1(settings, host, sshd, tmp_path, known)
    assert done.job.state == JobState.COMPLETED, done.job.error

    # Two waves of two, the second started once the first had ended.
    rows = done.rows
    assert [(t.wave, t.target, t.state, t.attempts) for t in rows] == [
        (0, "web-1", TaskState.SUCCEEDED, 1),
        (0, "web-2", TaskState.SUCCEEDED, 1),
        (1, "web-3", TaskState.SUCCEEDED, 1),
        (1, "web-4", TaskState.SUCCEEDED, 1),
    ]
    first_ended = [t.finished_at for t in rows[:2] if t.finished_at is not None]
    second_started = [t.started_at for t in rows[2:] if t.started_at is not None]
    assert len(first_ended) == len(second_started) == 2
    assert max(first_ended) <= min(second_started)

    # The lock is pinned by digest, and is its own: its sha256 is the one stored with the job.
    assert sorted(done.files) == ["compose-lock", "env-file", "manifest"]
    lock = done.files["compose-lock"]
    assert lock.filename == LOCK
    assert hashlib.sha256(lock.content.encode()).hexdigest() == lock.sha256
    assert verify_compose_lock(lock.content.encode())
    services = yaml.safe_load(lock.content)["services"]
    assert services["web"]["image"] == f"registry.example.com/acme/web@{digest}"

    for task in rows:
        assert task.target is not None
        workdir = work_dir(tmp_path, task.target)
        # Each work dir holds the job's files as stored, readable by their owner only.
        for stored in done.files.values():
            written = workdir / stored.filename
            assert written.read_bytes() == stored.content.encode(), stored.filename
            assert written.stat().st_mode & 0o777 == 0o600
        written_lock = (workdir / LOCK).read_bytes()
        assert hashlib.sha256(written_lock).hexdigest() == lock.sha256
        assert verify_compose_lock(written_lock)
        # The command ran once there, with the task's variables, and saw the same lock.
        assert (workdir / "deployed").read_text().splitlines() == [
            f"{task.target} {digest} staging v1 web {done.job.id} {task.id}",
            f"{lock.sha256}  {LOCK}",
        ]
        assert list((workdir / ".shipyard").iterdir()) == []  # env file and script removed

    [made] = host.deployments
    job = done.deployed
    assert host.sent(done.since) == reported(job, made["id"], "success", f"{job.words}: done")
    assert host.deployment_statuses == {made["id"]: ["queued", "in_progress", "success"]}
    assert host.unexpected == []


async def test_a_target_whose_host_key_is_not_the_registered_one_is_refused(
    settings: Settings, sshd: Sshd, tmp_path: Path
) -> None:
    other_key, other_fingerprint = another_host_key(tmp_path)
    known = dict.fromkeys(TARGETS, sshd.host_public_key) | {"web-1": other_key}
    with deploy_host(GITHUB, CONFIG) as host:
        done = await deploy_v1(settings, host, sshd, tmp_path, known)
    assert done.job.state == JobState.FAILED
    assert [(t.target, t.state) for t in done.rows] == [
        ("web-1", TaskState.FAILED),
        ("web-2", TaskState.SUCCEEDED),
        ("web-3", TaskState.CANCELLED),
        ("web-4", TaskState.CANCELLED),
    ]
    refused = done.rows[0].error or ""
    assert f"the host key of {sshd.host}:{sshd.port} is not the target's" in refused
    assert f"the server offered ssh-ed25519 {sshd.host_fingerprint}" in refused
    assert f"expected ssh-ed25519 {other_fingerprint}" in refused
    assert "web-1" in (done.job.error or "")
    # Nothing reached web-1 (nor the targets that never ran); web-2 got its files.
    assert not work_dir(tmp_path, "web-1").exists()
    assert not work_dir(tmp_path, "web-3").exists()
    assert not work_dir(tmp_path, "web-4").exists()
    assert (work_dir(tmp_path, "web-2") / LOCK).exists()

    [made] = host.deployments
    job = done.deployed
    failed = f"{job.words}: failed: {done.job.error}"
    assert host.sent(done.since) == reported(job, made["id"], "failure", failed)
    assert host.deployment_statuses == {made["id"]: ["queued", "in_progress", "failure"]}
    assert host.unexpected == []
