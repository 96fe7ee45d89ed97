"""E-mail over SMTP: STARTTLS (on by default), a sign-in when a username is set (the
integration's credential is the password), a subject and a plain-text body rendered from
Jinja2 templates in the sandbox (an HTML part too when `html_template` is set).

Config: `host`, `port` (587), `sender`, `to` (the default recipients), `starttls`,
`username`, `ca_file` (the CA that signed the server's certificate, for a private one),
`subject_template`, `body_template`, `html_template`. The templates see `title`, `text`,
`status`, `url`, `fields` and `dedup_key`. A password is never sent before TLS.

smtplib runs in a thread (`asyncio.to_thread`): one connection per message or check.
"""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import ssl
from collections.abc import Iterator, Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from functools import cache
from typing import Any, Self

import certifi
import jinja2
import jinja2.sandbox
from pydantic import Field, field_validator, model_validator

from app.integrations.connector import ConnectorContext, ProviderConfig, Resource
from app.integrations.errors import IntegrationError
from app.integrations.kinds import CheckLevel
from app.integrations.notifications.base import no_discovery
from app.integrations.spec import ProviderSpec
from steps.integrations import Notice, NoticeSent

__all__ = [
    "DEFAULT_BODY",
    "DEFAULT_SUBJECT",
    "PROVIDER",
    "EmailConfig",
    "EmailConnector",
    "compose",
    "render",
]

DEFAULT_SUBJECT = "[Shipyard] {{ title }}"
DEFAULT_BODY = (
    "{{ title }}\n"
    "{% if text %}\n{{ text }}\n{% endif %}"
    "{% if fields %}\n{% for name, value in fields.items() %}{{ name }}: {{ value }}\n"
    "{% endfor %}{% endif %}"
    "{% if url %}\n{{ url }}\n{% endif %}"
    "\n-- \nSent by Shipyard\n"
)

# Plain text is not HTML: nothing to escape (an HTML template renders with autoescape).
_TEXT = jinja2.sandbox.ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_HTML = jinja2.sandbox.ImmutableSandboxedEnvironment(autoescape=True)


def _address(value: str) -> str:
    address = parseaddr(value)[1]
    if "\n" in value or "\r" in value or "@" not in address or address != address.strip():
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _template(value: str, environment: jinja2.Environment) -> str:
    try:
        environment.parse(value)
    except jinja2.TemplateSyntaxError as error:
        raise ValueError(f"template syntax error: {error.message} (line {error.lineno})") from None
    return value


class EmailConfig(ProviderConfig):
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(587, ge=1, le=65535)
    sender: str
    to: list[str] = Field(min_length=1)
    starttls: bool = True
    username: str | None = None
    ca_file: str | None = None
    subject_template: str = DEFAULT_SUBJECT
    body_template: str = DEFAULT_BODY
    html_template: str | None = None

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _address(value)

    @field_validator("to")
    @classmethod
    def _to(cls, value: list[str]) -> list[str]:
        return [_address(item) for item in value]

    @field_validator("subject_template", "body_template")
    @classmethod
    def _text_template(cls, value: str) -> str:
        return _template(value, _TEXT)

    @field_validator("html_template")
    @classmethod
    def _html_template(cls, value: str | None) -> str | None:
        return None if value is None else _template(value, _HTML)

    @model_validator(mode="after")
    def _password_over_tls(self) -> Self:
        if self.endpoint is not None:
            raise ValueError("email takes host and port, not an endpoint")
        if self.username is not None and not self.starttls:
            raise ValueError("a username needs starttls: a password is never sent in clear")
        return self


def render(template: str, notice: Notice, *, html: bool = False) -> str:
    """`template` rendered in the sandbox with the notice's values."""
    environment = _HTML if html else _TEXT
    names: dict[str, Any] = {
        "title": notice.title,
        "text": notice.text,
        "status": notice.status,
        "url": notice.url,
        "fields": dict(notice.fields),
        "dedup_key": notice.dedup_key,
    }
    try:
        return environment.from_string(template).render(names)
    except jinja2.TemplateError as error:
        raise IntegrationError(
            "INVALID_CONFIG", f"a template cannot be rendered: {type(error).__name__}: {error}"
        ) from None


def compose(notice: Notice, config: EmailConfig) -> EmailMessage:
    """The message: headers, the plain-text body and (with an HTML template) its HTML twin."""
    message = EmailMessage()
    subject = " ".join(render(config.subject_template, notice).split())[:250]
    message["Subject"] = subject or notice.title[:250]
    message["From"] = config.sender
    try:
        message["To"] = ", ".join(_address(to) for to in notice.recipients or config.to)
    except ValueError as error:
        raise IntegrationError("INVALID_CONFIG", f"recipients: {error}") from None
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(config.sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(render(config.body_template, notice))
    if config.html_template is not None:
        message.add_alternative(render(config.html_template, notice, html=True), subtype="html")
    return message


@cache
def _context(ca_file: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file or certifi.where())


def _failure(error: Exception, what: str) -> IntegrationError:
    """An smtplib / socket failure as the hub's error; the server's words are left out (they
    may quote what was sent)."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return IntegrationError(
            "AUTHENTICATION_FAILED",
            f"{what}: the server refused the username and password ({error.smtp_code})",
        )
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return IntegrationError("INVALID_CONFIG", f"{what}: {error}")
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(sorted(error.recipients))
        return IntegrationError("RESOURCE_NOT_FOUND", f"{what}: the server refused {refused}")
    if isinstance(error, smtplib.SMTPSenderRefused):
        return IntegrationError(
            "PERMISSION_DENIED", f"{what}: the server refused the sender ({error.smtp_code})"
        )
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return IntegrationError("PROVIDER_ERROR", f"{what}: the server hung up")
    if isinstance(error, smtplib.SMTPResponseException):
        return IntegrationError("PROVIDER_ERROR", f"{what}: the server answered {error.smtp_code}")
    if isinstance(error, smtplib.SMTPException):
        return IntegrationError("INVALID_CONFIG", f"{what}: {str(error)[:200]}")
    if isinstance(error, ssl.SSLCertVerificationError):
        return IntegrationError(
            "CONNECTION_REFUSED",
            f"{what}: the server's certificate is not trusted ({error.verify_message}); "
            "for a private CA, give ca_file",
        )
    if isinstance(error, ssl.SSLError):
        return IntegrationError("CONNECTION_REFUSED", f"{what}: TLS failed ({error.reason})")
    if isinstance(error, TimeoutError):
        return IntegrationError("TIMEOUT", f"{what}: timed out")
    return IntegrationError(
        "CONNECTION_REFUSED", f"{what}: cannot connect ({type(error).__name__})"
    )


class EmailConnector:
    def __init__(self, ctx: ConnectorContext) -> None:
        self.ctx = ctx
        config = ctx.config
        assert isinstance(config, EmailConfig)
        self.config = config

    @contextlib.contextmanager
    def _session(self, password: str | None, *, secure: bool = True) -> Iterator[smtplib.SMTP]:
        """A connection that said EHLO, and (when `secure`) started TLS and signed in as the
        config says. Runs in a thread."""
        config = self.config
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
            smtp.ehlo()
            if secure and config.starttls:
                try:
                    context = _context(config.ca_file)
                except OSError:
                    raise IntegrationError(
                        "INVALID_CONFIG", "ca_file cannot be read as PEM certificates"
                    ) from None
                smtp.starttls(context=context)
                smtp.ehlo()
            if secure and config.username is not None:
                if password is None:
                    raise IntegrationError(
                        "INVALID_CONFIG", "a username is set but no password (the credential)"
                    )
                smtp.login(config.username, password)
            yield smtp

    async def _in_thread(self, work: Any, what: str) -> Any:
        try:
            return await asyncio.to_thread(work)
        except IntegrationError:
            raise
        except (OSError, smtplib.SMTPException) as error:
            raise _failure(error, what) from None

    async def send(self, notice: Notice) -> NoticeSent:
        message = compose(notice, self.config)
        password = await self.ctx.credential()

        def deliver() -> None:
            with self._session(password) as smtp:
                smtp.send_message(message)

        await self._in_thread(deliver, "sending the e-mail")
        return NoticeSent(self.ctx.name, str(message["Message-ID"]))

    async def check(self, level: CheckLevel) -> str:
        config = self.config
        password = await self.ctx.credential() if level != "connectivity" else None

        def connectivity() -> str:
            with self._session(None, secure=False) as smtp:
                return f"{config.host}:{config.port} answered EHLO" + (
                    " and offers STARTTLS" if smtp.has_extn("starttls") else ""
                )

        def authentication() -> str:
            with self._session(password):
                pass
            tls = "over TLS" if config.starttls else "without TLS"
            if config.username is None:
                return f"connected {tls}; no username, so no sign-in"
            return f"signed in as {config.username} {tls}"

        def functionality() -> str:
            sender = parseaddr(config.sender)[1]
            with self._session(password) as smtp:
                code, said = smtp.mail(sender)
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, said, sender)
                for recipient in (parseaddr(to)[1] for to in config.to):
                    code, said = smtp.rcpt(recipient)
                    if code not in (250, 251):
                        raise smtplib.SMTPRecipientsRefused({recipient: (code, said)})
                smtp.rset()
            return f"accepts mail from {config.sender} to {len(config.to)} recipient(s)"

        checks = {
            "connectivity": connectivity,
            "authentication": authentication,
            "functionality": functionality,
        }
        result: str = await self._in_thread(checks[level], f"the {level} check")
        return result

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        no_discovery("email", resource_type)


def connect(ctx: ConnectorContext) -> EmailConnector:
    return EmailConnector(ctx)


PROVIDER = ProviderSpec(
    name="email",
    type="notification",
    title="E-mail (SMTP with STARTTLS)",
    config=EmailConfig,
    connect=connect,
)
