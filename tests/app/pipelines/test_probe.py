"""The attacker's probe, end to end: signed pull-request deliveries through the real intake (a
real uvicorn), the real arq worker on Redis, the real sandbox. A script that runs in a
same-repository pipeline (with a granted secret) and in the `forks: true` pipeline of a fork's
pull request tries to read what the worker holds and to reach the machine's services. It must
find nothing, reach nothing, and leak nothing — not even encoded — into the run's logs and
outputs, the database, or what the host is sent."""

from __future__ import annotations

import asyncio
import base64
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.main import create_app
from tests.support.database import everything
from tests.support.deliveries import delivery
from tests.support.engine import define_secret
from tests.support.hosts import FORK, NEXT_SHA, FakeHost, github, pull_request_delivery
from tests.support.http import serving
from tests.support.runs import all_runs
from tests.support.services import require_sandbox
from tests.support.settings import SECRETS, make_settings
from tests.support.tcp import REACH, Listener, listening
from tests.support.worker import run_worker_until_idle

CANARIES = {
    "token": "ghp_ProbeCanaryHostToken0123456789",  # Shipyard's own GITHUB_TOKEN
    "webhook secret": SECRETS["GITHUB_WEBHOOK_SECRET"],
    "worker env": "probe-canary-in-the-workers-environment",
    "dotenv": "probe-canary-in-the-dotenv-file",
    "data dir": "probe-canary-in-the-data-dir",
    "other run": "probe-canary-in-another-runs-workspace",
    "granted": "probe-canary-granted-deploy-key",  # the step may have it; nobody may see it
}
TARGETS = ("data-dir", "dotenv", "other-run", "database")
SERVICES = ("postgres", "redis", "shipyard", "listener", "host-loopback")


def encodings(value: str) -> set[str]:
    raw = value.encode()
    padded = base64.b64encode(raw).decode()
    urlsafe = base64.urlsafe_b64encode(raw).decode()
    return {value, padded, padded.rstrip("="), urlsafe, urlsafe.rstrip("="), raw.hex()}


@pytest.fixture
def home() -> Iterator[Path]:
    """Where the operator runs Shipyard: its .env, and its data directory beside it."""
    path = Path(tempfile.mkdtemp(prefix="shipyard-probe-"))
    path.chmod(0o711)
    (path / ".env").write_text(f"GITHUB_TOKEN={CANARIES['dotenv']}\n")
    data = path / "data"
    data.mkdir(mode=0o711)
    (data / "canary").write_text(CANARIES["data dir"])
    (data / "workspaces" / "999").mkdir(parents=True)
    (data / "workspaces" / "999" / "canary").write_text(CANARIES["other run"])
    yield path
    shutil.rmtree(path, ignore_errors=True)


def probe(home: Path, database: str, shipyard_port: int, listener: Listener) -> str:
    """The script: what it finds, one `probe:` line each, between a start and an end marker."""
    data = home / "data"
    return (
        REACH
        + f"""
echo probe:start
for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < "$f" || true; done | sed 's/^/environ /'
tr '\\0' '\\n' < /proc/$PPID/environ | sed 's/^/environ /' || true
look() {{
  if [ -e "$2" ]; then echo "probe:$1:found"; head -c 4000 "$2"; echo
  else echo "probe:$1:missing"; fi
}}
look data-dir {data / "canary"}
look dotenv {home / ".env"}
look other-run {data / "workspaces" / "999" / "canary"}
look database {database or "/nonexistent"}
echo "probe:postgres:$(reach 127.0.0.1 5432)"
echo "probe:redis:$(reach 127.0.0.1 6379)"
echo "probe:shipyard:$(reach 127.0.0.1 {shipyard_port})"
echo "probe:listener:$(reach 127.0.0.1 {listener.port})"
echo "probe:host-loopback:$(reach 10.0.2.2 {listener.port})"
echo probe:end
"""
    )


# What the same-repository run does with the secret it was granted: print it every way.
LEAK_THE_GRANT = """
printf '%s\\n' "$KEY"
printf '%s' "$KEY" | base64 -w0; echo
printf '%s' "$KEY" | base64 -w0 | tr -d =; echo
printf '%s' "$KEY" | base64 -w0 | tr '+/' '-_'; echo
printf '%s' "$KEY" | od -An -tx1 | tr -d ' \\n'; echo
echo "leak=$KEY" >> "$SHIPYARD_OUTPUT"
"""


def config(script: str) -> str:
    def block(text: str) -> str:
        return "\n".join(f"            {line}" for line in text.strip().splitlines())

    return f"""
pipelines:
  same-repo:
    on: {{pull_request: [opened]}}
    env: {{KEY: "secret://DEPLOY_KEY"}}
    steps:
      - name: probe
        type: run_command
        config:
          command: |
{block(script + LEAK_THE_GRANT)}
  forks:
    on: {{pull_request: [opened]}}
    forks: true
    steps:
      - name: probe
        type: run_command
        config:
          command: |
{block(script)}
"""


async def deliver(url: str, number: int, head_repo: str, sha: str) -> None:
    event, payload = pull_request_delivery("github", number=number, head_repo=head_repo, sha=sha)
    body, headers = delivery("github", event, payload)
    request = urllib.request.Request(f"{url}/webhooks/github", body, headers, method="POST")  # noqa: S310
    # Not httpx: respx, standing in for GitHub, answers every httpx request of this process.
    with await asyncio.to_thread(urllib.request.urlopen, request) as response:
        assert response.status == 202


# What the worker's environment holds that a step's must not.
WORKER_ONLY = {"GITHUB_TOKEN", "GITHUB_WEBHOOK_SECRET", "DATABASE_URL", "REDIS_URL"}
WORKER_ONLY |= {"PROBE_WORKER_CANARY", "PROBE_DEPLOY_KEY"}


def found_in(text: str) -> list[str]:
    """The canaries in `text`, in any of their encodings."""
    return [name for name, value in CANARIES.items() if any(f in text for f in encodings(value))]


def environment_names(log: str) -> set[str]:
    """The variables the probe saw in /proc/*/environ."""
    return {
        line.removeprefix("environ ").partition("=")[0]
        for line in log.splitlines()
        if line.startswith("environ ")
    }


def sent_to_host(host: FakeHost) -> str:
    """What was sent to the host, but its credentials (Shipyard's token goes with every call)."""
    return "\n".join(f"{s.method} {s.url} {s.body}" for s in host.sent)


async def test_a_probe_finds_nothing_reaches_nothing_and_leaks_nothing(
    migrated: str, redis_url: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_sandbox()
    monkeypatch.setenv("PROBE_WORKER_CANARY", CANARIES["worker env"])
    monkeypatch.setenv("PROBE_DEPLOY_KEY", CANARIES["granted"])
    database = migrated.removeprefix("sqlite:///") if migrated.startswith("sqlite") else ""
    async with listening("127.0.0.1") as listener:
        with github("") as host:
            host.fork_pulls.add(8)
            settings = make_settings(
                migrated,
                REDIS_URL=redis_url,
                SHIPYARD_DATA_DIR=str(home / "data"),
                GITHUB_TOKEN=CANARIES["token"],
            )
            await define_secret(settings, "DEPLOY_KEY", "env://PROBE_DEPLOY_KEY", ["github:acme/*"])
            async with serving(create_app(settings)) as url:
                port = int(url.rsplit(":", 1)[1])
                host.config = config(probe(home, database, port, listener))
                await deliver(url, 7, "acme/web", "a" * 40)
                await deliver(url, 8, FORK, NEXT_SHA)
                worker = await run_worker_until_idle(settings)
            accepted = listener.accepted

    assert worker.jobs_failed == 0
    runs = await all_runs(settings)
    assert sorted((r.pipeline, r.pr_number, r.spec["trusted"]) for r, _ in runs) == [
        ("forks", 7, True),
        ("forks", 8, False),
        ("same-repo", 7, True),
    ]
    for run, [step] in runs:
        lines = step.log.splitlines()
        assert (run.state, step.state) == ("succeeded", "succeeded"), (step.error, step.log)
        assert "probe:start" in lines  # the script ran, to its end
        assert "probe:end" in lines
        seen = environment_names(step.log)
        assert "PATH" in seen  # it read /proc: the sandbox's own processes
        assert not seen & WORKER_ONLY, seen
        for target in TARGETS:
            assert f"probe:{target}:missing" in lines, (target, step.log)
        for service in SERVICES:
            assert f"probe:{service}:unreachable" in lines, (service, step.log)
        assert found_in(step.log + repr(step.outputs) + (step.error or "")) == []
    [same_repo] = [step for run, [step] in runs if run.pipeline == "same-repo"]
    assert same_repo.outputs["leak"] == "***"  # the grant reached the step, and only the step
    assert same_repo.log.count("***") >= 5
    assert accepted == 0
    assert found_in(await everything(settings)) == []
    assert found_in(sent_to_host(host)) == []
