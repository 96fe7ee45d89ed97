"""The e-mail provider against a real SMTP server (aiosmtpd): STARTTLS with a CA of the test's
own, AUTH only over TLS, the message as received, the checks, and its failures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from app.integrations.connector import ConnectorContext
from app.integrations.errors import IntegrationError
from app.integrations.notifications import Notifier
from app.integrations.notifications.email import PROVIDER, EmailConfig, EmailConnector
from steps.integrations import Notice
from tests.support.smtp import SmtpServer, running_smtp

PASSWORD_REF = "env://SMTP_PASSWORD"

NOTICE = Notice(
    title="web: production ✓ v1.2.3",
    text="v1.2.3 is live in production.",
    status="succeeded",
    url="https://shipyard.example/deployments/7",
    fields={"Repository": "acme/web", "Environment": "production"},
    dedup_key="shipyard/github/acme/web/production",
)


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    with running_smtp(tmp_path) as server:
        yield server


def settings_of(smtp: SmtpServer, **more: Any) -> dict[str, Any]:
    return {
        "host": smtp.host,
        "port": smtp.port,
        "sender": "Shipyard <shipyard@acme.example>",
        "to": ["ops@acme.example", "Dev Team <dev@acme.example>"],
        "username": smtp.username,
        "ca_file": str(smtp.ca_file),
        "timeout": 10,
        **more,
    }


def connector(
    http: httpx.AsyncClient, config: dict[str, Any], password: str | None
) -> EmailConnector:
    """The connector as the hub builds it; the credential resolves to `password`."""
    resolved: list[str] = []

    async def resolve(reference: str) -> str:
        assert reference == PASSWORD_REF
        assert password is not None
        resolved.append(reference)
        return password

    ctx = ConnectorContext(
        name="mail",
        config=EmailConfig.model_validate(config),
        credential_ref=PASSWORD_REF if password is not None else None,
        http=http,
        resolve=resolve,
    )
    made = PROVIDER.connect(ctx) if PROVIDER.connect else None
    assert isinstance(made, EmailConnector)
    assert isinstance(made, Notifier)
    return made


async def test_a_notice_arrives_over_starttls_from_a_signed_in_client(
    smtp: SmtpServer, http: httpx.AsyncClient
) -> None:
    sent = await connector(http, settings_of(smtp), smtp.password).send(NOTICE)

    [received] = smtp.received
    assert received.over_tls
    assert received.authenticated
    assert smtp.logins == [("PLAIN", True)]
    assert received.mail_from == "shipyard@acme.example"
    assert received.rcpt_tos == ("ops@acme.example", "dev@acme.example")
    message = received.message
    assert message["Subject"] == "[Shipyard] web: production ✓ v1.2.3"
    assert message["From"] == "Shipyard <shipyard@acme.example>"
    assert message["To"] == "ops@acme.example, Dev Team <dev@acme.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] == sent.id
    assert str(sent.id).endswith("@acme.example>")
    assert message["Date"]
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == (
        "web: production ✓ v1.2.3\n"
        "\n"
        "v1.2.3 is live in production.\n"
        "\n"
        "Repository: acme/web\n"
        "Environment: production\n"
        "\n"
        "https://shipyard.example/deployments/7\n"
        "\n"
        "-- \n"
        "Sent by Shipyard\n"
    )
    assert smtp.password.encode() not in received.content


async def test_templates_of_the_config_and_an_html_part(
    smtp: SmtpServer, http: httpx.AsyncClient
) -> None:
    config = settings_of(
        smtp,
        subject_template="{{ status | upper }}: {{ fields.Environment }}\n(ignored line break)",
        body_template="{{ title }} -> {{ url }}",
        html_template="<h1>{{ title }}</h1><p>{{ text }}</p>",
    )
    notice = Notice(
        title="<b>web</b> failed", text="a & b", status="failed", fields={"Environment": "prod"}
    )

    await connector(http, config, smtp.password).send(notice)

    message = smtp.received[0].message
    assert message["Subject"] == "FAILED: prod (ignored line break)"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content() == "<b>web</b> failed -> None\n"
    assert html.get_content().strip() == "<h1>&lt;b&gt;web&lt;/b&gt; failed</h1><p>a &amp; b</p>"


async def test_the_notices_recipients_replace_the_default(
    smtp: SmtpServer, http: httpx.AsyncClient
) -> None:
    notice = Notice(title="hello", text="", recipients=("lead@acme.example",))

    await connector(http, settings_of(smtp), smtp.password).send(notice)

    assert smtp.received[0].rcpt_tos == ("lead@acme.example",)
    assert smtp.received[0].message["To"] == "lead@acme.example"


async def test_a_wrong_password_is_an_authentication_failure_that_names_no_password(
    smtp: SmtpServer, http: httpx.AsyncClient
) -> None:
    with pytest.raises(IntegrationError) as caught:
        await connector(http, settings_of(smtp), "not-the-password").send(NOTICE)

    assert caught.value.code == "AUTHENTICATION_FAILED"
    assert "not-the-password" not in str(caught.value)
    assert smtp.received == []
    assert smtp.logins == [("PLAIN", False), ("LOGIN", False)]  # smtplib tries each offered


async def test_a_certificate_from_an_unknown_ca_is_refused_before_any_password(
    smtp: SmtpServer, http: httpx.AsyncClient
) -> None:
    config = settings_of(smtp)
    del config["ca_file"]

    with pytest.raises(IntegrationError) as caught:
        await connector(http, config, smtp.password).send(NOTICE)

    assert caught.value.code == "CONNECTION_REFUSED"
    assert "certificate is not trusted" in str(caught.value)
    assert smtp.logins == []
    assert smtp.received == []


async def test_checks_level_by_level(smtp: SmtpServer, http: httpx.AsyncClient) -> None:
    made = connector(http, settings_of(smtp), smtp.password)

    assert await made.check("connectivity") == (
        f"{smtp.host}:{smtp.port} answered EHLO and offers STARTTLS"
    )
    assert await made.check("authentication") == "signed in as deploy-bot over TLS"
    assert await made.check("functionality") == (
        "accepts mail from Shipyard <shipyard@acme.example> to 2 recipient(s)"
    )
    assert smtp.received == []  # checks send nothing


async def test_nothing_listens_is_connection_refused(
    smtp: SmtpServer, http: httpx.AsyncClient
) -> None:
    from tests.support.http import free_port

    config = settings_of(smtp, port=free_port())

    with pytest.raises(IntegrationError) as caught:
        await connector(http, config, smtp.password).check("connectivity")

    assert caught.value.code == "CONNECTION_REFUSED"


async def test_email_discovers_nothing(smtp: SmtpServer, http: httpx.AsyncClient) -> None:
    with pytest.raises(IntegrationError) as caught:
        await connector(http, settings_of(smtp), smtp.password).discover("channels", {})
    assert caught.value.code == "UNSUPPORTED"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"starttls": False}, "a password is never sent in clear"),
        ({"to": []}, "to"),
        ({"sender": "not an address"}, "is not an e-mail address"),
        ({"to": ["ops@acme.example\r\nBcc: x@evil.example"]}, "is not an e-mail address"),
        ({"body_template": "{% for %}"}, "template syntax error"),
        ({"html_template": "{{ title"}, "template syntax error"),
        ({"password": "hunter2"}, "extra"),
    ],
)
def test_config_is_checked(changes: dict[str, Any], expected: str) -> None:
    config = {"host": "smtp.acme.example", "sender": "s@acme.example", "to": ["o@acme.example"]}
    config |= {"username": "u", **changes}

    with pytest.raises(ValidationError) as caught:
        EmailConfig.model_validate(config)

    assert expected in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_defaults_are_starttls_on_587() -> None:
    config = EmailConfig.model_validate(
        {"host": "smtp.acme.example", "sender": "s@acme.example", "to": ["o@acme.example"]}
    )
    assert (config.port, config.starttls, config.username) == (587, True, None)
    assert PROVIDER.type == "notification"
    assert PROVIDER.name == "email"


async def test_a_notices_recipient_that_is_no_address_is_refused(
    smtp: SmtpServer, http: httpx.AsyncClient
) -> None:
    notice = Notice(title="t", text="", recipients=("ops@acme.example\r\nBcc: x@evil.example",))

    with pytest.raises(IntegrationError) as caught:
        await connector(http, settings_of(smtp), smtp.password).send(notice)

    assert caught.value.code == "INVALID_CONFIG"
    assert smtp.received == []


def test_email_and_teams_take_no_endpoint() -> None:
    from app.integrations.notifications.teams import TeamsConfig

    config = {"host": "h", "sender": "s@acme.example", "to": ["o@acme.example"]}
    with pytest.raises(ValidationError, match="not an endpoint"):
        EmailConfig.model_validate({**config, "endpoint": "https://smtp.acme.example"})
    with pytest.raises(ValidationError, match="not to an endpoint"):
        TeamsConfig.model_validate({"webhook_url": "env://X", "endpoint": "https://x.example"})
