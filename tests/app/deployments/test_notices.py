"""Deployments tell the environment's `notify:` integrations where they got — through the real
engine, the hub and each provider: a signed webhook hears started and succeeded, Slack hears a
failure, an SMTP server (aiosmtpd) receives the e-mail; a missing integration is logged and
never fails the deployment. Plus the notice itself, and the hub's Notices."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from app.db.models.deployments import DeploymentJob, JobKind, JobState
from app.deployments.notices import deployment_notice, status_of
from app.deployments.snapshot import JobSpec
from app.environments.config import environments_of
from app.features import parse_config
from app.integrations import store
from app.integrations.catalogue import catalogue
from app.integrations.notifications import email, slack, webhook
from app.integrations.notifications.service import HubNotices
from app.integrations.spec import ProviderSpec
from app.repo_config.errors import ConfigError
from app.services import Services
from app.settings import Settings
from steps.integrations import IntegrationFailed, Notice
from tests.support.deploying import (
    DeployHost,
    command_target,
    deploy,
    deploying,
    marker_script,
    ready_release,
    register,
)
from tests.support.settings import make_settings
from tests.support.smtp import SmtpServer, running_smtp

HOOK_URL = "https://hooks.acme.example/shipyard"
HOOK_KEY = "whsec-deploy-notices"
SLACK_API = "https://slack.test/api"
SLACK_TOKEN = "xoxb-deploy-notices-token"
PUBLIC_URL = "https://shipyard.acme.example"

NOTIFICATION_PROVIDERS = (email.PROVIDER, slack.PROVIDER, webhook.PROVIDER)


def with_notifications() -> dict[str, ProviderSpec]:
    return {**catalogue(), **{spec.name: spec for spec in NOTIFICATION_PROVIDERS}}


@pytest.fixture
def settings(migrated: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HOOK_KEY", HOOK_KEY)
    monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
    monkeypatch.setattr("app.wiring.catalogue", with_notifications)
    return make_settings(
        migrated,
        SHIPYARD_STEP_SANDBOX="none",
        SHIPYARD_HEARTBEAT="0.2",
        SHIPYARD_PUBLIC_URL=PUBLIC_URL,
    )


@pytest.fixture
def outside() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def config_notifying(*rules: str) -> str:
    return (
        "components:\n"
        "  web: {image: registry.example.com/acme/web}\n"
        "environments:\n"
        "  production:\n"
        "    targets: [p1]\n"
        "    url: https://www.acme.example\n"
        "    notify:\n" + "".join(f"      - {rule}\n" for rule in rules)
    )


async def add(
    services: Services, name: str, provider: str, config: dict[str, Any], **more: Any
) -> None:
    await store.create_integration(
        services.sessions,
        services.settings,
        services.integrations.catalogue,
        name=name,
        type="notification",
        provider=provider,
        config=config,
        repositories=["acme/web"],  # the deploying repository's config names it
        **more,
    )


async def add_hook_and_slack(services: Services) -> None:
    await add(
        services, "deploy-hook", "webhook", {"url": HOOK_URL}, credential_ref="env://HOOK_KEY"
    )
    await add(
        services,
        "team-slack",
        "slack",
        {"channel": "#deploys", "api_url": SLACK_API},
        credential_ref="env://SLACK_BOT_TOKEN",
    )


def delivered(route: respx.Route) -> list[dict[str, Any]]:
    """The webhook's deliveries, each checked to be signed over its exact bytes."""
    bodies = []
    for call in route.calls:
        request = call.request
        digest = hmac.new(HOOK_KEY.encode(), request.content, hashlib.sha256).hexdigest()
        assert request.headers["x-shipyard-signature-256"] == f"sha256={digest}"
        assert request.headers["x-shipyard-event"] == "notice"
        bodies.append(json.loads(request.content))
    return bodies


async def test_a_deployment_that_ends_well_says_started_then_succeeded(
    settings: Settings, tmp_path: Path, outside: respx.MockRouter
) -> None:
    hook = outside.post(HOOK_URL).mock(return_value=httpx.Response(204))
    posted = outside.post(f"{SLACK_API}/chat.postMessage").mock(
        return_value=httpx.Response(200, json={"ok": True, "ts": "1.2"})
    )
    host = DeployHost(
        config_notifying("deploy-hook", "{integration: team-slack, on: [failed, rolled_back]}")
    )
    async with deploying(settings, host) as services:
        await add_hook_and_slack(services)
        await register(services, "p1", command_target(marker_script(tmp_path)))
        release = await ready_release(services.sessions, "v1.2.3")
        job = await deploy(services, release, "production")

    assert job.state == JobState.COMPLETED, job.error
    started, succeeded = delivered(hook)
    page = f"{PUBLIC_URL}/deployments/{job.id}"
    fields = {
        "Repository": "acme/web",
        "Environment": "production",
        "Release": "v1.2.3",
        "Commit": (job.spec["release"]["commit"] or "")[:12],
        "Requested by": "cli:tester",
        "URL": "https://www.acme.example",
    }
    assert started == {
        "event": "notice",
        "status": "started",
        "title": "web: production → v1.2.3",
        "text": "Deploying v1.2.3 to production.",
        "url": page,
        "fields": fields,
        "dedup_key": "shipyard/github/acme/web/production",
    }
    assert succeeded == {
        **started,
        "status": "succeeded",
        "title": "web: production ✓ v1.2.3",
        "text": "v1.2.3 is live in production.",
    }
    assert not posted.called  # Slack asked for failures only
    assert "notice:started" in job.reported
    assert "notice:succeeded" in job.reported


async def test_a_failed_deployment_says_failed_to_slack(
    settings: Settings, tmp_path: Path, outside: respx.MockRouter
) -> None:
    hook = outside.post(HOOK_URL).mock(return_value=httpx.Response(204))
    posted = outside.post(f"{SLACK_API}/chat.postMessage").mock(
        return_value=httpx.Response(200, json={"ok": True, "ts": "1.2"})
    )
    host = DeployHost(
        config_notifying("deploy-hook", "{integration: team-slack, on: [failed, rolled_back]}")
    )
    async with deploying(settings, host) as services:
        await add_hook_and_slack(services)
        await register(services, "p1", command_target(marker_script(tmp_path, fail_on="p1")))
        release = await ready_release(services.sessions, "v1.2.3")
        job = await deploy(services, release, "production")

    assert job.state == JobState.FAILED
    assert [body["status"] for body in delivered(hook)] == ["started", "failed"]
    [call] = posted.calls
    request = call.request
    assert request.headers["authorization"] == f"Bearer {SLACK_TOKEN}"
    body = json.loads(request.content)
    assert body["channel"] == "#deploys"
    assert body["blocks"][0]["text"]["text"] == "❌ web: production ✗ v1.2.3"
    assert body["text"].startswith(
        "web: production ✗ v1.2.3\nDeploying v1.2.3 to production failed: "
    )
    assert body["text"].endswith(f"{PUBLIC_URL}/deployments/{job.id}")


async def test_a_missing_integration_is_logged_and_the_deployment_goes_on(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    host = DeployHost(config_notifying("{integration: nobody-home, on: [succeeded]}"))
    with caplog.at_level(logging.WARNING, logger="app.deployments.notices"):
        async with deploying(settings, host) as services:
            await register(services, "p1", command_target(marker_script(tmp_path)))
            release = await ready_release(services.sessions, "v2")
            job = await deploy(services, release, "production")

    assert job.state == JobState.COMPLETED, job.error
    assert any(
        "nobody-home was not notified: INTEGRATION_NOT_FOUND" in record.getMessage()
        for record in caplog.records
    ), caplog.text


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    with running_smtp(tmp_path) as server:
        yield server


async def test_a_deployment_e_mail_arrives(
    settings: Settings, tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", smtp.password)
    settings = make_settings(
        settings.database_url or "", SHIPYARD_STEP_SANDBOX="none", SHIPYARD_PUBLIC_URL=PUBLIC_URL
    )
    host = DeployHost(config_notifying("{integration: ops-mail, on: [succeeded]}"))
    async with deploying(settings, host) as services:
        await add(
            services,
            "ops-mail",
            "email",
            {
                "host": smtp.host,
                "port": smtp.port,
                "sender": "Shipyard <shipyard@acme.example>",
                "to": ["ops@acme.example"],
                "username": smtp.username,
                "ca_file": str(smtp.ca_file),
            },
            credential_ref="env://SMTP_PASSWORD",
        )
        await register(services, "p1", command_target(marker_script(tmp_path)))
        release = await ready_release(services.sessions, "v1.2.3")
        job = await deploy(services, release, "production")

    assert job.state == JobState.COMPLETED, job.error
    [received] = smtp.received
    assert (received.over_tls, received.authenticated) == (True, True)
    assert received.rcpt_tos == ("ops@acme.example",)
    message = received.message
    assert message["Subject"] == "[Shipyard] web: production ✓ v1.2.3"
    assert message["From"] == "Shipyard <shipyard@acme.example>"
    assert message["To"] == "ops@acme.example"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert body.startswith("web: production ✓ v1.2.3\n\nv1.2.3 is live in production.\n\n")
    assert "Repository: acme/web\nEnvironment: production\nRelease: v1.2.3\n" in body
    assert f"\n{PUBLIC_URL}/deployments/{job.id}\n" in body
    assert smtp.password not in body


# --- the `notify:` key -----------------------------------------------------------------------


def test_notify_rules_parse_with_their_shorthands() -> None:
    config = parse_config(
        config_notifying(
            "team-slack",
            "{integration: pager, on: [failed, rolled_back]}",
            "{integration: m, on: succeeded}",
        )
    )

    rules = environments_of(config)["production"].notify
    assert [(rule.integration, rule.on) for rule in rules] == [
        ("team-slack", ("started", "succeeded", "failed", "rolled_back")),
        ("pager", ("failed", "rolled_back")),
        ("m", ("succeeded",)),
    ]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            "{integration: pager, on: [failed, rolledback]}",
            "unknown deployment event 'rolledback' (did you mean 'rolled_back'?)",
        ),
        ("{integration: Team Slack}", "integration name 'Team Slack'"),
        ("{integraton: pager}", "unknown key 'integraton' (did you mean 'integration'?)"),
        ("{integration: pager, on: []}", "on: must not be empty"),
    ],
)
def test_notify_problems_name_their_line(rule: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(config_notifying("team-slack", rule))

    lines = raised.value.lines()
    assert any(shown.startswith(".shipyard.yml:9:") and expected in shown for shown in lines), lines


# --- the notice itself ----------------------------------------------------------------------


def job_of(
    state: JobState, kind: JobKind = JobKind.DEPLOY, error: str | None = None
) -> DeploymentJob:
    return DeploymentJob(
        id=7,
        provider="gitlab",
        repository="acme/shop/api",
        environment="staging",
        release_id=3,
        kind=kind,
        state=state,
        requested_by_kind="person",
        requested_by="gitlab:alice",
        via="chatops",
        error=error,
        spec={
            "environment": {"targets": ["s1"]},
            "targets": {},
            "release": {
                "id": 3,
                "name": "v3.0.0",
                "version": "3.0.0",
                "commit": "c" * 40,
                "tag": "v3.0.0",
                "components": [],
            },
            "default_branch": "main",
            "url": None,
        },
    )


@pytest.mark.parametrize(
    ("state", "kind", "status"),
    [
        (JobState.RUNNING, JobKind.DEPLOY, "started"),
        (JobState.RUNNING, JobKind.ROLLBACK, "started"),
        (JobState.ROLLING_BACK, JobKind.DEPLOY, None),
        (JobState.COMPLETED, JobKind.DEPLOY, "succeeded"),
        (JobState.COMPLETED, JobKind.ROLLBACK, "rolled_back"),
        (JobState.FAILED, JobKind.DEPLOY, "failed"),
        (JobState.ROLLED_BACK, JobKind.DEPLOY, "rolled_back"),
        (JobState.CANCELLED, JobKind.DEPLOY, None),
        (JobState.QUEUED, JobKind.DEPLOY, None),
    ],
)
def test_what_a_jobs_state_tells(state: JobState, kind: JobKind, status: str | None) -> None:
    assert status_of(job_of(state, kind)) == status


def test_a_rollback_notice_says_why_and_keeps_the_environments_dedup_key() -> None:
    job = job_of(JobState.ROLLED_BACK, error="health check failed on s1")

    notice = deployment_notice(
        job, JobSpec.of(job), "rolled_back", "https://s.example/deployments/7"
    )

    assert notice == Notice(
        title="api: staging ↩ v3.0.0",
        text="Deploying v3.0.0 to staging failed and was rolled back: health check failed on s1",
        status="rolled_back",
        url="https://s.example/deployments/7",
        fields={
            "Repository": "acme/shop/api",
            "Environment": "staging",
            "Release": "v3.0.0",
            "Commit": "c" * 12,
            "Requested by": "gitlab:alice",
        },
        dedup_key="shipyard/gitlab/acme/shop/api/staging",
    )


# --- the hub's Notices ----------------------------------------------------------------------


async def test_hub_notices_turn_hub_errors_into_the_steps_words(settings: Settings) -> None:
    async with deploying(settings, DeployHost(config_notifying("x"))) as services:
        await add(services, "deploy-hook", "webhook", {"url": HOOK_URL})
        notices = HubNotices(services.integrations)
        notice = Notice(title="t", text="")

        with pytest.raises(IntegrationFailed) as missing:
            await notices.send("nope", notice)
        with respx.mock() as outside:
            outside.post(HOOK_URL).mock(return_value=httpx.Response(401))
            with pytest.raises(IntegrationFailed) as refused:
                await notices.send("deploy-hook", notice)

    assert missing.value.code == "INTEGRATION_NOT_FOUND"
    assert str(missing.value) == "INTEGRATION_NOT_FOUND: there is no integration 'nope'"
    assert refused.value.code == "AUTHENTICATION_FAILED"
    assert str(refused.value) == (
        "AUTHENTICATION_FAILED: integration deploy-hook: the webhook: the credential was "
        "refused (401)"
    )
