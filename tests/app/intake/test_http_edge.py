"""The intake behind a real uvicorn: size bounds, hostile input, a kill mid-intake."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.support.database import stored
from tests.support.deliveries import PUSH, delivery
from tests.support.http import free_port, running, serving
from tests.support.settings import SECRETS, make_settings
from tests.support.tcp import black_hole
from tests.support.worker import run_worker_until_idle

LIMIT = 25 * 1024 * 1024


async def test_signed_delivery_over_real_http(settings: Settings) -> None:
    app = create_app(settings)
    body, headers = delivery("github", "push", PUSH, delivery_id="http-1")
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.post("/webhooks/github", content=body, headers=headers)
        await app.state.services.queue.join()
    assert response.status_code == 202
    [row] = await stored(settings)
    assert (row.delivery_id, row.status) == ("http-1", "processed")


async def _raw_exchange(port: int, head: bytes, body: bytes = b"") -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + body)
    await writer.drain()
    response = await asyncio.wait_for(reader.read(65536), timeout=5)
    writer.close()
    return response


async def test_declared_body_over_25_mb_is_refused_before_it_is_read(settings: Settings) -> None:
    """The client sends only headers promising 25 MB + 1: the 413 comes without the body."""
    app = create_app(settings)
    async with serving(app) as url:
        port = int(url.rsplit(":", 1)[1])
        head = (
            b"POST /webhooks/github HTTP/1.1\r\nHost: shipyard\r\n"
            b"Content-Type: application/json\r\nX-GitHub-Event: push\r\n"
            + f"Content-Length: {LIMIT + 1}\r\n\r\n".encode()
        )
        response = await _raw_exchange(port, head)
    assert response.startswith(b"HTTP/1.1 413")
    assert await stored(settings) == []


async def test_streamed_body_over_the_bound_is_refused(migrated: str) -> None:
    """Chunked, with no length declared: the intake stops reading at the bound."""
    settings = make_settings(migrated, SHIPYARD_MAX_WEBHOOK_BYTES=str(64 * 1024))
    app = create_app(settings)
    sent = 0

    async def chunks() -> object:
        nonlocal sent
        for _ in range(20):
            sent += 8192
            yield b" " * 8192

    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        _, headers = delivery("github", "push", b"{}")
        response = await client.post("/webhooks/github", content=chunks(), headers=headers)
    assert response.status_code == 413
    assert "65536" in response.json()["error"]
    assert await stored(settings) == []


@pytest.mark.parametrize(("size", "status"), [(64 * 1024, 202), (64 * 1024 + 1, 413)])
async def test_the_bound_is_exact(migrated: str, size: int, status: int) -> None:
    settings = make_settings(migrated, SHIPYARD_MAX_WEBHOOK_BYTES=str(64 * 1024))
    base = b'{"ref": "refs/heads/main", "pad": "'
    body = base + b"x" * (size - len(base) - 2) + b'"}'
    assert len(body) == size
    _, headers = delivery("github", "push", body)
    async with running(create_app(settings)) as client:
        response = await client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == status


async def test_hostile_input_never_gets_a_5xx_or_a_traceback(settings: Settings) -> None:
    rng = random.Random(7)
    header_names = [
        "X-GitHub-Event",
        "X-GitHub-Delivery",
        "X-Hub-Signature-256",
        "X-Gitlab-Token",
        "X-Gitlab-Event",
        "X-Gitea-Signature",
        "X-Gitea-Event",
        "Content-Type",
        "Idempotency-Key",
    ]
    values = [
        "",
        "push",
        "sha256=",
        "sha256=" + "0" * 64,
        SECRETS["GITLAB_WEBHOOK_SECRET"],
        "application/json",
        "application/x-www-form-urlencoded",
        "x" * 300,
        "ümlaut",
    ]
    bodies = [
        b"",
        b"{}",
        b"[]",
        b"null",
        b"\x00\xff",
        b'{"a":',
        b"payload=%7B",
        b"{" * 5000,
        b'{"repository": 5}',
        rng.randbytes(512),
    ]
    app = create_app(settings)
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        for _ in range(150):
            provider = rng.choice(["github", "gitlab", "gitea", "forgejo", "nope", "%00", "../x"])
            headers = {
                rng.choice(header_names): rng.choice(values) for _ in range(rng.randint(0, 6))
            }
            raw = [(k.encode(), v.encode()) for k, v in headers.items()]
            response = await client.post(
                f"/webhooks/{provider}", content=rng.choice(bodies), headers=raw
            )
            assert response.status_code in {200, 202, 400, 401, 404, 413, 415}, response.text
            assert "Traceback" not in response.text
        await app.state.services.queue.join()


def _start_server(settings_env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, **settings_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_healthy(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never became healthy")


async def test_process_killed_between_store_and_enqueue_is_recovered_on_start(
    migrated: str, redis_url: str
) -> None:
    """A web process stuck enqueueing (Redis answers nothing) is SIGKILLed after the store."""
    port = free_port()
    with black_hole() as hole:
        env = {
            "DATABASE_URL": migrated,
            "REDIS_URL": f"redis://127.0.0.1:{hole.getsockname()[1]}/0",
            **SECRETS,
        }
        server = _start_server(env, port)
        try:
            await _wait_healthy(f"http://127.0.0.1:{port}")
            body, headers = delivery("github", "push", PUSH, delivery_id="killed")
            async with httpx.AsyncClient() as client:
                post = asyncio.create_task(
                    client.post(
                        f"http://127.0.0.1:{port}/webhooks/github",
                        content=body,
                        headers=headers,
                        timeout=10,
                    )
                )
                settings = make_settings(migrated)
                for _ in range(200):
                    if await stored(settings):
                        break
                    await asyncio.sleep(0.01)
                server.send_signal(signal.SIGKILL)
                server.wait(5)
                with pytest.raises(httpx.TransportError):
                    await post
        finally:
            server.kill()
            server.wait(5)
    [row] = await stored(settings)
    assert (row.status, row.attempts) == ("queued", 0)  # stored, never enqueued: the crash window

    settings = make_settings(migrated, REDIS_URL=redis_url)
    async with running(create_app(settings)):
        pass  # start-up puts it on the queue
    await run_worker_until_idle(settings)
    [row] = await stored(settings)
    assert (row.status, row.kind, row.attempts) == ("processed", "push", 1)
