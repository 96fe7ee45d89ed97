"""Health checks on a target after its deploy, and through a canary's bake: an HTTP GET, a TCP
connect, a command and a Prometheus query, all of which must pass in the same try.

`verify` tries the checks up to `retries` more times, `interval` apart, and raises
HealthCheckFailed after the last failed try; `bake` repeats them every `interval` until
`seconds` have passed and fails at the first failed round — the query at its own
`interval`, for its `for` (see `PrometheusCheck`). Each check of a try has `timeout` seconds.
Each try is logged in one short line (a URL without its user, password or query).

Rendering what a check reaches (`render_url`, `render_host`, `render_query`) is pure: in
Jinja2's sandbox with `target` (name, type, host, port, labels) and the caller's values
(`environment`, `release`), where, as in generated files, an undefined name is an error
rather than "" (a misspelt label must not turn `:{{ target.labels.port }}` into the default
port). So is judging a query's samples against its threshold (`judge`). A check that cannot
be run at all (a URL that does not render to an http(s) URL with a host, a command check on a
target that runs no commands, a query of an integration that is not there or that the server
calls malformed) fails at once: no retry would change it. The I/O is the caller's: the HTTP
client, the command runner, the metrics query, the sleep and the clock are handed in.
"""

from __future__ import annotations

import asyncio
import math
import operator
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from app.deployments.artifacts.base import ArtifactError, TargetView
from app.deployments.artifacts.rendering import render_file
from app.deployments.executors.base import NotSupported
from app.environments.config import HealthSpec, HttpCheck, PrometheusCheck, TcpCheck
from app.integrations.errors import IntegrationError
from app.integrations.metrics import Sample

__all__ = [
    "HealthCheckFailed",
    "QueryMetrics",
    "RunCommand",
    "Verdict",
    "bake",
    "bake_length",
    "judge",
    "render_host",
    "render_query",
    "render_url",
    "verify",
]

RunCommand = Callable[[str], Awaitable[int]]
QueryMetrics = Callable[[str, str], Awaitable[Sequence[Sample]]]
"""(integration name, PromQL) -> the samples it gives now; IntegrationError when it cannot."""
Sleep = Callable[[float], Awaitable[None]]
Comparison = Literal["<", "<=", ">", ">="]


class HealthCheckFailed(Exception):
    """A target's health checks did not pass; the message names the target, the check and
    why (never a secret)."""


class _CheckFailed(Exception):
    """One check of one try failed; the message is a short reason for the log."""


# --- what a check reaches (pure) ------------------------------------------------------------


def _context(target: TargetView, values: Mapping[str, Any]) -> dict[str, Any]:
    shown = {
        "name": target.name,
        "type": target.type,
        "host": target.host,
        "port": target.port,
        "labels": dict(target.labels),
    }
    return {**values, "target": shown}


def _no_host_hint(target: TargetView) -> str:
    if target.host:
        return ""
    return f"; {target.name} is a {target.type} target, which has no host: write the host out"


def _render(what: str, template: str, target: TargetView, values: Mapping[str, Any]) -> str:
    try:
        rendered = render_file(f"the {what}", template, _context(target, values))
    except ArtifactError as error:
        raise HealthCheckFailed(f"{target.name}: {error}") from None
    return rendered.strip()


def render_url(check: HttpCheck, target: TargetView, values: Mapping[str, Any]) -> str:
    """The URL an http check GETs on `target`; HealthCheckFailed unless it is http(s) with a
    host."""
    url = _render("http check's url", check.url, target, values)
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise HealthCheckFailed(
            f"{target.name}: the http check's url renders to {url!r}, which is not an http(s) "
            f"URL with a host{_no_host_hint(target)}"
        )
    return url


def render_host(check: TcpCheck, target: TargetView, values: Mapping[str, Any]) -> str:
    """The host a tcp check connects to on `target`; HealthCheckFailed when it is empty."""
    host = _render("tcp check's host", check.host, target, values)
    if not host:
        raise HealthCheckFailed(
            f"{target.name}: the tcp check's host renders empty{_no_host_hint(target)}"
        )
    return host


def render_query(check: PrometheusCheck, target: TargetView, values: Mapping[str, Any]) -> str:
    """The PromQL a prometheus check asks on `target`'s behalf; HealthCheckFailed when empty."""
    query = _render("prometheus check's query", check.query, target, values)
    if not query:
        raise HealthCheckFailed(f"{target.name}: the prometheus check's query renders empty")
    return query


# --- judging a query's samples (pure) -------------------------------------------------------

_HOLDS: dict[Comparison, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str  # one short line for the log


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:g}"


def judge(
    samples: Sequence[Sample],
    threshold: float,
    comparison: Comparison = "<=",
    *,
    on_empty: Literal["fail", "pass"] = "fail",
) -> Verdict:
    """Whether every sample holds `value <comparison> threshold` (NaN never does); no
    samples fail unless `on_empty` is "pass". The reason names the first series that breaks
    it, or the value nearest to breaking it."""
    if not samples:
        if on_empty == "pass":
            return Verdict(True, "the query returned nothing (on_empty: pass)")
        return Verdict(False, "the query returned nothing")
    holds = _HOLDS[comparison]
    broken = [sample for sample in samples if not holds(sample.value, threshold)]
    limit = f"{comparison} {_number(threshold)}"
    if broken:
        first = broken[0]
        more = f" (and {len(broken) - 1} more of {len(samples)})" if len(broken) > 1 else ""
        return Verdict(False, f"{first.series} is {_number(first.value)}, not {limit}{more}")
    values = [sample.value for sample in samples]
    if len(values) == 1:
        return Verdict(True, f"{_number(values[0])} {limit}")
    highest = comparison in ("<", "<=")
    worst = max(values) if highest else min(values)
    which = "highest" if highest else "lowest"
    return Verdict(True, f"{len(values)} series, the {which} {_number(worst)} {limit}")


def bake_length(spec: HealthSpec | None, seconds: float) -> float:
    """How long a bake of `seconds` lasts: as long as a prometheus check's `for`, if longer."""
    watch = spec.prometheus if spec is not None else None
    wanted = watch.for_ if watch is not None and watch.for_ is not None else 0.0
    return max(seconds, wanted)


def _shown(url: str) -> str:
    """A URL as a log line shows it: no user, password, query or fragment."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(userinfo=b"", query=None, fragment=None))


# --- the checks (I/O) -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    """One check, ready to run: its name, and a call that gives a short result or raises
    _CheckFailed."""

    name: str
    run: Callable[[], Awaitable[str]]


def _http_check(check: HttpCheck, url: str, http: httpx.AsyncClient, timeout: float) -> _Check:
    shown = _shown(url)

    async def run() -> str:
        try:
            response = await http.get(url, timeout=timeout)
        except httpx.TimeoutException:
            raise _CheckFailed(f"GET {shown}: no answer within {timeout:g} s") from None
        except httpx.HTTPError as error:
            raise _CheckFailed(f"GET {shown}: {str(error) or type(error).__name__}") from None
        if response.status_code != check.status:
            raise _CheckFailed(
                f"GET {shown} answered {response.status_code} (expected {check.status})"
            )
        if check.body is not None and check.body not in response.text:
            raise _CheckFailed(f"GET {shown} answered without {check.body!r} in its body")
        return f"{response.status_code}"

    return _Check("http", run)


def _tcp_check(host: str, port: int) -> _Check:
    async def run() -> str:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError as error:
            why = os.strerror(error.errno) if error.errno else str(error) or type(error).__name__
            raise _CheckFailed(f"{host}:{port}: {why.lower()}") from None
        writer.close()
        await writer.wait_closed()
        return f"{host}:{port} open"

    return _Check("tcp", run)


def _command_check(target: TargetView, command: str, run_command: RunCommand | None) -> _Check:
    def unsupported() -> HealthCheckFailed:
        return HealthCheckFailed(
            f"{target.name}: a command health check needs a target that runs commands (ssh or "
            f"command); {target.name} is a {target.type} target: use an http or tcp check"
        )

    if run_command is None:
        raise unsupported()
    run_on_target = run_command

    async def run() -> str:
        try:
            code = await run_on_target(command)
        except NotSupported:
            raise unsupported() from None
        except Exception as error:  # the executor's failure, as one line
            raise _CheckFailed(f"did not run: {str(error) or type(error).__name__}") from None
        if code != 0:
            raise _CheckFailed(f"exited {code}")
        return "exit 0"

    return _Check("command", run)


def _prometheus_check(
    target: TargetView, check: PrometheusCheck, query: str, query_metrics: QueryMetrics | None
) -> _Check:
    if query_metrics is None:
        raise HealthCheckFailed(
            f"{target.name}: a prometheus check needs the integrations, which are not here"
        )
    ask = query_metrics

    async def run() -> str:
        try:
            samples = await ask(check.integration, query)
        except IntegrationError as error:
            if error.retry == "none":  # not there, refused, a malformed query: fail at once
                raise HealthCheckFailed(f"{target.name}: the prometheus check: {error}") from None
            raise _CheckFailed(str(error)) from None
        verdict = judge(samples, check.threshold, check.comparison, on_empty=check.on_empty)
        if not verdict.passed:
            raise _CheckFailed(verdict.reason)
        return verdict.reason

    return _Check("prometheus", run)


def _checks(
    spec: HealthSpec,
    target: TargetView,
    *,
    http: httpx.AsyncClient,
    run_command: RunCommand | None,
    query_metrics: QueryMetrics | None,
    values: Mapping[str, Any],
    prometheus: bool = True,
) -> list[_Check]:
    """The spec's checks for `target`, in the order they run (the prometheus check last, and
    only with `prometheus`); HealthCheckFailed for a check that cannot be run at all."""
    checks: list[_Check] = []
    if spec.http is not None:
        checks.append(
            _http_check(spec.http, render_url(spec.http, target, values), http, spec.timeout)
        )
    if spec.tcp is not None:
        checks.append(_tcp_check(render_host(spec.tcp, target, values), spec.tcp.port))
    if spec.command is not None:
        checks.append(_command_check(target, spec.command, run_command))
    if spec.prometheus is not None and prometheus:
        query = render_query(spec.prometheus, target, values)
        checks.append(_prometheus_check(target, spec.prometheus, query, query_metrics))
    return checks


async def _try(checks: list[_Check], seconds: float) -> tuple[bool, str]:
    """Run each check in turn, each within `seconds`; (passed, one short line)."""
    results: list[str] = []
    for check in checks:
        try:
            async with asyncio.timeout(seconds):
                results.append(f"{check.name} {await check.run()}")
        except TimeoutError:
            return False, f"{check.name}: no result within {seconds:g} s"
        except _CheckFailed as failure:
            return False, f"{check.name}: {failure}"
    return True, "; ".join(results)


# --- retries and the bake -------------------------------------------------------------------


async def verify(
    spec: HealthSpec,
    target: TargetView,
    *,
    http: httpx.AsyncClient,
    run_command: RunCommand | None,
    log: Callable[[str], None],
    values: Mapping[str, Any],
    query_metrics: QueryMetrics | None = None,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Pass when every check passes in one try; up to `spec.retries` more tries,
    `spec.interval` apart; HealthCheckFailed after the last failed one.

    `run_command` runs a command on the target and gives its exit code (None for a target
    that runs no commands); `query_metrics` asks a metrics integration (a prometheus
    check); `values` are what the templates see besides `target`.
    """
    checks = _checks(
        spec,
        target,
        http=http,
        run_command=run_command,
        query_metrics=query_metrics,
        values=values,
    )
    tries = spec.retries + 1
    why = ""
    for number in range(1, tries + 1):
        passed, why = await _try(checks, spec.timeout)
        log(f"health {target.name}: try {number}/{tries} {'passed' if passed else 'failed'}: {why}")
        if passed:
            return
        if number < tries:
            await sleep(spec.interval)
    raise HealthCheckFailed(f"{target.name}: health checks failed {tries} times; last: {why}")


@dataclass
class _Series:
    """Checks a bake repeats: every `interval`, from its start until `until` seconds in."""

    name: str  # "round", or "query" for the prometheus check
    checks: list[_Check]
    interval: float
    until: float
    due: float = 0.0
    number: int = 0


async def bake(
    spec: HealthSpec,
    target: TargetView,
    *,
    seconds: float,
    http: httpx.AsyncClient,
    run_command: RunCommand | None,
    log: Callable[[str], None],
    values: Mapping[str, Any],
    query_metrics: QueryMetrics | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """A canary's bake: the checks every `spec.interval` until `seconds` have passed (a
    round at the start and one at the end), each round one try; the prometheus check so too,
    at its own `interval`, until its `for` (at most `seconds`). HealthCheckFailed at the
    first round that fails; without checks left it waits out the rest of `seconds`."""
    series: list[_Series] = []
    checks = _checks(
        spec,
        target,
        http=http,
        run_command=run_command,
        query_metrics=query_metrics,
        values=values,
        prometheus=False,
    )
    if checks:
        series.append(_Series("round", checks, spec.interval, seconds))
    watch = spec.prometheus
    if watch is not None:
        check = _prometheus_check(target, watch, render_query(watch, target, values), query_metrics)
        until = min(watch.for_, seconds) if watch.for_ is not None else seconds
        series.append(_Series("query", [check], watch.interval or spec.interval, until))
    started = clock()
    while series:
        for each in [s for s in series if s.due <= clock() - started]:
            each.number += 1
            passed, why = await _try(each.checks, spec.timeout)
            elapsed = clock() - started
            where = f"{each.name} {each.number} ({elapsed:.0f} s of {each.until:.0f} s)"
            log(f"bake {target.name}: {where} {'passed' if passed else 'failed'}: {why}")
            if not passed:
                raise HealthCheckFailed(f"{target.name}: the bake failed in {where}: {why}")
            if elapsed >= each.until:
                series.remove(each)
            else:
                each.due = min(elapsed + each.interval, each.until)
        wait = min((s.due for s in series), default=0.0) - (clock() - started)
        if wait > 0:
            await sleep(wait)
    left = seconds - (clock() - started)
    if left > 0:
        await sleep(left)
