"""The prometheus provider against a real Prometheus (Debian's, behind basic auth) scraping
a metrics endpoint of the test's own: its checks, discovery and instant queries, directly and
through the hub."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Gauge

from app.integrations import store
from app.integrations.connector import ConnectorContext
from app.integrations.errors import IntegrationError
from app.integrations.metrics import MetricsSource, Sample
from app.integrations.metrics.prometheus import PROVIDER, PrometheusConfig, PrometheusConnector
from app.wiring import open_services
from tests.support.prometheus_server import (
    PrometheusServer,
    exporting,
    own_prometheus,
    use_prometheus_provider,
    values_of,
)
from tests.support.settings import make_settings

USERS = {"shipyard": "metrics-pa55"}
CREDENTIALS = {"env://PROM_LOGIN": "shipyard:metrics-pa55", "env://PROM_WRONG": "shipyard:nope"}


@pytest.fixture
def gauge() -> Iterator[tuple[Gauge, str]]:
    """`app_error_ratio` by version, exported on a loopback port: (the gauge, the target)."""
    registry = CollectorRegistry()
    ratio = Gauge("app_error_ratio", "Errors per request", ["version"], registry=registry)
    with exporting(registry) as target:
        yield ratio, target


@pytest.fixture
def prometheus(tmp_path: Path, gauge: tuple[Gauge, str]) -> Iterator[PrometheusServer]:
    with own_prometheus(tmp_path / "prometheus", [gauge[1]], users=USERS) as server:
        yield server


async def _resolve(reference: str) -> str:
    return CREDENTIALS[reference]


def _connector(
    server: PrometheusServer, http: httpx.AsyncClient, credential: str | None = "env://PROM_LOGIN"
) -> PrometheusConnector:
    config = PrometheusConfig(endpoint=server.url, auth="basic")
    return PrometheusConnector(ConnectorContext("prom", config, credential, http, _resolve))


async def test_checks_discovery_and_queries_against_prometheus(
    prometheus: PrometheusServer, gauge: tuple[Gauge, str], http: httpx.AsyncClient
) -> None:
    ratio, target = gauge
    ratio.labels(version="v1").set(0.02)
    await values_of(prometheus, 'app_error_ratio{version="v1"}', lambda v: v == [0.02])
    connector = _connector(prometheus, http)
    assert isinstance(connector, MetricsSource)

    assert await connector.check("connectivity") == "reachable; it asks for credentials (401)"
    assert (await connector.check("authentication")).startswith("signed in; Prometheus 2.")
    assert await connector.check("functionality") == "the query vector(1) answered 1"

    [sample] = await connector.query('app_error_ratio{version="v1"}')
    assert (sample.value, dict(sample.metric)) == (
        0.02,
        {"__name__": "app_error_ratio", "instance": target, "job": "app", "version": "v1"},
    )
    [total] = await connector.query("sum(app_error_ratio) * 2")
    assert (total.value, total.series) == (0.04, "{}")
    [scalar] = await connector.query("scalar(vector(3))")
    assert (scalar.value, dict(scalar.metric)) == (3.0, {})
    assert await connector.query("app_error_ratio", at=time.time() - 86400) == []  # no data then

    names = [resource.name for resource in await connector.discover("metrics", {})]
    assert {"app_error_ratio", "up"} <= set(names)
    only = await connector.discover("metrics", {"match": '{job="app",version="v1"}'})
    assert [resource.name for resource in only] == ["app_error_ratio"]


async def test_prometheus_refuses_a_wrong_password_and_a_malformed_query(
    prometheus: PrometheusServer, http: httpx.AsyncClient
) -> None:
    wrong = _connector(prometheus, http, "env://PROM_WRONG")
    with pytest.raises(IntegrationError) as refused:
        await wrong.check("authentication")
    assert refused.value.code == "AUTHENTICATION_FAILED"
    assert "nope" not in str(refused.value)
    with pytest.raises(IntegrationError) as anonymous:
        await _connector(prometheus, http, None).query("up")
    assert anonymous.value.code == "AUTHENTICATION_FAILED"

    connector = _connector(prometheus, http)
    with pytest.raises(IntegrationError) as malformed:
        await connector.query("app_error_ratio{")
    assert malformed.value.code == "INVALID_CONFIG"
    assert malformed.value.detail.startswith("GET /api/v1/query: bad_data: ")
    with pytest.raises(IntegrationError, match="gives a range vector"):
        await connector.query("app_error_ratio[1m]")


async def test_through_the_hub(
    migrated: str,
    monkeypatch: pytest.MonkeyPatch,
    prometheus: PrometheusServer,
    gauge: tuple[Gauge, str],
) -> None:
    gauge[0].labels(version="v2").set(0.5)
    await values_of(prometheus, "app_error_ratio", lambda v: v == [0.5])
    use_prometheus_provider(monkeypatch)
    monkeypatch.setenv("PROM_LOGIN", CREDENTIALS["env://PROM_LOGIN"])
    settings = make_settings(migrated)
    async with open_services(settings) as services:
        hub = services.integrations
        made = await store.create_integration(
            services.sessions,
            settings,
            hub.catalogue,
            name="prom",
            type="metrics",
            provider="prometheus",
            config={"endpoint": prometheus.url, "auth": "basic"},
            credential_ref="env://PROM_LOGIN",
        )
        report = await hub.test(made)
        found = await hub.discover("prom", "metrics", pattern="app_*")

        async def ask(connector: object) -> list[Sample]:
            assert isinstance(connector, MetricsSource)
            return await connector.query("max(app_error_ratio)")

        [sample] = await hub.call("prom", ask, type="metrics")
    assert report.ok, report.as_json()
    assert report.health == "healthy"
    assert [resource.name for resource in found.resources] == ["app_error_ratio"]
    assert sample.value == 0.5
    assert PROVIDER.name == made.provider
