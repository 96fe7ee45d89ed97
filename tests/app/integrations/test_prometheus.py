"""The prometheus provider without a server: reading the API's answers (pure, by table), its
config, and the requests its connector sends (respx, at the transport: the exact path, query
parameters and headers the HTTP API documents)."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import httpx
import pytest
import respx

from app.integrations import store
from app.integrations.connector import ConnectorContext
from app.integrations.errors import IntegrationError
from app.integrations.metrics import MetricsSource, Sample
from app.integrations.metrics.prometheus import PROVIDER, PrometheusConfig, PrometheusConnector
from app.integrations.metrics.prometheus_api import (
    read_answer,
    read_build,
    read_names,
    read_samples,
)

ENDPOINT = "http://prom.example:9090"
TOKEN = "prom-token-s3cret"
SECRETS = {
    "env://PROM_TOKEN": TOKEN,
    "env://PROM_BASIC": "grafana:pa:ss",
    "env://PROM_ORG": "acme-org",
}


def _body(answer: Any) -> bytes:
    return json.dumps(answer).encode()


def _vector(*items: tuple[dict[str, str], str]) -> dict[str, Any]:
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": m, "value": [1700000000.5, v]} for m, v in items],
        },
    }


# --- answers (pure) -----------------------------------------------------------------------------


def test_a_success_answer_gives_its_data() -> None:
    assert read_answer(200, _body({"status": "success", "data": ["up"]}), "GET /x") == ["up"]


@pytest.mark.parametrize(
    ("status", "answer", "code", "message"),
    [
        (
            400,
            {"status": "error", "errorType": "bad_data", "error": 'parse error: unexpected "}"'},
            "INVALID_CONFIG",
            'GET /api/v1/query: bad_data: parse error: unexpected "}"',
        ),
        (
            422,
            {"status": "error", "errorType": "execution", "error": "many-to-many matching"},
            "PROVIDER_ERROR",
            "GET /api/v1/query: execution: many-to-many matching",
        ),
        (
            503,
            {"status": "error", "errorType": "timeout", "error": "query timed out"},
            "TIMEOUT",
            "GET /api/v1/query: timeout: query timed out",
        ),
        (200, {"status": "error"}, "PROVIDER_ERROR", "unknown: no message given"),
        (502, "<html>Bad Gateway</html>", "PROVIDER_ERROR", "GET /api/v1/query: answered 502"),
        (200, {"data": []}, "PROVIDER_ERROR", "not the Prometheus API's JSON envelope"),
        (500, {"status": "success", "data": []}, "PROVIDER_ERROR", "answered 500"),
    ],
)
def test_error_answers_become_the_hubs_errors(
    status: int, answer: Any, code: str, message: str
) -> None:
    body = answer.encode() if isinstance(answer, str) else _body(answer)
    with pytest.raises(IntegrationError) as raised:
        read_answer(status, body, "GET /api/v1/query")
    assert raised.value.code == code
    assert message in raised.value.detail


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            _vector(({"__name__": "app_error_ratio", "job": "web"}, "0.02"), ({}, "7"))["data"],
            [
                Sample(0.02, 1700000000.5, {"__name__": "app_error_ratio", "job": "web"}),
                Sample(7.0, 1700000000.5, {}),
            ],
        ),
        ({"resultType": "vector", "result": []}, []),
        ({"resultType": "scalar", "result": [1700000000, "1"]}, [Sample(1.0, 1700000000.0)]),
        (
            _vector(({"i": "a"}, "+Inf"), ({"i": "b"}, "-Inf"))["data"],
            [
                Sample(math.inf, 1700000000.5, {"i": "a"}),
                Sample(-math.inf, 1700000000.5, {"i": "b"}),
            ],
        ),
    ],
)
def test_an_instant_querys_result_is_read_as_samples(data: Any, expected: list[Sample]) -> None:
    assert read_samples(data, "GET /api/v1/query") == expected


def test_nan_is_a_sample_too() -> None:
    [sample] = read_samples(_vector(({}, "NaN"))["data"], "q")
    assert math.isnan(sample.value)


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (
            {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "1"]]}]},
            "INVALID_CONFIG",
            "gives a range vector",
        ),
        ({"resultType": "string", "result": [1, "hello"]}, "INVALID_CONFIG", "a string"),
        (
            {"resultType": "vector", "result": [{"metric": {}, "histogram": [1, {}]}]},
            "INVALID_CONFIG",
            "native histogram",
        ),
        (
            {"resultType": "vector", "result": [{"metric": {}, "value": [1, 2]}]},
            "PROVIDER_ERROR",
            "not [timestamp",
        ),
        (
            {"resultType": "vector", "result": [{"metric": {}, "value": [1, "x"]}]},
            "PROVIDER_ERROR",
            "which is no number",
        ),
        (
            {"resultType": "vector", "result": [{"metric": {"a": 1}, "value": [1, "1"]}]},
            "PROVIDER_ERROR",
            "labels that are not strings",
        ),
        ({"resultType": "tensor", "result": []}, "PROVIDER_ERROR", "result type 'tensor'"),
        (None, "PROVIDER_ERROR", "no result"),
    ],
)
def test_what_is_no_number_to_compare_is_refused(data: Any, code: str, message: str) -> None:
    with pytest.raises(IntegrationError) as raised:
        read_samples(data, "GET /api/v1/query")
    assert (raised.value.code, message in raised.value.detail) == (code, True)


@pytest.mark.parametrize(
    ("metric", "series"),
    [
        ({"__name__": "up", "job": "web", "instance": "a:1"}, 'up{instance="a:1",job="web"}'),
        ({"__name__": "up"}, "up"),
        ({"job": "web"}, '{job="web"}'),
        ({}, "{}"),
    ],
)
def test_a_sample_names_its_series_as_promql_does(metric: dict[str, str], series: str) -> None:
    assert Sample(1.0, 0.0, metric).series == series


def test_label_values_and_the_build_info() -> None:
    assert read_names(["a", "b"], "q") == ["a", "b"]
    with pytest.raises(IntegrationError, match="not a list of names"):
        read_names({"a": 1}, "q")
    assert read_build({"version": "2.42.0", "revision": "x"}) == "2.42.0"
    assert read_build([]) == ""


# --- config -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({}, "config.endpoint: Field required"),
        ({"endpoint": "ftp://prom"}, "config.endpoint: endpoint must be an http:// or https://"),
        (
            {"endpoint": ENDPOINT, "headers": {"X-Scope-OrgID": "acme"}},
            "headers holds a credential",
        ),
        ({"endpoint": ENDPOINT, "headers": {"authorization": "env://X"}}, "Authorization comes"),
        ({"endpoint": ENDPOINT, "headers": {"bad name": "env://X"}}, "is not an HTTP header name"),
        ({"endpoint": ENDPOINT, "auth": "digest"}, "config.auth: Input should be 'bearer' or"),
        ({"endpoint": ENDPOINT, "query": "up"}, "prometheus has no such setting"),
    ],
)
def test_a_bad_config_is_refused_naming_the_key(config: dict[str, Any], problem: str) -> None:
    with pytest.raises(store.InvalidIntegration) as raised:
        store.validate_config(PROVIDER, config)
    assert problem in str(raised.value)


def test_the_provider_as_the_catalogue_lists_it() -> None:
    checked = store.validate_config(
        PROVIDER, {"endpoint": ENDPOINT + "/", "headers": {"X-Scope-OrgID": "env://PROM_ORG"}}
    )
    assert checked.model_dump(exclude_none=True) == {
        "endpoint": ENDPOINT,
        "timeout": 10.0,
        "retries": 2,
        "auth": "bearer",
        "headers": {"X-Scope-OrgID": "env://PROM_ORG"},
    }
    assert PROVIDER.as_json() == {
        "name": "prometheus",
        "type": "metrics",
        "title": "Prometheus (HTTP API)",
        "available": True,
        "supportsDiscovery": True,
        "supportedResourceTypes": ["metrics"],
        "isTestOnly": False,
    }


# --- requests (respx) ---------------------------------------------------------------------------


async def _resolve(reference: str) -> str:
    if reference in SECRETS:
        return SECRETS[reference]
    raise IntegrationError("CREDENTIAL_FETCH_FAILED", f"{reference}: not set")


def _connector(
    http: httpx.AsyncClient, credential: str | None = "env://PROM_TOKEN", **config: Any
) -> PrometheusConnector:
    checked = PrometheusConfig.model_validate({"endpoint": ENDPOINT, **config})
    assert PROVIDER.connect is not None
    connector = PROVIDER.connect(ConnectorContext("prom", checked, credential, http, _resolve))
    assert isinstance(connector, PrometheusConnector)
    assert isinstance(connector, MetricsSource)
    return connector


async def test_a_query_is_a_get_with_the_query_the_time_and_the_bearer_token(
    http: httpx.AsyncClient,
) -> None:
    connector = _connector(http, headers={"X-Scope-OrgID": "env://PROM_ORG"})
    answer = _vector(({"__name__": "app_error_ratio", "job": "web"}, "0.25"))
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(f"{ENDPOINT}/api/v1/query").respond(200, json=answer)
        samples = await connector.query('app_error_ratio{job="web"}', at=1700000000.5)
    request = route.calls.last.request
    assert request.method == "GET"
    assert request.url.path == "/api/v1/query"
    assert dict(request.url.params) == {
        "query": 'app_error_ratio{job="web"}',
        "time": "1700000000.500",
    }
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-scope-orgid"] == "acme-org"
    assert request.headers["accept"] == "application/json"
    assert samples == [Sample(0.25, 1700000000.5, {"__name__": "app_error_ratio", "job": "web"})]


async def test_basic_auth_sends_user_and_password_and_no_time_means_now(
    http: httpx.AsyncClient,
) -> None:
    connector = _connector(http, "env://PROM_BASIC", auth="basic")
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(f"{ENDPOINT}/api/v1/query").respond(200, json=_vector(({}, "1")))
        await connector.query("vector(1)")
    request = route.calls.last.request
    assert dict(request.url.params) == {"query": "vector(1)"}
    expected = base64.b64encode(b"grafana:pa:ss").decode()
    assert request.headers["authorization"] == f"Basic {expected}"


async def test_without_a_credential_no_authorization_is_sent(http: httpx.AsyncClient) -> None:
    connector = _connector(http, None)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(f"{ENDPOINT}/api/v1/query").respond(200, json=_vector(({}, "1")))
        await connector.query("up")
    assert "authorization" not in route.calls.last.request.headers


async def test_an_endpoint_with_a_path_prefix_keeps_it(http: httpx.AsyncClient) -> None:
    connector = _connector(http, endpoint="https://metrics.example/prometheus")
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get("https://metrics.example/prometheus/api/v1/query").respond(
            200, json=_vector(({}, "1"))
        )
        await connector.query("up")
    assert route.calls.last.request.url.path == "/prometheus/api/v1/query"


async def test_a_basic_credential_without_a_colon_is_a_config_error(
    http: httpx.AsyncClient,
) -> None:
    connector = _connector(http, "env://PROM_TOKEN", auth="basic")
    with respx.mock(assert_all_mocked=True), pytest.raises(IntegrationError) as raised:
        await connector.query("up")
    assert raised.value.code == "INVALID_CONFIG"
    assert TOKEN not in str(raised.value)


async def test_a_bad_query_is_invalid_config_and_a_refused_token_authentication(
    http: httpx.AsyncClient,
) -> None:
    connector = _connector(http)
    bad = {"status": "error", "errorType": "bad_data", "error": "1:4: parse error"}
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{ENDPOINT}/api/v1/query").mock(
            side_effect=[
                httpx.Response(400, json=bad),
                httpx.Response(401, text="Unauthorized"),
                httpx.Response(429, headers={"retry-after": "7"}),
            ]
        )
        with pytest.raises(IntegrationError) as first:
            await connector.query("up{")
        with pytest.raises(IntegrationError) as second:
            await connector.query("up")
        with pytest.raises(IntegrationError) as third:
            await connector.query("up")
    assert (first.value.code, first.value.detail) == (
        "INVALID_CONFIG",
        "GET /api/v1/query: bad_data: 1:4: parse error",
    )
    assert second.value.code == "AUTHENTICATION_FAILED"
    assert (third.value.code, third.value.retry_after) == ("RATE_LIMITED", 7.0)
    assert all(TOKEN not in str(e.value) for e in (first, second, third))


async def test_a_missing_header_secret_fails_naming_its_reference(
    http: httpx.AsyncClient,
) -> None:
    connector = _connector(http, headers={"X-Scope-OrgID": "env://NOT_SET"})
    with respx.mock(assert_all_mocked=True), pytest.raises(IntegrationError) as raised:
        await connector.query("up")
    assert raised.value.code == "CREDENTIAL_FETCH_FAILED"
    assert "env://NOT_SET" in str(raised.value)


# --- checks and discovery (respx) ---------------------------------------------------------------


async def test_connectivity_asks_healthy_without_credentials(http: httpx.AsyncClient) -> None:
    connector = _connector(http)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(f"{ENDPOINT}/-/healthy").respond(200, text="Prometheus is Healthy.\n")
        message = await connector.check("connectivity")
    assert message == "reachable (/-/healthy answered 200)"
    assert "authorization" not in route.calls.last.request.headers


@pytest.mark.parametrize(
    ("healthy", "buildinfo", "message"),
    [
        (404, 200, "reachable (/api/v1/status/buildinfo answered 200)"),
        (401, None, "reachable; it asks for credentials (401)"),
        (404, 403, "reachable; it asks for credentials (403)"),
    ],
)
async def test_connectivity_falls_back_to_the_build_info(
    http: httpx.AsyncClient, healthy: int, buildinfo: int | None, message: str
) -> None:
    connector = _connector(http)
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{ENDPOINT}/-/healthy").respond(healthy)
        if buildinfo is not None:
            mock.get(f"{ENDPOINT}/api/v1/status/buildinfo").respond(buildinfo, json={})
        assert await connector.check("connectivity") == message


@pytest.mark.parametrize(
    ("side_effect", "code"),
    [
        (httpx.Response(503), "PROVIDER_ERROR"),
        (httpx.ConnectError("connection refused"), "CONNECTION_REFUSED"),
        (httpx.ReadTimeout("slow"), "TIMEOUT"),
    ],
)
async def test_connectivity_fails_on_a_server_error_or_no_connection(
    http: httpx.AsyncClient, side_effect: Any, code: str
) -> None:
    connector = _connector(http)
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{ENDPOINT}/-/healthy").mock(side_effect=side_effect)
        with pytest.raises(IntegrationError) as raised:
            await connector.check("connectivity")
    assert raised.value.code == code


async def test_authentication_reads_the_build_info_with_the_credential(
    http: httpx.AsyncClient,
) -> None:
    connector = _connector(http)
    info = {"status": "success", "data": {"version": "2.42.0", "revision": "abc"}}
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(f"{ENDPOINT}/api/v1/status/buildinfo").respond(200, json=info)
        assert await connector.check("authentication") == "signed in; Prometheus 2.42.0"
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


async def test_authentication_without_build_info_asks_a_query(http: httpx.AsyncClient) -> None:
    connector = _connector(http)
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{ENDPOINT}/api/v1/status/buildinfo").respond(404)
        query = mock.get(f"{ENDPOINT}/api/v1/query").respond(200, json=_vector(({}, "1")))
        message = await connector.check("authentication")
    assert message == "signed in (the server gives no build info)"
    assert query.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


async def test_a_refused_credential_fails_authentication(http: httpx.AsyncClient) -> None:
    connector = _connector(http)
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{ENDPOINT}/api/v1/status/buildinfo").respond(401)
        with pytest.raises(IntegrationError) as raised:
            await connector.check("authentication")
    assert raised.value.code == "AUTHENTICATION_FAILED"


@pytest.mark.parametrize(("value", "passes"), [("1", True), ("0", False)])
async def test_functionality_asks_vector_1(
    http: httpx.AsyncClient, value: str, passes: bool
) -> None:
    connector = _connector(http)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(f"{ENDPOINT}/api/v1/query").respond(200, json=_vector(({}, value)))
        if passes:
            assert await connector.check("functionality") == "the query vector(1) answered 1"
        else:
            with pytest.raises(IntegrationError, match="answered 0"):
                await connector.check("functionality")
    assert dict(route.calls.last.request.url.params) == {"query": "vector(1)"}


async def test_discovery_lists_the_metric_names(http: httpx.AsyncClient) -> None:
    connector = _connector(http)
    names = {"status": "success", "data": ["app_error_ratio", "up"]}
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(f"{ENDPOINT}/api/v1/label/__name__/values").respond(200, json=names)
        everything = await connector.discover("metrics", {})
        matched = await connector.discover("metrics", {"match": '{job="web"}'})
    assert [(r.type, r.name) for r in everything] == [
        ("metrics", "app_error_ratio"),
        ("metrics", "up"),
    ]
    assert len(matched) == 2
    first, second = route.calls
    assert dict(first.request.url.params) == {}
    assert list(second.request.url.params.multi_items()) == [("match[]", '{job="web"}')]
    assert second.request.headers["authorization"] == f"Bearer {TOKEN}"


async def test_other_resource_types_are_not_discovered(http: httpx.AsyncClient) -> None:
    with pytest.raises(IntegrationError) as raised:
        await _connector(http).discover("tags", {})
    assert raised.value.code == "UNSUPPORTED"
