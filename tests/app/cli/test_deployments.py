"""`shipyard deploy|rollback|deployments|environments`: promotions from the server's command
line through the one gate, run to their end right here (no REDIS_URL), against a GitHub API
stand-in on loopback that serves the config and people's roles and records what it is told."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from app.cli import main
from app.settings import Settings
from app.wiring import open_services
from tests.support.deploying import command_target, marker_script, ready_release, register
from tests.support.fake_github import FakeGitHub
from tests.support.http import serving
from tests.support.releases import digest_of
from tests.support.settings import make_settings

CONFIG = """
components:
  web: {image: registry.example.com/acme/web}
environments:
  staging:
    targets: [s1]
    deployers: maintain
"""


@dataclass
class Shipyard:
    env: dict[str, str]
    settings: Settings
    host: FakeGitHub

    async def __call__(self, *args: str) -> Result:
        runner = CliRunner()
        return await asyncio.to_thread(runner.invoke, main, list(args), env=self.env)


@pytest.fixture
async def shipyard(migrated: str, tmp_path: Path) -> AsyncIterator[Shipyard]:
    host = FakeGitHub(files={("acme/web", ".shipyard.yml"): CONFIG.encode()})
    host.roles = {"wanda": "write", "maggie": "maintain"}
    async with serving(host.app()) as api_url:
        env = {
            "DATABASE_URL": migrated,
            "GITHUB_TOKEN": "ghp_cli_deploy",
            "GITHUB_API_URL": api_url,
            "REDIS_URL": "",
            "SHIPYARD_STEP_SANDBOX": "none",
            "SHIPYARD_HEARTBEAT": "0.2",
            "SHIPYARD_PUBLIC_URL": "http://shipyard.test",
        }
        settings = make_settings(migrated, **{k: v for k, v in env.items() if k != "REDIS_URL"})
        async with open_services(settings) as services:
            await register(services, "s1", command_target(marker_script(tmp_path)))
            for name in ("v1", "v2"):
                await ready_release(services.sessions, name)
        yield Shipyard(env, settings, host)


async def test_a_person_below_the_deployers_role_is_refused(shipyard: Shipyard) -> None:
    result = await shipyard("deploy", "1", "--env", "staging", "--as", "github:wanda")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: refused (deployers): github:wanda may not deploy to staging: it needs maintain "
        "on acme/web, and github:wanda has write (the environment's `deployers: maintain` "
        "decides)"
    )
    listed = await shipyard("deployments", "list")
    assert listed.output == "no deployments yet\n"


async def test_deploy_runs_here_and_rollback_goes_back(shipyard: Shipyard, tmp_path: Path) -> None:
    first = await shipyard("deploy", "v1", "--repo", "github:acme/web", "--env", "staging")
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[0] == "deployment 1 of release 1 to staging: completed"
    assert first.output.splitlines()[1] == "  http://shipyard.test/deployments/1"
    second = await shipyard(
        "deploy", "2", "--env", "staging", "--as", "github:maggie", "--param", "migrate=yes"
    )
    assert second.exit_code == 0, second.output
    back = await shipyard("rollback", "--env", "staging", "--repo", "github:acme/web")
    assert back.exit_code == 0, back.output
    assert back.output.splitlines()[0] == "deployment 3 of release 1 to staging: completed"
    assert (tmp_path / "ran").read_text().splitlines() == [
        f"s1 web {digest_of('web-v1')}",
        f"s1 web {digest_of('web-v2')}",
        f"s1 web {digest_of('web-v1')}",
    ]
    shown = await shipyard("deployments", "show", "2", "--json")
    fields = json.loads(shown.output)
    assert (fields["requested_by"], fields["via"], fields["state"]) == (
        "github:maggie",
        "cli",
        "completed",
    )
    [task] = fields["tasks"]
    assert (task["target"], task["digest"], task["replaced_digest"]) == (
        "s1",
        digest_of("web-v2"),
        digest_of("web-v1"),
    )
    where = await shipyard("environments", "--repo", "github:acme/web")
    assert where.output.splitlines()[:2] == [
        "staging: release 1",
        f"  s1 web: release 1 {digest_of('web-v1')} (deployment 3)",
    ]
    listed = await shipyard("deployments", "list", "--json")
    assert [json.loads(line)["kind"] for line in listed.output.splitlines()] == [
        "rollback",
        "deploy",
        "deploy",
    ]


async def test_bad_input_is_a_clear_error(shipyard: Shipyard) -> None:
    for args, message in (
        (("deploy", "v1", "--env", "staging"), "a release given by name needs --repo"),
        (("deploy", "1", "--env", "staging", "--as", "alice"), "give the person as host:login"),
        (("deploy", "1", "--env", "staging", "--param", "1x=y"), "param '1x'"),
        (("deploy", "1", "--env", "prod"), "acme/web has no environment 'prod'"),
        (("rollback", "--env", "staging", "--repo", "acme/web"), "host:owner/name"),
        (("rollback", "--env", "staging", "--repo", "github:acme/web"), "nothing has been"),
        (("deployments", "show", "9"), "there is no deployment 9"),
    ):
        result = await shipyard(*args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
