"""The webhook deploy target: the release as a signed JSON request, then its status URL polled.

The body is `payload.deploy_payload` (the release, its components and digests, the
environment, target, job, task, attempt and params), sent as compact JSON with the target's
headers, `Content-Type: application/json`, `X-Shipyard-Delivery` and `Idempotency-Key`
(`job-<id>.task-<id>.attempt-<n>`), and `X-Shipyard-Signature-256: sha256=<hex>`, the
HMAC-SHA256 of the exact body bytes keyed with the target's credential (GitHub's scheme, as
the `notify` step signs, so one receiver check serves both). A 2xx answer succeeds; polling
a status URL is `http_calls`' work.
"""

from __future__ import annotations

from typing import ClassVar

from app.deployments.executors.base import (
    CheckResult,
    DeployFailed,
    NotSupported,
    TaskRun,
    Variables,
)
from app.deployments.executors.http_calls import (
    Polling,
    check_target,
    deliver,
    log_dry_run,
    resolve_credential,
    target_headers,
)
from app.deployments.executors.payload import deploy_payload, json_bytes
from app.deployments.targets.spec import WebhookConnection
from app.secrets.masker import Masker
from steps.notify import signature

__all__ = ["SIGNATURE_HEADER", "WebhookExecutor", "executor"]

SIGNATURE_HEADER = "X-Shipyard-Signature-256"
_CREDENTIAL_IS = "the secret the body is signed with"


class WebhookExecutor:
    """POST (or the connection's method) the signed release; follow its status URL."""

    type_name: ClassVar[str] = "webhook"

    def __init__(self, *, polling: Polling | None = None) -> None:
        self._polling = polling or Polling()

    async def deploy(self, run: TaskRun) -> None:
        connection = _connection(run)
        body = json_bytes(deploy_payload(run))
        if run.dry_run:
            log_dry_run(run, connection, body=body, adds=f"signed with {run.target.credential}")
            return
        mask = Masker()
        secret = await resolve_credential(run, _CREDENTIAL_IS, mask)
        headers = await target_headers(run, connection, mask)
        signed = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, body)}
        await deliver(
            run,
            connection,
            body=body,
            headers=headers,
            request_headers=signed,
            polling=self._polling,
            mask=mask,
        )

    async def run_command(self, run: TaskRun, command: str, variables: Variables) -> int:
        raise NotSupported(
            f"target {run.target.name} is a webhook: it runs no commands (use an http "
            "health check, or an ssh or command target)"
        )

    async def test(self, run: TaskRun) -> CheckResult:
        return await check_target(run, _connection(run), what=_CREDENTIAL_IS, auth=lambda _: {})


def _connection(run: TaskRun) -> WebhookConnection:
    connection = run.target.connection
    if not isinstance(connection, WebhookConnection):
        raise DeployFailed(f"target {run.target.name} is a {connection.type} target, not a webhook")
    return connection


executor = WebhookExecutor()
