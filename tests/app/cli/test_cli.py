"""The `shipyard` command line: migrations, refusing an unmigrated database, deliveries, receive."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from app.db.schema import head_revision
from app.main import create_app
from tests.support.deliveries import PUSH, delivery
from tests.support.http import running
from tests.support.settings import SECRETS, make_settings


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_serve_refuses_an_unmigrated_database(runner: CliRunner, database_url: str) -> None:
    result = runner.invoke(main, ["serve"], env={"DATABASE_URL": database_url})
    assert result.exit_code == 1
    assert "not migrated" in result.output
    assert "shipyard db upgrade" in result.output


def test_worker_refuses_an_unmigrated_database(runner: CliRunner, database_url: str) -> None:
    result = runner.invoke(
        main, ["worker"], env={"DATABASE_URL": database_url, "REDIS_URL": "redis://127.0.0.1:1"}
    )
    assert result.exit_code == 1
    assert "shipyard db upgrade" in result.output


def test_db_upgrade_is_repeatable(runner: CliRunner, database_url: str) -> None:
    for _ in range(2):
        result = runner.invoke(main, ["db", "upgrade"], env={"DATABASE_URL": database_url})
        assert result.exit_code == 0, result.output
        assert f"revision {head_revision()}" in result.output


def test_invalid_database_url_is_a_clear_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["db", "upgrade"], env={"DATABASE_URL": "mysql://x/y"})
    assert result.exit_code == 1
    assert "DATABASE_URL must start with" in result.output


async def test_deliveries_list(runner: CliRunner, migrated: str) -> None:
    app = create_app(make_settings(migrated))
    async with running(app) as client:
        for n, event in enumerate(["push", "sponsorship"]):
            payload = {**PUSH, "after": str(n) * 40}  # two bodies: a copy would be a replay
            body, headers = delivery("github", event, payload, delivery_id=f"list-{n}")
            await client.post("/webhooks/github", content=body, headers=headers)
        await app.state.services.queue.join()
    env = {"DATABASE_URL": migrated}
    result = await asyncio.to_thread(runner.invoke, main, ["deliveries", "list", "--json"], env=env)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert {(r["delivery_id"], r["status"], r["kind"]) for r in rows} == {
        ("list-0", "processed", "push"),
        ("list-1", "ignored", "other"),
    }
    # UTC with its offset, on SQLite (which keeps none) as on PostgreSQL
    assert all(r["received_at"].endswith("+00:00") for r in rows), rows
    text = (await asyncio.to_thread(runner.invoke, main, ["deliveries", "list"], env=env)).output
    assert "list-0" in text
    assert "processed" in text
    assert SECRETS["GITHUB_WEBHOOK_SECRET"] not in text


def test_receive_normalises_files(runner: CliRunner, tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(PUSH))
    second.write_text(json.dumps({**PUSH, "ref": "refs/tags/v1.2.0"}))
    result = runner.invoke(
        main,
        ["receive", "--provider", "github", "--event", "push", "--json", str(first), str(second)],
    )
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines()]
    assert [(e["kind"], e["branch"], e["tag"]) for e in events] == [
        ("push", "main", None),
        ("tag", None, "v1.2.0"),
    ]
    assert events[0]["repository"]["full_name"] == "acme/web"


def test_receive_pretty_prints_by_default(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "mr.json"
    path.write_text(json.dumps({"object_kind": "push", "ref": "refs/heads/dev", "after": "b" * 40}))
    result = runner.invoke(main, ["receive", "-p", "gitlab", "-e", "Push Hook", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["branch"] == "dev"
    assert result.stdout.count("\n") > 5
    assert "always carries project; this one lacks them" in result.stderr  # a made-up payload


def test_receive_reports_a_bad_file_and_goes_on(runner: CliRunner, tmp_path: Path) -> None:
    bad, good = tmp_path / "bad.json", tmp_path / "good.json"
    bad.write_text("{nope")
    good.write_text(json.dumps(PUSH))
    result = runner.invoke(
        main, ["receive", "-p", "gitea", "-e", "push", "--json", str(bad), str(good)]
    )
    assert result.exit_code == 1
    assert "bad.json: body is not valid JSON" in result.stderr
    assert json.loads(result.stdout)["kind"] == "push"


def test_version_names_the_installed_release(runner: CliRunner) -> None:
    from importlib.metadata import version

    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"shipyard, version {version('shipyard')}\n"


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_a_port_out_of_range_is_refused_before_anything_starts(
    runner: CliRunner, port: str
) -> None:
    flag = runner.invoke(main, ["serve", "--port", port])
    assert flag.exit_code == 2
    assert f"Invalid value for '--port': {port} is not in the range 1<=x<=65535" in flag.output

    setting = runner.invoke(main, ["serve"], env={"PORT": port})
    assert setting.exit_code == 1
    assert "PORT" in setting.output
    assert "Traceback" not in setting.output


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["deliveries", "list"], "no deliveries yet (a Git host's webhook, or `shipyard receive`"),
        (["runs", "list"], "no runs yet (a webhook that triggers a pipeline, or `shipyard run`"),
    ],
)
async def test_an_empty_list_says_so_and_json_prints_nothing(
    runner: CliRunner, migrated: str, command: list[str], said: str
) -> None:
    plain = await asyncio.to_thread(runner.invoke, main, command, env={"DATABASE_URL": migrated})
    assert plain.exit_code == 0, plain.output
    assert plain.output.startswith(said)
    as_json = await asyncio.to_thread(
        runner.invoke, main, [*command, "--json"], env={"DATABASE_URL": migrated}
    )
    assert as_json.exit_code == 0
    assert as_json.output == ""


def test_receive_warns_when_a_payload_lacks_what_its_event_carries(
    runner: CliRunner, tmp_path: Path
) -> None:
    odd = tmp_path / "odd.json"
    odd.write_text('{"foo": 1}')
    result = runner.invoke(main, ["receive", "-p", "github", "-e", "pull_request", str(odd)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["kind"] is not None
    assert result.stderr == (
        f"{odd}: warning: a pull_request payload from github always carries action, number, "
        "pull_request, repository, and this one has none of them: is 'pull_request' its event?\n"
    )
