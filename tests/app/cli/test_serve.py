"""`shipyard serve` as a real process: its access log setting, and several web processes
(with Redis only)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from app.cli import main
from tests.support.commands import shipyard, wait_until
from tests.support.deliveries import PUSH, delivery
from tests.support.http import free_port
from tests.support.settings import SECRETS

ACCESS_LINE = "logger=uvicorn.access"


async def _answering(url: str, server: subprocess.Popen[bytes]) -> bool:
    assert server.poll() is None, "shipyard serve exited"
    async with httpx.AsyncClient() as client:
        try:
            return (await client.get(f"{url}/healthz")).status_code == 200
        except httpx.TransportError:
            return False


def test_several_web_processes_without_redis_are_refused(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'shipyard.db'}", "REDIS_URL": ""}
    result = CliRunner().invoke(main, ["serve", "--workers", "2"], env=env)
    assert result.exit_code == 2
    assert "2 web processes need REDIS_URL" in result.output
    assert "take over the others' running work" in " ".join(result.output.split())
    assert "Traceback" not in result.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("flags", "env", "logged"),
    [
        ([], {}, True),
        (["--no-access-log"], {}, False),
        ([], {"SHIPYARD_ACCESS_LOG": "false"}, False),
        (["--access-log"], {"SHIPYARD_ACCESS_LOG": "false"}, True),
    ],
    ids=["default", "flag-off", "setting-off", "flag-over-setting"],
)
async def test_access_log_follows_the_flag_then_the_setting(
    migrated: str, tmp_path: Path, flags: list[str], env: dict[str, str], logged: bool
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    settings = {"DATABASE_URL": migrated, **SECRETS, **env}
    with shipyard("serve", "--port", str(port), *flags, env=settings, log=log) as server:
        await wait_until(lambda: _answering(url, server), "shipyard serve answered")
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{url}/readyz")).status_code == 200
    lines = [line for line in log.read_text().splitlines() if ACCESS_LINE in line]
    assert bool(lines) is logged, log.read_text()
    if logged:
        assert any('"GET /readyz HTTP/1.1" 200' in line for line in lines)


async def test_several_web_processes_share_the_port_with_redis(
    migrated: str, redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    settings = {"DATABASE_URL": migrated, "REDIS_URL": redis_url, **SECRETS}
    settings["SHIPYARD_DATA_DIR"] = str(tmp_path)  # the processes' metrics are kept there
    with shipyard("serve", "--port", str(port), "--workers", "2", env=settings, log=log):

        async def both_started() -> bool:
            return log.read_text().count("Application startup complete") == 2

        await wait_until(both_started, "two web processes started")
        body, headers = delivery("github", "push", PUSH, delivery_id="two-processes")
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{url}/webhooks/github", content=body, headers=headers)
        assert (response.status_code, response.json()["status"]) == (202, "queued")
    text = log.read_text()
    # Each process logs through Shipyard's own format (its logging is set up in each).
    assert (
        len(set(re.findall(r"logger=uvicorn.error .*Started server process \[(\d+)\]", text))) == 2
    )
    assert text.count("Application shutdown complete") == 2, text
    assert "Traceback" not in text
