"""The HTTP side the webhook and api deploy targets share: the target's headers with their
references resolved at call time, the deploy request, the status URL it leads to, polling that
URL until the deployment says it is done, the dry run's lines, and the check `test` makes.

A status URL answers a JSON object whose `status` (else `state`) word says where the deployment
is, in any case:

| word | means |
| --- | --- |
| done, success, succeeded, successful | it succeeded: the task succeeds |
| failed, failure, error, cancelled, canceled | it failed: the task fails, quoting the answer |
| anything else (running, pending, …), or none | not yet: read again after the interval |

The status URL is the connection's `status_url`, whose `{job}` and `{task}` are filled with the
task's ids (ids only: nothing people wrote reaches a URL). Without one, the deploy answer may
name it: `statusUrl` / `status_url` in its JSON body, else the `Location` header of a 201 or
202. A URL the answer names must be on the target URL's origin (scheme, host, port), because
it is sent the target's credentials; to follow one elsewhere, set `status_url` on the target.
While polling, a 429 or 5xx answer and a transport error are logged and read again; any other
failure ends the deploy. The whole deploy, polling included, is bounded by the connection's
`timeout` (and the task's). Nothing resolved reaches a log line or a DeployFailed message;
an answer quoted there is cut short and masked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from app.deployments.executors.base import CheckResult, DeployFailed, TaskRun
from app.deployments.targets.spec import ApiConnection, WebhookConnection
from app.secrets.masker import Masker
from steps.ci import Clock, Sleep, real_clock, real_sleep
from steps.notify import USER_AGENT
from steps.secret_refs import SecretError, is_reference

__all__ = [
    "FAILURE_WORDS",
    "POLL_INTERVAL",
    "REQUEST_TIMEOUT",
    "SUCCESS_WORDS",
    "AuthHeaders",
    "HttpConnection",
    "Polling",
    "check_target",
    "deliver",
    "delivery_headers",
    "fill_ids",
    "log_dry_run",
    "resolve_credential",
    "target_headers",
]

SUCCESS_WORDS = frozenset({"done", "success", "succeeded", "successful"})
FAILURE_WORDS = frozenset({"failed", "failure", "error", "cancelled", "canceled"})
POLL_INTERVAL = 5.0  # seconds between two reads of the status URL
REQUEST_TIMEOUT = 30.0  # for one read of the status URL, and for `test`'s check
_SNIPPET_CHARS = 200
_MASKED_CHARS = 8000  # of an answer, masked before a snippet is cut from it
_NOT_ALLOWED = (405, 501)  # `test` tries the next method

HttpConnection = WebhookConnection | ApiConnection
AuthHeaders = Callable[[str], Mapping[str, str]]
"""The headers a resolved credential gives every call (api: a bearer token; webhook: none,
its credential signs the body instead)."""


@dataclass(frozen=True)
class Polling:
    """How often the status URL is read, and the clock and sleep that time it (fakes in tests)."""

    interval: float = POLL_INTERVAL
    sleep: Sleep = real_sleep
    clock: Clock = real_clock


async def resolve_credential(run: TaskRun, what: str, mask: Masker) -> str:
    """The target's credential, resolved now and taught to `mask`; DeployFailed without one."""
    reference = run.target.credential
    if reference is None:
        raise DeployFailed(
            f"target {run.target.name} has no credential ({what}): register it with --credential"
        )
    return await _resolve(run, reference, f"the credential ({what})", mask)


async def target_headers(run: TaskRun, connection: HttpConnection, mask: Masker) -> dict[str, str]:
    """The headers of every call to the target: Shipyard's, then the connection's (each
    reference resolved now and taught to `mask`), then the delivery's, which none overrides."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    for name, value in connection.headers.items():
        if is_reference(value):
            headers[name] = await _resolve(run, value, f"header {name} ({value})", mask)
        else:
            headers[name] = value
    return headers | delivery_headers(run)


def delivery_headers(run: TaskRun) -> dict[str, str]:
    """Which deploy this is: the same for every call of one attempt, new for the next attempt."""
    delivery = f"job-{run.job_id}.task-{run.task_id}.attempt-{run.attempt}"
    return {
        "X-Shipyard-Event": "deployment",
        "X-Shipyard-Delivery": delivery,
        "Idempotency-Key": delivery,
    }


def fill_ids(url: str, run: TaskRun) -> str:
    """`url` with `{job}` and `{task}` replaced by the task's ids."""
    return url.replace("{job}", str(run.job_id)).replace("{task}", str(run.task_id))


async def deliver(
    run: TaskRun,
    connection: HttpConnection,
    *,
    body: bytes,
    headers: Mapping[str, str],
    request_headers: Mapping[str, str],
    polling: Polling,
    mask: Masker,
) -> None:
    """Send the deploy request (`headers` and `request_headers`); then follow the status URL,
    if there is one, with `headers` until the deployment ends. DeployFailed unless it succeeds."""
    seconds = min(connection.timeout, run.timeout)
    deadline = polling.clock() + seconds
    url, method = connection.url, connection.method
    try:
        response = await run.http.request(
            method, url, content=body, headers={**headers, **request_headers}, timeout=seconds
        )
    except httpx.TimeoutException:
        raise DeployFailed(f"{method} {_where(url)} did not answer within {seconds:g}s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise DeployFailed(f"could not reach {_where(url)} ({type(error).__name__})") from None
    if not response.is_success:
        said = _snippet(response.text, mask)
        raise DeployFailed(f"{method} {_where(url)} answered HTTP {response.status_code}{said}")
    run.log(f"{method} {_where(url)} answered HTTP {response.status_code}")
    status_url = fill_ids(connection.status_url, run) if connection.status_url else None
    status_url = status_url or _named_status_url(response, url)
    if status_url is None:
        return
    run.log(f"following the deployment at {_where(status_url)}")
    await _poll(
        run, status_url, headers, deadline=deadline, seconds=seconds, polling=polling, mask=mask
    )


def log_dry_run(run: TaskRun, connection: HttpConnection, *, body: bytes, adds: str) -> None:
    """Say what `deliver` would send, with references as written; send nothing."""
    run.log(f"dry run: would {connection.method} {_where(connection.url)} (nothing is sent)")
    run.log(f"dry run: headers: {_described(connection.headers)}; {adds}")
    run.log(f"dry run: body: {body.decode()}")
    if connection.status_url:
        polled = _where(fill_ids(connection.status_url, run))
        run.log(f"dry run: then poll {polled} until done, within {connection.timeout:g}s")


async def check_target(
    run: TaskRun, connection: HttpConnection, *, what: str, auth: AuthHeaders
) -> CheckResult:
    """Resolve the credential and every header reference, then prove the URL answers (HEAD;
    OPTIONS, then GET where a method is not allowed), deploying nothing. A URL that allows
    only the deploy's method (405 to all three) is reachable; 401, 403, 404 and 5xx are not."""
    mask = Masker()
    checks: list[tuple[str, bool, str]] = []
    headers: dict[str, str] = {"User-Agent": USER_AGENT}
    try:
        credential = await resolve_credential(run, what, mask)
    except DeployFailed as error:
        checks.append(("credential", False, str(error)))
    else:
        checks.append(("credential", True, f"{run.target.credential} resolves"))
        headers |= auth(credential)
    for name, value in connection.headers.items():
        if not is_reference(value):
            headers[name] = value
            continue
        try:
            headers[name] = await _resolve(run, value, f"header {name} ({value})", mask)
        except DeployFailed as error:
            checks.append((f"header {name}", False, str(error)))
        else:
            checks.append((f"header {name}", True, f"{value} resolves"))
    checks.append(await _reachable(run, connection.url, headers, mask))
    return CheckResult(checks)


async def _reachable(
    run: TaskRun, url: str, headers: Mapping[str, str], mask: Masker
) -> tuple[str, bool, str]:
    where = _where(url)
    for method in ("HEAD", "OPTIONS", "GET"):
        try:
            response = await run.http.request(method, url, headers=headers, timeout=REQUEST_TIMEOUT)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return ("reachable", False, f"could not reach {where} ({type(error).__name__})")
        if response.status_code not in _NOT_ALLOWED:
            break
    status = response.status_code
    answered = f"{method} {where} answered HTTP {status}"
    if status < 400:
        return ("reachable", True, answered)
    if status in _NOT_ALLOWED:
        return ("reachable", True, f"{answered}: it answers, to the deploy's method only")
    if status in (401, 403):
        return ("reachable", False, f"{answered}: the credential or headers were refused")
    return ("reachable", False, f"{answered}{_snippet(response.text, mask)}")


async def _poll(
    run: TaskRun,
    url: str,
    headers: Mapping[str, str],
    *,
    deadline: float,
    seconds: float,
    polling: Polling,
    mask: Masker,
) -> None:
    seen: str | None = None
    while True:
        read = await _read_status(run, url, headers, deadline - polling.clock(), mask)
        if read is not None:
            word, text = read
            if word in SUCCESS_WORDS:
                run.log(f"the deployment says {word!r}: done")
                return
            if word in FAILURE_WORDS:
                said = _snippet(text, mask)
                raise DeployFailed(f"the deployment failed: {_where(url)} says {word!r}{said}")
            if word != seen:
                seen = word
                run.log(f"the deployment says {word or '(no status)'!r}; waiting")
        if deadline - polling.clock() <= 0:
            last = f"it last said {seen!r}" if seen is not None else "it never answered"
            raise DeployFailed(
                f"the deployment did not finish within {seconds:g}s ({last}): {_where(url)}"
            )
        await polling.sleep(min(polling.interval, deadline - polling.clock()))


async def _read_status(
    run: TaskRun, url: str, headers: Mapping[str, str], remaining: float, mask: Masker
) -> tuple[str, str] | None:
    """(the status word, in lower case, "" if none; the answer's text), or None for a read
    worth trying again."""
    where = _where(url)
    timeout = min(REQUEST_TIMEOUT, max(remaining, 1.0))
    try:
        response = await run.http.get(url, headers=headers, timeout=timeout)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        run.log(f"could not read {where} ({type(error).__name__}); trying again")
        return None
    status = response.status_code
    if status == 429 or status >= 500:
        run.log(f"{where} answered HTTP {status}; trying again")
        return None
    if not response.is_success:
        raise DeployFailed(f"{where} answered HTTP {status}{_snippet(response.text, mask)}")
    answer = _json(response)
    if not isinstance(answer, dict):
        raise DeployFailed(
            f'{where} answered HTTP {status} without a JSON object {{"status": …}}'
            f"{_snippet(response.text, mask)}"
        )
    word = answer.get("status", answer.get("state"))
    return ("" if word is None else str(word).strip().lower(), response.text)


def _named_status_url(response: httpx.Response, url: str) -> str | None:
    """The status URL the deploy answer names, made absolute; DeployFailed if it leads to
    another origin."""
    answer = _json(response)
    named: Any = None
    if isinstance(answer, dict):
        named = answer.get("statusUrl") or answer.get("status_url")
    if not named and response.status_code in (201, 202):
        named = response.headers.get("location")
    if not isinstance(named, str) or not named.strip():
        return None
    absolute = urljoin(url, named.strip())
    if _origin(absolute) != _origin(url):
        raise DeployFailed(
            f"the deploy answer names a status URL on another origin ({_where(absolute)}); "
            "it is not sent the target's credentials: set status_url on the target to follow it"
        )
    return absolute


async def _resolve(run: TaskRun, reference: str, what: str, mask: Masker) -> str:
    try:
        value = await run.resolve(reference)
    except SecretError as error:
        raise DeployFailed(f"{what}: {error}") from None
    mask.add(value)
    return value


def _described(headers: Mapping[str, str]) -> str:
    """The connection's headers for a log line: references as written, values never."""
    if not headers:
        return "(none of the target's own)"
    return ", ".join(
        f"{name}: {value if is_reference(value) else '(a value as registered)'}"
        for name, value in headers.items()
    )


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _snippet(text: str, mask: Masker) -> str:
    """The start of an answer for a message: masked before it is cut, so no cut can leave a
    piece of a secret the masker would no longer recognise."""
    words = " ".join(mask(text[:_MASKED_CHARS]).split())[:_SNIPPET_CHARS]
    return f": {words}" if words else ""


def _where(url: str) -> str:
    """`url` without its query, fragment or user info, for log lines and messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return (parts.scheme, (parts.hostname or "").lower(), parts.port or default)
