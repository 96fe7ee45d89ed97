"""A pipeline's `notify` step through a registered integration, end to end: the real engine
gives the step the hub's Notices, the webhook provider delivers the notice (templated, signed),
and the step's output names what was sent; an unknown integration fails the step with its code."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
import respx

from app.db.engine import create_engine, session_factory
from app.integrations import store
from app.integrations.catalogue import catalogue
from app.integrations.notifications import webhook
from app.integrations.spec import ProviderSpec
from app.settings import Settings
from tests.support.engine import run_pipeline
from tests.support.settings import make_settings

HOOK_URL = "https://hooks.acme.example/ci"
HOOK_KEY = "whsec-pipeline-notices"


def with_webhook() -> dict[str, ProviderSpec]:
    return {**catalogue(), webhook.PROVIDER.name: webhook.PROVIDER}


@pytest.fixture
def settings(migrated: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CI_HOOK_KEY", HOOK_KEY)
    monkeypatch.setattr("app.wiring.catalogue", with_webhook)
    return make_settings(migrated, SHIPYARD_DATA_DIR=str(data_dir), SHIPYARD_HEARTBEAT="0.05")


@pytest.fixture
def outside() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


async def register_hook(settings: Settings, repositories: Sequence[str] = ("acme/*",)) -> None:
    engine = create_engine(settings)
    try:
        await store.create_integration(
            session_factory(engine),
            settings,
            with_webhook(),
            name="ci-hook",
            type="notification",
            provider="webhook",
            config={"url": HOOK_URL},
            credential_ref="env://CI_HOOK_KEY",
            repositories=repositories,
        )
    finally:
        await engine.dispose()


def pipeline(integration: str) -> str:
    return f"""
pipelines:
  p:
    on: {{manual: true}}
    steps:
      - name: tell
        type: notify
        config:
          integration: {integration}
          title: "{{{{ repo.full_name }}}}: checks passed"
          text: all green
          status: succeeded
          fields: {{Tests: 412}}
          dedup_key: ci/acme/web
"""


async def test_a_notify_step_sends_through_the_integration(
    settings: Settings, outside: respx.MockRouter
) -> None:
    route = outside.post(HOOK_URL).mock(return_value=httpx.Response(204))
    await register_hook(settings)

    run, steps = await run_pipeline(settings, pipeline("ci-hook"))

    assert run.state == "succeeded", steps["tell"].error
    [call] = route.calls
    request = call.request
    digest = hmac.new(HOOK_KEY.encode(), request.content, hashlib.sha256).hexdigest()
    assert request.headers["x-shipyard-signature-256"] == f"sha256={digest}"
    assert json.loads(request.content) == {
        "event": "notice",
        "status": "succeeded",
        "title": "acme/web: checks passed",
        "text": "all green",
        "url": None,
        "fields": {"Tests": "412"},
        "dedup_key": "ci/acme/web",
    }
    delivery = request.headers["x-shipyard-delivery"]
    assert steps["tell"].outputs == {"integration": "ci-hook", "notice_id": delivery}
    assert steps["tell"].recorded["notice"] == {"integration": "ci-hook", "id": delivery}


async def test_a_repository_the_integration_is_not_granted_to_sends_nothing(
    settings: Settings, outside: respx.MockRouter
) -> None:
    await register_hook(settings, repositories=["acme/api", "gitlab:acme/*"])

    run, steps = await run_pipeline(settings, pipeline("ci-hook"))

    assert run.state == "failed"
    assert steps["tell"].error == (
        "notify: PERMISSION_DENIED: integration ci-hook: github:acme/web may not use it (its "
        "repositories: acme/api, gitlab:acme/*; an operator grants it with `shipyard "
        "integrations update ci-hook --repos GLOB`)"
    )
    assert not outside.calls


async def test_an_unknown_integration_fails_the_step_with_its_code(
    settings: Settings, outside: respx.MockRouter
) -> None:
    run, steps = await run_pipeline(settings, pipeline("no-such-hook"))

    assert run.state == "failed"
    assert steps["tell"].error == (
        "notify: INTEGRATION_NOT_FOUND: there is no integration 'no-such-hook'"
    )
    assert not outside.calls
