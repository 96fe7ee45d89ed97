"""`shipyard integrations …` and its alias `shipyard config integrations …`, on SQLite and
PostgreSQL: the providers; create (with `--authref`, labels and JSON config values), list,
show, update, test (✓/✗ with latencies, exit 1 when a check fails) and discover through a
test-only provider on a real loopback service, and delete. Every mistake is a clear error, not
a traceback; no resolved credential reaches an output."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from click.testing import CliRunner, Result

from app.cli import main
from app.cli.integrations import config_values
from app.settings import Settings
from tests.support.integrations import (
    TOKEN_VARIABLE,
    FakeService,
    fake_service,
    nothing_listening,
    use_test_provider,
)

TOKEN = "svc-token-1a2b3c4d5e6f-never-shown"
WRONG = "not-the-token-never-shown"


@pytest.fixture
async def service() -> AsyncIterator[FakeService]:
    async with fake_service(TOKEN, {"acme/web": ["v1", "v2"], "acme/api": ["v9"]}) as service:
        yield service


@pytest.fixture(autouse=True)
def _provider(monkeypatch: pytest.MonkeyPatch) -> None:
    use_test_provider(monkeypatch)


def run(settings: Settings, *args: str) -> Result:
    env = {
        "DATABASE_URL": settings.database_url,
        "SHIPYARD_DATA_DIR": settings.data_dir,
        "SHIPYARD_STEP_SANDBOX": settings.step_sandbox,
        "SHIPYARD_INTEGRATION_BACKOFF": "0",
        TOKEN_VARIABLE: TOKEN,
        "WRONG_TOKEN": WRONG,
    }
    return CliRunner().invoke(main, list(args), env=env)


async def shipyard(settings: Settings, *args: str) -> Result:
    return await asyncio.to_thread(run, settings, *args)


def assert_clean_error(result: Result, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


async def create(settings: Settings, service: FakeService, name: str = "svc") -> Result:
    made = await shipyard(
        settings, "integrations", "create", "--name", name, "--type", "registry",
        "--provider", "test-service", "--endpoint", service.url,
        "--authref", f"env://{TOKEN_VARIABLE}", "--description", "the test service",
        "--label", "env=prod", "--label", "team=web",
        "--config", "retries=0", "--config", "timeout=5",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    return made


def test_config_values_are_json_when_they_are_json() -> None:
    assert config_values(("retries=3", 'to=["a@x"]', "url=https://x/y?a=b", "gone=null")) == {
        "retries": 3,
        "to": ["a@x"],
        "url": "https://x/y?a=b",
        "gone": None,
    }
    assert config_values(("name=web 1", "flag=true", "empty=")) == {
        "name": "web 1",
        "flag": True,
        "empty": "",
    }


async def test_providers_say_which_this_version_lacks(settings: Settings) -> None:
    listed = await shipyard(settings, "integrations", "providers")
    assert listed.exit_code == 0, listed.output
    circle = next(line for line in listed.output.splitlines() if line.startswith("circleci "))
    assert circle.split()[1] == "ci"
    assert circle.endswith("not available in this version")
    assert "test-service" not in listed.output

    everything = await shipyard(settings, "config", "integrations", "providers", "--all")
    line = next(line for line in everything.output.splitlines() if "test-service" in line)
    assert line.split()[1] == "registry"
    assert "repositories,tags" in line
    assert line.endswith("yes (tests only)")


async def test_create_show_list_update_and_delete(settings: Settings, service: FakeService) -> None:
    made = await create(settings, service)
    assert made.output.strip() == (
        f"created registry integration svc (test-service), with the credential "
        f"env://{TOKEN_VARIABLE}; `shipyard integrations test svc` checks it"
    )

    shown = await shipyard(settings, "integrations", "show", "svc")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    for expected in [
        "name: svc",
        "type: registry",
        "provider: test-service",
        "description: the test service",
        f'config endpoint: "{service.url}"',
        "config retries: 0",
        "config timeout: 5.0",
        f"credential: env://{TOKEN_VARIABLE}",
        "labels: env=prod,team=web",
        "health: unknown (last check: never)",
    ]:
        assert expected in lines, (expected, lines)

    await create(settings, service, "other")
    listed = await shipyard(settings, "config", "integrations", "list")
    assert listed.exit_code == 0, listed.output
    header, *rows = listed.output.splitlines()
    assert header.split() == ["NAME", "TYPE", "PROVIDER", "HEALTH", "LAST", "CHECK", "LABELS"]
    assert [row.split() for row in rows] == [
        ["other", "registry", "test-service", "unknown", "never", "env=prod,team=web"],
        ["svc", "registry", "test-service", "unknown", "never", "env=prod,team=web"],
    ]
    narrowed = await shipyard(settings, "integrations", "list", "--label", "env=staging")
    assert narrowed.output.strip() == "none matches"

    changed = await shipyard(
        settings, "integrations", "update", "svc", "--config", "timeout=3",
        "--config", "retries=null", "--unlabel", "team", "--label", "tier=1",
        "--credential", "env://WRONG_TOKEN", "--description", "changed",
    )  # fmt: skip
    assert changed.exit_code == 0, changed.output
    assert "  config timeout: 3.0" in changed.output.splitlines()
    assert "  config retries: 2" in changed.output.splitlines()
    assert "  labels: env=prod,tier=1" in changed.output.splitlines()
    assert "  credential: env://WRONG_TOKEN" in changed.output.splitlines()
    uncredentialed = await shipyard(settings, "integrations", "update", "svc", "--no-credential")
    assert "  credential: (none)" in uncredentialed.output.splitlines()

    deleted = await shipyard(settings, "config", "integrations", "delete", "svc")
    assert deleted.exit_code == 0, deleted.output
    assert deleted.output.strip() == "deleted integration svc"
    for command in ("show", "delete", "test"):
        missing = await shipyard(settings, "integrations", command, "svc")
        assert_clean_error(missing)
        assert "there is no integration 'svc'" in missing.output, command
    assert TOKEN not in shown.output + listed.output + changed.output


async def test_test_prints_each_level_and_fails_when_a_check_does(
    settings: Settings, service: FakeService
) -> None:
    await create(settings, service)
    checked = await shipyard(settings, "integrations", "test", "svc")
    assert checked.exit_code == 0, checked.output
    lines = checked.output.splitlines()
    assert [line.split()[:2] for line in lines[:3]] == [
        ["✓", "connectivity"],
        ["✓", "authentication"],
        ["✓", "functionality"],
    ]
    assert all(line.split()[3] == "ms" for line in lines[:3])
    assert lines[0].endswith("reachable")
    assert lines[1].endswith("signed in as shipyard-bot")
    assert lines[2].endswith("2 repositories")
    assert lines[3] == "integration svc is healthy"
    shown = await shipyard(settings, "integrations", "show", "svc")
    assert "✓ authentication" in shown.output
    assert "health: healthy" in shown.output

    await shipyard(settings, "integrations", "update", "svc", "--authref", "env://WRONG_TOKEN")
    refused = await shipyard(settings, "config", "integrations", "test", "svc")
    assert_clean_error(refused)
    assert "✓ connectivity" in refused.output
    assert "✗ authentication" in refused.output
    assert "AUTHENTICATION_FAILED" in refused.output
    assert "integration svc is unhealthy: 2 of its 3 checks failed" in refused.output
    assert WRONG not in refused.output
    assert TOKEN not in checked.output

    await shipyard(settings, "integrations", "update", "svc", "--endpoint", nothing_listening())
    unreachable = await shipyard(settings, "integrations", "test", "svc")
    assert_clean_error(unreachable)
    assert "✗ connectivity" in unreachable.output
    assert "CONNECTION_REFUSED" in unreachable.output


async def test_discover(settings: Settings, service: FakeService) -> None:
    await create(settings, service)
    found = await shipyard(settings, "integrations", "discover", "svc", "repositories")
    assert found.exit_code == 0, found.output
    assert found.output.splitlines() == ["acme/api", "acme/web", "2 repositories"]

    tags = await shipyard(
        settings, "config", "integrations", "discover", "svc", "tags",
        "--repository", "acme/web", "--pattern", "v2",
    )  # fmt: skip
    assert tags.exit_code == 0, tags.output
    assert tags.output.splitlines() == ["v2", "1 tags matching v2"]

    unsupported = await shipyard(settings, "integrations", "discover", "svc", "channels")
    assert_clean_error(unsupported)
    assert "cannot discover 'channels' (it discovers: repositories, tags)" in unsupported.output


async def test_mistakes_are_clear_errors(settings: Settings, service: FakeService) -> None:
    base = ["integrations", "create", "--name", "x", "--type", "registry"]
    unavailable = await shipyard(
        settings, "integrations", "create", "--name", "circle", "--type", "ci",
        "--provider", "circleci",
    )  # fmt: skip
    assert_clean_error(unavailable)
    assert "provider 'circleci' (CircleCI) is not available in this version" in (unavailable.output)

    value = await shipyard(
        settings, *base, "--provider", "test-service", "--endpoint", service.url,
        "--config", "hook=https://hooks.example.com/secret-path",
    )  # fmt: skip
    assert_clean_error(value)
    assert "hook holds a credential" in value.output
    assert "secret-path" not in value.output

    several = await shipyard(
        settings, *base, "--provider", "test-service", "--endpoint", "ftp://nowhere",
        "--config", "colour=red",
    )  # fmt: skip
    assert_clean_error(several)
    assert "config.endpoint: endpoint must be an http:// or https:// URL" in several.output
    assert "config.colour: test-service has no such setting" in several.output

    for flags, code, words in [
        (["--provider", "test-service", "--config", "nokey"], 2, "is not KEY=VALUE"),
        (["--provider", "test-service", "--label", "=v"], 2, "is not KEY=VALUE"),
        (["--provider", "nope"], 1, "there is no integration provider 'nope'"),
        (["--provider", "test-service", "--credential", "plain-value"], 1, "credential:"),
    ]:
        result = await shipyard(settings, *base, *flags)
        assert_clean_error(result, code)
        assert words in result.output, (flags, result.output)
    wrong_type = await shipyard(settings, "integrations", "create", "--name", "x", "--type",
                                "chat", "--provider", "slack")  # fmt: skip
    assert_clean_error(wrong_type, 2)
    assert "'chat' is not one of" in wrong_type.output

    await create(settings, service)
    taken = await create_again(settings, service)
    assert_clean_error(taken)
    assert "there is already an integration named svc" in taken.output
    nothing = await shipyard(settings, "integrations", "update", "svc")
    assert_clean_error(nothing, 2)
    assert "nothing to change" in nothing.output
    both = await shipyard(
        settings, "integrations", "update", "svc", "--credential", "env://X", "--no-credential"
    )
    assert_clean_error(both, 2)
    missing = await shipyard(settings, "integrations", "discover", "nope", "tags")
    assert_clean_error(missing)
    assert "there is no integration 'nope'" in missing.output


async def create_again(settings: Settings, service: FakeService) -> Result:
    return await shipyard(
        settings, "integrations", "create", "--name", "svc", "--type", "registry",
        "--provider", "test-service", "--endpoint", service.url,
    )  # fmt: skip
