"""A real Prometheus (Debian's) scraping a real uvicorn-served Shipyard's `/metrics` on
loopback: the deliveries posted are what it reads back, before and after more arrive."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.main import create_app
from tests.support.chatops import migrated_sqlite
from tests.support.deliveries import PUSH, delivery
from tests.support.http import free_port, serving
from tests.support.prometheus import scrape
from tests.support.prometheus_server import own_prometheus, require_prometheus, values_of
from tests.support.settings import make_settings

QUERY = 'sum(shipyard_deliveries_total{provider="github", event="push", outcome="queued"})'


async def post_pushes(client: httpx.AsyncClient, first: int, count: int) -> None:
    for number in range(first, first + count):
        body, headers = delivery("github", "push", {**PUSH, "after": f"{number:040x}"})
        answer = await client.post("/webhooks/github", content=body, headers=headers)
        assert answer.status_code == 202, answer.text


async def test_prometheus_reads_the_deliveries_posted(tmp_path: Path) -> None:
    require_prometheus()
    port = free_port()
    settings = make_settings(
        await migrated_sqlite(tmp_path), SHIPYARD_PUBLIC_URL=f"http://127.0.0.1:{port}"
    )
    async with (
        serving(create_app(settings), port) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        exposition = await scrape(client)  # open: on loopback, known by a loopback URL
        before = exposition.value(
            "shipyard_deliveries_total", provider="github", event="push", outcome="queued"
        )
        await post_pushes(client, 0, 3)
        with own_prometheus(tmp_path / "prometheus", [f"127.0.0.1:{port}"]) as prometheus:
            first = await values_of(prometheus, QUERY, lambda values: values == [before + 3])
            await post_pushes(client, 3, 2)
            then = await values_of(prometheus, QUERY, lambda values: values == [before + 5])
            up = await values_of(prometheus, 'up{job="app"}', lambda values: values == [1.0])
    assert (first, then, up) == ([before + 3], [before + 5], [1.0])
