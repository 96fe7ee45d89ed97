"""`shipyard targets add|list|show|remove|test` on SQLite and PostgreSQL: every type with its
flags, a flag of another type named with the type that takes it, a name registered once,
references shown as references, and `test` connecting (a command target in the sandbox, an
api target on a real loopback server) with ✓/✗ and its exit code. No resolved value reaches
an output or a row, and no error is a traceback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from app.cli import main
from app.settings import Settings
from tests.support.database import everything
from tests.support.deploy_receiver import Answer, receiving

KNOWN_HOST = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
FINGERPRINT = "SHA256:" + "uMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
TOKEN = "deploy-token-5e4d3c2b1a-never-shown"
AUTH = "Token deploy-auth-9f8e7d6c5b4a-never-shown"
SECRET = "whsec-0123456789-never-shown"

# name → the flags of `targets add` for one target of each type.
TARGETS: dict[str, list[str]] = {
    "web-ssh": ["--type", "ssh", "--host", "web-1.example.com", "--port", "2222",
                "--user", "deploy", "--workdir", "apps/web", "--known-host", KNOWN_HOST,
                "--credential", "file:///etc/shipyard/deploy_key"],
    "web-hook": ["--type", "webhook", "--url", "https://deploy.example.com/hook",
                 "--method", "put", "--header", "X-Team=web",
                 "--status-url", "https://deploy.example.com/status/{job}", "--timeout", "120",
                 "--credential", "env://DEPLOY_WEBHOOK_SECRET"],
    "web-api": ["--type", "api", "--url", "https://nomad.example.com/v1/jobs",
                "--header", "X-Deploy-Auth=env://DEPLOY_API_AUTH",
                "--body", '{"image": "{{ digests.web }}"}', "--credential", "env://DEPLOY_TOKEN"],
    "web-flow": ["--type", "workflow", "--workflow", "deploy.yml", "--ref", "main",
                 "--provider", "gitlab", "--repository", "acme/deploy"],
    "web-cmd": ["--type", "command", "--command", "./deploy.sh production"],
    "web-jenkins": ["--type", "workflow", "--workflow", "web/deploy", "--integration", "jenkins"],
}  # fmt: skip
SHOWN: dict[str, list[str]] = {
    "web-ssh": ["type: ssh", "where: deploy@web-1.example.com:2222", "host: web-1.example.com",
                "port: 2222", "user: deploy", "workdir: apps/web", f"known_host: {KNOWN_HOST}",
                "credential: file:///etc/shipyard/deploy_key"],
    "web-hook": ["where: PUT https://deploy.example.com/hook", "method: PUT",
                 "header X-Team: web", "status_url: https://deploy.example.com/status/{job}",
                 "timeout: 120.0", "credential: env://DEPLOY_WEBHOOK_SECRET"],
    "web-api": ["type: api", "header X-Deploy-Auth: env://DEPLOY_API_AUTH",
                'body: {"image": "{{ digests.web }}"}', "credential: env://DEPLOY_TOKEN"],
    "web-flow": ["where: deploy.yml in gitlab:acme/deploy at main", "workflow: deploy.yml",
                 "ref: main", "provider: gitlab", "repository: acme/deploy",
                 "credential: (none)"],
    "web-cmd": ["type: command", "where: $ ./deploy.sh production",
                "command: ./deploy.sh production"],
    "web-jenkins": ["where: web/deploy on integration jenkins", "workflow: web/deploy",
                    "integration: jenkins"],
}  # fmt: skip


@pytest.fixture(autouse=True)
def _deploy_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_TOKEN", TOKEN)
    monkeypatch.setenv("DEPLOY_API_AUTH", AUTH)
    monkeypatch.setenv("DEPLOY_WEBHOOK_SECRET", SECRET)


def run(settings: Settings, *args: str) -> Result:
    env = {
        "DATABASE_URL": settings.database_url,
        "SHIPYARD_DATA_DIR": settings.data_dir,
        "SHIPYARD_STEP_SANDBOX": settings.step_sandbox,
        "LOGNAME": "alice",
    }
    return CliRunner().invoke(main, list(args), env=env)


async def shipyard(settings: Settings, *args: str) -> Result:
    return await asyncio.to_thread(run, settings, *args)


async def add(settings: Settings, name: str, *flags: str) -> Result:
    return await shipyard(settings, "targets", "add", name, *flags)


def assert_clean_error(result: Result, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", sorted(TARGETS))
async def test_add_then_show_each_type(settings: Settings, name: str) -> None:
    repositories = ["--repos", "acme/web", "--repos", "gitlab:group/**"]
    added = await add(settings, name, *TARGETS[name], *repositories, "--label", "region=eu",
                      "--idempotent")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert added.output.startswith(f"added {TARGETS[name][1]} target {name}: ")
    assert "for acme/web, gitlab:group/**" in added.output

    shown = await shipyard(settings, "targets", "show", name)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == f"name: {name}"
    for line in SHOWN[name]:
        assert line in lines, (line, lines)
    assert "repositories: acme/web, gitlab:group/**" in lines
    assert "labels: region=eu" in lines
    assert "idempotent: yes" in lines
    assert any(line.startswith("created by cli:alice at ") for line in lines)
    for value in (TOKEN, AUTH, SECRET):
        assert value not in added.output + shown.output


async def test_list_is_a_table_by_name(settings: Settings) -> None:
    empty = await shipyard(settings, "targets", "list")
    assert empty.exit_code == 0
    assert "no targets are registered (shipyard targets add NAME --type" in empty.output
    for name in ("web-ssh", "web-api", "web-cmd"):
        added = await add(settings, name, *TARGETS[name], "--repos", "acme/*")
        assert added.exit_code == 0, added.output
    labelled = await add(settings, "web-flow", *TARGETS["web-flow"], "--repos", "acme/web",
                         "--label", "tier=web", "--label", "region=eu", "--idempotent")  # fmt: skip
    assert labelled.exit_code == 0, labelled.output

    listed = await shipyard(settings, "targets", "list")
    assert listed.exit_code == 0
    rows = [line.split("  ") for line in listed.output.splitlines()]
    cells = [[cell.strip() for cell in row if cell.strip()] for row in rows]
    assert cells == [
        ["NAME", "TYPE", "WHERE", "REPOSITORIES", "LABELS", "IDEMPOTENT"],
        ["web-api", "api", "POST https://nomad.example.com/v1/jobs", "acme/*", "-", "no"],
        ["web-cmd", "command", "$ ./deploy.sh production", "acme/*", "-", "no"],
        ["web-flow", "workflow", "deploy.yml in gitlab:acme/deploy at main", "acme/web",
         "region=eu,tier=web", "yes"],
        ["web-ssh", "ssh", "deploy@web-1.example.com:2222", "acme/*", "-", "no"],
    ]  # fmt: skip
    header, *lines = listed.output.splitlines()
    for column, heading in enumerate(("TYPE", "WHERE", "REPOSITORIES"), start=1):
        start = header.index(heading)
        for line, row in zip(lines, cells[1:], strict=True):
            assert line[start:].startswith(row[column]), (heading, line)


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--type", "ssh", "--url", "https://x.example.com"],
         "--url is not for ssh targets: it is for webhook and api targets"),
        (["--type", "webhook", "--url", "https://x.example.com", "--host", "web-1"],
         "--host is not for webhook targets: it is for ssh targets"),
        (["--type", "webhook", "--url", "https://x.example.com", "--body", "{}"],
         "--body is not for webhook targets: it is for api targets"),
        (["--type", "api", "--url", "https://x.example.com", "--workflow", "deploy.yml"],
         "--workflow is not for api targets: it is for workflow targets"),
        (["--type", "workflow", "--workflow", "deploy.yml", "--command", "true"],
         "--command is not for workflow targets: it is for command targets"),
        (["--type", "command", "--command", "true", "--known-host", KNOWN_HOST],
         "--known-host is not for command targets: it is for ssh targets"),
        (["--type", "command", "--command", "true", "--header", "X-Team=web"],
         "--header is not for command targets: it is for webhook and api targets"),
        (["--type", "ssh", "--host", "web-1", "--user", "deploy", "--workflow", "d.yml",
          "--ref", "main"],
         "--workflow is not for ssh targets: it is for workflow targets; --ref is not for ssh"),
    ],
)  # fmt: skip
async def test_a_flag_of_another_type_is_refused(
    settings: Settings, flags: list[str], says: str
) -> None:
    result = await add(settings, "web-1", *flags, "--repos", "acme/web")
    assert_clean_error(result, 2)
    assert says in result.output


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--type", "ssh", "--host", "web-1", "--user", "deploy",
          "--credential", "file:///etc/key"],
         "give exactly one of known_host ('KEYTYPE BASE64') or host_key_fingerprint"),
        (["--type", "ssh", "--host", "web-1", "--user", "deploy", "--known-host", KNOWN_HOST,
          "--host-key-fingerprint", FINGERPRINT, "--credential", "file:///etc/key"],
         "give exactly one of known_host"),
        (["--type", "ssh", "--host", "web-1", "--user", "deploy", "--known-host", "ssh-ed25519",
          "--credential", "file:///etc/key"],
         "--known-host: known_host is 'KEYTYPE BASE64'"),
        (["--type", "ssh", "--host", "web-1", "--user", "deploy", "--host-key-fingerprint",
          "MD5:aa:bb", "--credential", "file:///etc/key"],
         "--host-key-fingerprint: host_key_fingerprint is 'SHA256:'"),
        (["--type", "ssh", "--user", "deploy", "--known-host", KNOWN_HOST,
          "--credential", "file:///etc/key"],
         "--host: Field required"),
        (["--type", "ssh", "--host", "web-1", "--user", "deploy", "--port", "70000",
          "--known-host", KNOWN_HOST, "--credential", "file:///etc/key"],
         "--port: Input should be less than or equal to 65535"),
        (["--type", "ssh", "--host", "web-1", "--user", "deploy", "--known-host", KNOWN_HOST],
         "ssh targets need a credential, the private key"),
        (["--type", "webhook", "--url", "ftp://x.example.com", "--credential", "env://S"],
         "--url: 'ftp://x.example.com' is not an http:// or https:// URL"),
        (["--type", "webhook", "--url", "https://x.example.com"],
         "webhook targets need a credential, the secret the body is signed with"),
        (["--type", "api", "--url", "https://x.example.com", "--method", "DELETE",
          "--credential", "env://S"],
         "--method: Input should be 'POST', 'PUT', 'PATCH' or 'GET'"),
        (["--type", "api", "--url", "https://x.example.com", "--timeout", "0",
          "--credential", "env://S"],
         "--timeout: Input should be greater than 0"),
        (["--type", "api", "--url", "https://x.example.com", "--credential", "env://S",
          "--header", "Authorization=Bearer literal-value"],
         "header Authorization carries a credential: give it as a reference"),
        (["--type", "workflow", "--ref", "main"], "--workflow: Field required"),
        (["--type", "workflow", "--workflow", "d.yml", "--repository", "not a repo"],
         "--repository: 'not a repo' is not owner/name"),
        (["--type", "workflow", "--workflow", "d.yml", "--provider", "bitbucket"],
         "--provider: Input should be 'github', 'gitlab', 'gitea' or 'forgejo'"),
        (["--type", "command"], "--command: Field required"),
        (["--type", "command", "--command", "true", "--credential", "hunter2-literal"],
         "--credential: a secret must be a reference, env://VAR, file:///absolute/path"),
        (["--type", "command", "--command", "true", "--credential", "env://GITHUB_TOKEN"],
         "env://GITHUB_TOKEN is one of Shipyard's own settings"),
        (["--type", "api", "--url", "https://x.example.com", "--credential", "env://S",
          "--header", "X-Deploy-Auth=env://DATABASE_URL"],
         "header X-Deploy-Auth: env://DATABASE_URL is one of Shipyard's own settings"),
        (["--type", "command", "--command", "true", "--label", "bad key=x"],
         "--label: label bad key='x': a key is a name"),
        (["--type", "command", "--command", "true", "--repos", "bitbucket:acme/*"],
         "unknown host 'bitbucket'"),
    ],
)  # fmt: skip
async def test_what_a_type_needs_is_checked(
    settings: Settings, flags: list[str], says: str
) -> None:
    result = await add(settings, "web-1", *flags, "--repos", "acme/web")
    assert_clean_error(result)
    assert says in result.output
    assert "hunter2-literal" not in result.output
    listed = await shipyard(settings, "targets", "list")
    assert "no targets are registered" in listed.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["web-1", "--type", "ftp", "--repos", "acme/web"], "'ftp' is not one of"),
        (["web-1", "--type", "command", "--command", "true"], "Missing option '--repos'"),
        (["web-1", "--type", "command", "--command", "true", "--repos", "acme/web",
          "--label", "region"], "'region' is not KEY=VALUE"),
        (["web-1", "--type", "api", "--url", "https://x.example.com", "--repos", "acme/web",
          "--header", "=x"], "'=x' is not KEY=VALUE"),
        (["web-1", "--type", "ssh", "--port", "twenty-two", "--repos", "acme/web"],
         "'twenty-two' is not a valid integer"),
    ],
)  # fmt: skip
async def test_malformed_flags_are_usage_errors(
    settings: Settings, args: list[str], says: str
) -> None:
    result = await shipyard(settings, "targets", "add", *args)
    assert_clean_error(result, 2)
    assert says in result.output


async def test_a_bad_name_is_refused(settings: Settings) -> None:
    result = await add(settings, "web 1", "--type", "command", "--command", "true",
                       "--repos", "acme/web")  # fmt: skip
    assert_clean_error(result)
    assert "NAME: 'web 1': a target name is letters, digits, '-' and '_'" in result.output


async def test_a_name_is_registered_once(settings: Settings) -> None:
    first = await add(settings, "web-1", *TARGETS["web-cmd"], "--repos", "acme/web")
    assert first.exit_code == 0, first.output
    again = await add(settings, "web-1", *TARGETS["web-flow"], "--repos", "acme/api")
    assert_clean_error(again)
    assert "a target named web-1 is registered already" in again.output
    assert "`shipyard targets remove web-1` first" in again.output
    shown = await shipyard(settings, "targets", "show", "web-1")
    assert "type: command" in shown.output


async def test_remove(settings: Settings) -> None:
    assert (await add(settings, "web-1", *TARGETS["web-cmd"], "--repos", "a/b")).exit_code == 0
    removed = await shipyard(settings, "targets", "remove", "web-1")
    assert removed.exit_code == 0
    assert removed.output == "removed target web-1\n"
    for command in ("remove", "show", "test"):
        gone = await shipyard(settings, "targets", command, "web-1")
        assert_clean_error(gone)
        assert "there is no target 'web-1'" in gone.output


async def test_a_database_that_cannot_be_reached_is_one_line() -> None:
    unreachable = Settings(_env_file=None, DATABASE_URL="postgresql://shipyard:pw@127.0.0.1:1/x")  # type: ignore[call-arg]
    for args in (["list"], ["show", "web-1"], ["remove", "web-1"], ["test", "web-1"],
                 ["add", "web-1", *TARGETS["web-cmd"], "--repos", "acme/web"]):  # fmt: skip
        result = await shipyard(unreachable, "targets", *args)
        assert_clean_error(result)
        assert "the database cannot be reached" in result.output
        assert "Check DATABASE_URL" in result.output
        assert ":pw@" not in result.output


async def test_a_database_not_migrated_says_what_to_run(tmp_path: Path) -> None:
    fresh = Settings(_env_file=None, DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}")  # type: ignore[call-arg]
    result = await shipyard(fresh, "targets", "list")
    assert_clean_error(result)
    assert "Run `shipyard db upgrade` first" in result.output


async def test_a_command_target_is_tested_in_the_sandbox(settings: Settings) -> None:
    added = await add(settings, "web-cmd", *TARGETS["web-cmd"], "--repos", "acme/web")
    assert added.exit_code == 0, added.output
    tested = await shipyard(settings, "targets", "test", "web-cmd")
    assert tested.exit_code == 0, tested.output
    lines = tested.output.splitlines()
    assert lines[0].startswith("✓ sandbox: ")
    assert lines[1] == "✓ bash: `true` ran"
    assert lines[-1] == "target web-cmd passed its 2 checks"


async def test_an_api_target_is_tested_with_its_references_resolved(settings: Settings) -> None:
    async with receiving(token=TOKEN) as receiver:
        receiver.script("HEAD", "/v1/jobs", Answer(200))
        added = await add(settings, "web-api", "--type", "api", "--url",
                          receiver.url("/v1/jobs"), "--credential", "env://DEPLOY_TOKEN",
                          "--header", "X-Deploy-Auth=env://DEPLOY_API_AUTH",
                          "--repos", "acme/web")  # fmt: skip
        assert added.exit_code == 0, added.output
        tested = await shipyard(settings, "targets", "test", "web-api")
    assert tested.exit_code == 0, tested.output
    [head] = receiver.requests("HEAD", "/v1/jobs")
    assert head.headers["authorization"] == f"Bearer {TOKEN}"
    assert head.headers["x-deploy-auth"] == AUTH
    assert tested.output.splitlines() == [
        "✓ credential: env://DEPLOY_TOKEN resolves",
        "✓ header X-Deploy-Auth: env://DEPLOY_API_AUTH resolves",
        f"✓ reachable: HEAD {receiver.url('/v1/jobs')} answered HTTP 200",
        "target web-api passed its 3 checks",
    ]

    listed = await shipyard(settings, "targets", "list")
    shown = await shipyard(settings, "targets", "show", "web-api")
    stored = await everything(settings)
    assert "env://DEPLOY_TOKEN" in stored
    assert "env://DEPLOY_API_AUTH" in stored
    for text in (added.output, tested.output, listed.output, shown.output, stored):
        for value in (TOKEN, AUTH, "deploy-token-5e4d3c2b1a", "deploy-auth-9f8e7d6c5b4a"):
            assert value not in text


async def test_a_failed_check_exits_non_zero(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEPLOY_TOKEN")
    async with receiving() as receiver:
        closed = receiver.url("/v1/jobs")
    added = await add(settings, "web-api", "--type", "api", "--url", closed,
                      "--credential", "env://DEPLOY_TOKEN", "--repos", "acme/web")  # fmt: skip
    assert added.exit_code == 0, added.output
    tested = await shipyard(settings, "targets", "test", "web-api")
    assert_clean_error(tested)
    lines = tested.output.splitlines()
    assert lines[0].startswith("✗ credential: ")
    assert "environment variable DEPLOY_TOKEN is not set" in lines[0]
    assert lines[1].startswith("✗ reachable: could not reach ")
    assert "target web-api failed 2 of its 2 checks" in tested.output


async def test_a_workflow_target_with_no_one_repository_cannot_be_tested(
    settings: Settings,
) -> None:
    added = await add(settings, "flow", "--type", "workflow", "--workflow", "deploy.yml",
                      "--repos", "acme/*", "--repos", "gitlab:group/**")  # fmt: skip
    assert added.exit_code == 0, added.output
    tested = await shipyard(settings, "targets", "test", "flow")
    assert_clean_error(tested)
    assert "there is no one repository to test it in" in tested.output
    assert "--repository OWNER/NAME" in tested.output
