"""Health checks against real servers on loopback (uvicorn for HTTP, asyncio for TCP), with
a fake command runner and an injected sleep and clock: no test waits out an interval."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.deployments.artifacts.base import TargetView
from app.deployments.executors.base import NotSupported
from app.deployments.health import HealthCheckFailed, bake, render_host, render_url, verify
from app.environments.config import HealthSpec
from tests.support.clock import FakeClock
from tests.support.http import free_port, serving
from tests.support.tcp import black_hole

VALUES = {"environment": "production", "release": {"name": "v1.4.0"}}


class Answers:
    """A health endpoint that answers from a script of statuses, then 200, and counts calls."""

    def __init__(self, *statuses: int, body: str = "ok: ready") -> None:
        self.statuses = list(statuses)
        self.body = body
        self.calls = 0
        self.paths: list[str] = []

    async def healthz(self, request: Request) -> PlainTextResponse:
        self.calls += 1
        self.paths.append(request.url.path)
        status = self.statuses.pop(0) if self.statuses else 200
        return PlainTextResponse(self.body if status == 200 else "starting", status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/healthz", self.healthz)])


@contextlib.asynccontextmanager
async def answering(answers: Answers) -> AsyncIterator[TargetView]:
    """`answers` behind a real uvicorn; a target naming its host and (in a label) its port."""
    port = free_port()
    async with serving(answers.app(), port):
        yield TargetView("web-1", "ssh", "127.0.0.1", 22, {"http_port": str(port)})


URL = "http://{{ target.host }}:{{ target.labels.http_port }}/healthz"


def _spec(**fields: Any) -> HealthSpec:
    return HealthSpec.model_validate({"interval": 7, "timeout": 5, **fields})


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Log(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)


@pytest.fixture
def log() -> Log:
    return Log()


async def _verify(
    spec: HealthSpec,
    target: TargetView,
    http: httpx.AsyncClient,
    clock: FakeClock,
    log: Log,
    run_command: Any = None,
) -> None:
    await verify(
        spec,
        target,
        http=http,
        run_command=run_command,
        log=log,
        values=VALUES,
        sleep=clock.sleep,
    )


# --- http --------------------------------------------------------------------------------------


async def test_two_503s_then_200_pass_with_two_retries(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    answers = Answers(503, 503)
    async with answering(answers) as target:
        await _verify(_spec(http={"url": URL}, retries=2), target, http, clock, log)
    assert answers.calls == 3
    assert clock.sleeps == [7, 7]
    assert len(log) == 3
    assert log[0].startswith("health web-1: try 1/3 failed: http: GET http://127.0.0.1:")
    assert log[0].endswith("/healthz answered 503 (expected 200)")
    assert log[2] == "health web-1: try 3/3 passed: http 200"


async def test_two_503s_fail_with_one_retry(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    answers = Answers(503, 503)
    async with answering(answers) as target:
        with pytest.raises(HealthCheckFailed) as failed:
            await _verify(_spec(http={"url": URL}, retries=1), target, http, clock, log)
    assert answers.calls == 2
    assert clock.sleeps == [7]
    message = str(failed.value)
    assert message.startswith("web-1: health checks failed 2 times; last: http: GET http://")
    assert message.endswith("answered 503 (expected 200)")


async def test_another_status_than_the_expected_one_fails(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    async with answering(Answers()) as target:
        spec = _spec(http={"url": URL, "status": 204}, retries=0)
        with pytest.raises(HealthCheckFailed, match=r"answered 200 \(expected 204\)"):
            await _verify(spec, target, http, clock, log)
    assert clock.sleeps == []


async def test_the_body_must_hold_the_expected_text(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    async with answering(Answers()) as target:
        await _verify(
            _spec(http={"url": URL, "body": "ready"}, retries=0), target, http, clock, log
        )
        spec = _spec(http={"url": URL, "body": "healthy"}, retries=0)
        with pytest.raises(HealthCheckFailed, match="answered without 'healthy' in its body"):
            await _verify(spec, target, http, clock, log)


async def test_a_refused_connection_fails_the_try(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    target = TargetView("web-1", "ssh", "127.0.0.1", 22, {"http_port": str(free_port())})
    with pytest.raises(HealthCheckFailed, match=r"http: GET http://127\.0\.0\.1:"):
        await _verify(_spec(http={"url": URL}, retries=2), target, http, clock, log)
    assert len(log) == 3
    assert clock.sleeps == [7, 7]


async def test_a_server_that_never_answers_fails_within_the_timeout(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    with black_hole() as sock:
        port = sock.getsockname()[1]
        target = TargetView("web-1", "ssh", "127.0.0.1", 22, {"http_port": str(port)})
        spec = _spec(http={"url": URL}, retries=0, timeout=0.1)
        with pytest.raises(HealthCheckFailed, match=r"no (answer|result) within 0\.1 s"):
            await _verify(spec, target, http, clock, log)


async def test_the_log_shows_no_password_nor_query(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    answers = Answers(503)
    url = "http://probe:hunter2@{{ target.host }}:{{ target.labels.http_port }}/healthz?key=s3"
    async with answering(answers) as target:
        await _verify(_spec(http={"url": url}, retries=1), target, http, clock, log)
    assert answers.calls == 2
    assert all("hunter2" not in line and "s3" not in line for line in log)
    assert "GET http://127.0.0.1:" in log[0]


# --- tcp ---------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def listening() -> AsyncIterator[int]:
    async def answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


LOCAL = TargetView("db-1", "ssh", "127.0.0.1", 22)


async def test_an_open_port_passes(http: httpx.AsyncClient, clock: FakeClock, log: Log) -> None:
    async with listening() as port:
        await _verify(_spec(tcp={"port": port}, retries=0), LOCAL, http, clock, log)
    assert log == [f"health db-1: try 1/1 passed: tcp 127.0.0.1:{port} open"]


async def test_a_closed_port_fails(http: httpx.AsyncClient, clock: FakeClock, log: Log) -> None:
    port = free_port()
    with pytest.raises(HealthCheckFailed, match=f"tcp: 127.0.0.1:{port}: connection refused"):
        await _verify(_spec(tcp={"port": port}, retries=1), LOCAL, http, clock, log)
    assert clock.sleeps == [7]


# --- command -----------------------------------------------------------------------------------


class Commands:
    """A fake `run_command`: records what it ran and answers exit codes from a script."""

    def __init__(self, *codes: int | Exception) -> None:
        self.codes = list(codes)
        self.ran: list[str] = []

    async def __call__(self, command: str) -> int:
        self.ran.append(command)
        code = self.codes.pop(0) if self.codes else 0
        if isinstance(code, Exception):
            raise code
        return code


async def test_a_command_passes_once_it_exits_zero(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    commands = Commands(3, 0)
    spec = _spec(command="curl -fsS localhost:8080/healthz", retries=1)
    await _verify(spec, LOCAL, http, clock, log, commands)
    assert commands.ran == ["curl -fsS localhost:8080/healthz"] * 2
    assert log == [
        "health db-1: try 1/2 failed: command: exited 3",
        "health db-1: try 2/2 passed: command exit 0",
    ]


async def test_a_command_check_on_a_target_that_runs_none_fails_at_once(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    hook = TargetView("notify", "webhook")
    with pytest.raises(HealthCheckFailed, match="notify is a webhook target: use an http or tcp"):
        await _verify(_spec(command="true", retries=5), hook, http, clock, log, None)
    assert (log, clock.sleeps) == ([], [])
    refusing = Commands(NotSupported("webhook targets run no commands"))
    with pytest.raises(HealthCheckFailed, match="needs a target that runs commands"):
        await _verify(_spec(command="true", retries=5), hook, http, clock, log, refusing)
    assert clock.sleeps == []


async def test_a_runner_that_fails_fails_the_try(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    commands = Commands(ConnectionResetError("ssh connection lost"), 0)
    await _verify(_spec(command="true", retries=1), LOCAL, http, clock, log, commands)
    assert log[0] == "health db-1: try 1/2 failed: command: did not run: ssh connection lost"


# --- together ----------------------------------------------------------------------------------


async def test_all_checks_must_pass_in_the_same_try(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    answers = Answers(503)  # fails the first try, passes the second
    commands = Commands(1)  # passes the first try (not reached), fails the second
    async with answering(answers) as target:
        spec = _spec(http={"url": URL}, command="check", retries=1)
        with pytest.raises(HealthCheckFailed, match="last: command: exited 1"):
            await _verify(spec, target, http, clock, log, commands)
        assert [line.split(": ", 2)[1] for line in log] == ["try 1/2 failed", "try 2/2 failed"]
        log.clear()
        spec = _spec(http={"url": URL}, command="check", retries=0)
        await _verify(spec, target, http, clock, log, Commands(0))
    assert log == ["health web-1: try 1/1 passed: http 200; command exit 0"]


# --- the bake ----------------------------------------------------------------------------------


async def _bake(
    spec: HealthSpec,
    target: TargetView,
    http: httpx.AsyncClient,
    clock: FakeClock,
    log: Log,
    seconds: float,
    run_command: Any = None,
) -> None:
    await bake(
        spec,
        target,
        seconds=seconds,
        http=http,
        run_command=run_command,
        log=log,
        values=VALUES,
        sleep=clock.sleep,
        clock=clock.time,
    )


async def test_a_bake_checks_every_interval_until_its_end(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    answers = Answers()
    async with answering(answers) as target:
        await _bake(_spec(http={"url": URL}, interval=10), target, http, clock, log, seconds=25)
    assert clock.sleeps == [10, 10, 5]
    assert answers.calls == 4
    assert log[-1] == "bake web-1: round 4 (25 s of 25 s) passed: http 200"


async def test_a_bake_fails_at_its_first_failed_round(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    answers = Answers(200, 200, 500)
    async with answering(answers) as target:
        spec = _spec(http={"url": URL}, interval=10, retries=5)  # a bake does not retry
        with pytest.raises(HealthCheckFailed) as failed:
            await _bake(spec, target, http, clock, log, seconds=300)
    assert answers.calls == 3
    assert clock.sleeps == [10, 10]
    assert str(failed.value).startswith("web-1: the bake failed in round 3 (20 s of 300 s): ")
    assert str(failed.value).endswith("answered 500 (expected 200)")


async def test_a_bake_with_a_command_check_fails_on_the_third_round(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    commands = Commands(0, 0, 2, 0)
    with pytest.raises(HealthCheckFailed, match=r"round 3 \(60 s of 600 s\): command: exited 2"):
        await _bake(_spec(command="check", interval=30), LOCAL, http, clock, log, 600, commands)
    assert len(commands.ran) == 3


# --- rendering (pure) --------------------------------------------------------------------------


def _url(url: str, target: TargetView) -> str:
    spec = _spec(http=url)
    assert spec.http is not None
    return render_url(spec.http, target, VALUES)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/healthz", "http://10.0.0.5/healthz"),
        (
            "https://{{ target.name }}.{{ environment }}.acme.example/{{ release.name }}",
            "https://web-1.production.acme.example/v1.4.0",
        ),
        ("http://{{ target.host }}:{{ target.labels.port }}/", "http://10.0.0.5:8443/"),
        ("http://{{ target.host }}:{{ target.port }}/", "http://10.0.0.5:2222/"),
    ],
)
def test_a_url_renders_with_the_target_and_values(url: str, expected: str) -> None:
    target = TargetView("web-1", "ssh", "10.0.0.5", 2222, {"port": "8443"})
    assert _url(url, target) == expected


def test_a_url_without_a_host_fails_naming_the_target_type() -> None:
    with pytest.raises(HealthCheckFailed, match="notify is a webhook target, which has no host"):
        _url("/healthz", TargetView("notify", "webhook"))


@pytest.mark.parametrize(
    "url", ["ftp://{{ target.host }}/x", "http://{{ target.nope }}/healthz", "{{ x() }}"]
)
def test_a_url_that_is_no_http_url_fails(url: str) -> None:
    with pytest.raises(HealthCheckFailed, match=r"web-1: the http check's url"):
        _url(url, TargetView("web-1", "ssh", "10.0.0.5"))


async def test_a_misspelt_label_fails_at_once_naming_it(
    http: httpx.AsyncClient, clock: FakeClock, log: Log
) -> None:
    target = TargetView("web-1", "ssh", "127.0.0.1", 22, {"http_port": "8080"})
    url = "http://{{ target.host }}:{{ target.labels.http_prot }}/healthz"
    with pytest.raises(HealthCheckFailed) as failed:
        await _verify(_spec(http={"url": url}, retries=3), target, http, clock, log)
    assert str(failed.value) == (
        "web-1: the http check's url, line 1: 'dict object' has no attribute 'http_prot'"
    )
    assert (log, clock.sleeps) == ([], [])


def test_a_tcp_host_renders_and_must_not_be_empty() -> None:
    check = _spec(tcp={"port": 5432, "host": "db.{{ target.labels.zone }}"}).tcp
    assert check is not None
    target = TargetView("web-1", "ssh", "10.0.0.5", labels={"zone": "eu"})
    assert render_host(check, target, VALUES) == "db.eu"
    default = _spec(tcp={"port": 5432}).tcp
    assert default is not None
    with pytest.raises(HealthCheckFailed, match="tcp check's host renders empty"):
        render_host(default, TargetView("notify", "webhook"), VALUES)
