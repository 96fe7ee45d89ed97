"""`/api/v1/openapi.json`: an OpenAPI 3.1 document that validates, served without a token,
describing every answer of every operation; and the API fuzzed against it in-process
(schemathesis, with an admin token): no server error, no answer its schema does not allow."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import respx
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import Case, GenerationMode
from schemathesis.config import SchemathesisConfig

from app.main import create_app
from app.settings import Settings
from tests.support.api import bearer, declare_components, make_token, serve_config
from tests.support.settings import make_settings

EXAMPLES = 250  # cases per generation mode, over all operations
# Data that fits the schema may still name a repository on a host Shipyard does not know, or
# a component its config does not declare: 422 (documented) is a valid answer to it too; an
# integration of a provider there is not is 400, and one that fails its call 502 (documented).
CHECKS = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", 400, 401, 403, 404, 409, 422, 502]
            }
        }
    }
)

CONFIG = """
components:
  web: {image: registry.example.com/myorg/web}
releases:
  from: [{ci: {status: [success]}}]
"""


async def test_the_document_validates_and_describes_every_answer(api: httpx.AsyncClient) -> None:
    answer = await api.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    document = answer.json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    operations = {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    assert set(operations) == {
        ("POST", "/api/v1/releases"),
        ("GET", "/api/v1/releases"),
        ("GET", "/api/v1/releases/{releaseId}"),
        ("POST", "/api/v1/ci-events/build-complete"),
        ("POST", "/api/v1/service-accounts"),
        ("GET", "/api/v1/service-accounts"),
        ("DELETE", "/api/v1/service-accounts/{accountId}"),
        ("POST", "/api/v1/targets"),
        ("GET", "/api/v1/targets"),
        ("GET", "/api/v1/targets/{targetId}"),
        ("PATCH", "/api/v1/targets/{targetId}"),
        ("DELETE", "/api/v1/targets/{targetId}"),
        ("POST", "/api/v1/targets/{targetId}/test"),
        ("GET", "/api/v1/locks"),
        ("DELETE", "/api/v1/locks/{lockId}"),
        ("GET", "/api/v1/integrations/providers"),
        ("POST", "/api/v1/integrations"),
        ("GET", "/api/v1/integrations"),
        ("GET", "/api/v1/integrations/{integrationId}"),
        ("PATCH", "/api/v1/integrations/{integrationId}"),
        ("DELETE", "/api/v1/integrations/{integrationId}"),
        ("POST", "/api/v1/integrations/{integrationId}/test"),
        ("POST", "/api/v1/integrations/{integrationId}/discover"),
        ("POST", "/api/v1/deployments"),
        ("GET", "/api/v1/deployments"),
        ("GET", "/api/v1/deployments/{deploymentId}"),
        ("POST", "/api/v1/deployments/{deploymentId}/approve"),
        ("POST", "/api/v1/deployments/{deploymentId}/cancel"),
        ("POST", "/api/v1/environments/{environment}/rollback"),
        ("GET", "/api/v1/openapi.json"),
    }
    for key, operation in operations.items():
        for status, response in operation["responses"].items():
            if status == "204":  # no content
                assert "content" not in response, key
                continue
            assert response["content"]["application/json"]["schema"]["$ref"], (key, status)
        if key != ("GET", "/api/v1/openapi.json"):
            assert {"401", "403"} <= set(operation["responses"]), key
    schemas = document["components"]["schemas"]
    create = schemas["ReleaseCreate"]["properties"]
    assert {"name", "components", "sourceRef", "metadata"} == set(create)
    assert schemas["ComponentDigest"]["required"] == ["componentId", "digest"]


@pytest.fixture
def fuzzed_settings(migrated: str, redis_url: str) -> Settings:
    return make_settings(
        migrated,
        REDIS_URL=redis_url,
        GITHUB_TOKEN="ghp_FuzzT0ken0123456789abcdef",
        SHIPYARD_REPO_ALLOWLIST="github:myorg/*",
    )


@pytest.fixture
def admin_token(fuzzed_settings: Settings) -> str:
    async def prepare() -> str:
        await declare_components(
            fuzzed_settings, "myorg/myapp", {"web": ("registry.example.com/myorg/web", "x")}
        )
        return await make_token(fuzzed_settings, "fuzz-admin", "admin")

    return asyncio.run(prepare())


@pytest.fixture
def host() -> Iterator[respx.MockRouter]:
    """GitHub, for a config read the fuzzing may cause: myorg/myapp's config; 404 elsewhere."""
    with respx.mock(assert_all_called=False) as mock:
        serve_config(mock, CONFIG, "myorg/myapp")
        mock.route().respond(404, json={"message": "Not Found"})
        yield mock


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_answers_every_request_as_its_document_says(
    fuzzed_settings: Settings, host: respx.MockRouter, admin_token: str, mode: GenerationMode
) -> None:
    """Every operation, with data that fits its schema (positive) and data that does not
    (negative); every check schemathesis has by default, the status codes and the answers'
    schemas among them. A bounded, repeatable number of cases."""
    schema = schemathesis.openapi.from_asgi(
        "/api/v1/openapi.json", create_app(fuzzed_settings), config=CHECKS
    )
    headers = bearer(admin_token)

    @given(case=schema.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case: Case) -> None:
        case.call_and_validate(headers=headers)

    answers_as_documented()
