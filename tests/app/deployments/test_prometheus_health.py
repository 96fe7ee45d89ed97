"""The `prometheus` health check without a server: its config, judging samples against the
threshold (pure, by table), rendering its query, and how `verify` and a canary's `bake` ask it
(a scripted query function, an injected sleep and clock: no test waits out an interval)."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from app.deployments.artifacts.base import TargetView
from app.deployments.health import (
    HealthCheckFailed,
    Verdict,
    bake,
    bake_length,
    judge,
    render_query,
    verify,
)
from app.environments.config import EnvironmentSpec, HealthSpec
from app.integrations.errors import IntegrationError
from app.integrations.metrics import Sample
from tests.support.clock import FakeClock

VALUES = {"environment": "production", "release": {"name": "v1.4.0"}}
TARGET = TargetView("web-1", "command", "10.0.0.5", None, {"zone": "eu"})
QUERY = 'app_error_ratio{target="{{ target.name }}"}'


def _sample(value: float, **labels: str) -> Sample:
    return Sample(value, 1700000000.0, {"__name__": "app_error_ratio", **labels})


# --- judging samples (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "threshold", "comparison", "on_empty", "expected"),
    [
        ([0.01], 0.05, "<=", "fail", Verdict(True, "0.01 <= 0.05")),
        ([0.05], 0.05, "<=", "fail", Verdict(True, "0.05 <= 0.05")),
        ([0.05], 0.05, "<", "fail", Verdict(False, "app_error_ratio is 0.05, not < 0.05")),
        ([0.5], 0.05, "<=", "fail", Verdict(False, "app_error_ratio is 0.5, not <= 0.05")),
        ([100], 99, ">=", "fail", Verdict(True, "100 >= 99")),
        ([99], 99, ">", "fail", Verdict(False, "app_error_ratio is 99, not > 99")),
        ([99], 99, ">=", "fail", Verdict(True, "99 >= 99")),
        ([math.nan], 0.05, "<=", "fail", Verdict(False, "app_error_ratio is NaN, not <= 0.05")),
        ([math.nan], 0.05, ">", "fail", Verdict(False, "app_error_ratio is NaN, not > 0.05")),
        ([math.inf], 1, "<", "fail", Verdict(False, "app_error_ratio is +Inf, not < 1")),
        ([-math.inf], 1, "<", "fail", Verdict(True, "-Inf < 1")),
        ([], 0.05, "<=", "fail", Verdict(False, "the query returned nothing")),
        ([], 0.05, "<=", "pass", Verdict(True, "the query returned nothing (on_empty: pass)")),
        (
            [0.01, 0.04, 0.02],
            0.05,
            "<=",
            "fail",
            Verdict(True, "3 series, the highest 0.04 <= 0.05"),
        ),
        ([0.99, 0.97], 0.95, ">=", "fail", Verdict(True, "2 series, the lowest 0.97 >= 0.95")),
        (
            [0.01, 0.2, 0.3],
            0.05,
            "<=",
            "fail",
            Verdict(False, "app_error_ratio is 0.2, not <= 0.05 (and 1 more of 3)"),
        ),
    ],
)
def test_every_sample_must_hold_the_threshold(
    values: list[float], threshold: float, comparison: Any, on_empty: Any, expected: Verdict
) -> None:
    samples = [_sample(value) for value in values]
    assert judge(samples, threshold, comparison, on_empty=on_empty) == expected


def test_a_breaking_series_is_named_with_its_labels() -> None:
    samples = [_sample(0.01, target="web-1"), _sample(0.4, target="web-2")]
    verdict = judge(samples, 0.05)
    assert verdict == Verdict(False, 'app_error_ratio{target="web-2"} is 0.4, not <= 0.05')


# --- config ---------------------------------------------------------------------------------------


def _health(**prometheus: Any) -> HealthSpec:
    return HealthSpec.model_validate(
        {"prometheus": {"integration": "prom", "query": QUERY, "threshold": 0.05, **prometheus}}
    )


def test_the_checks_defaults_and_for_spelt_as_yaml_writes_it() -> None:
    spec = _health(**{"for": "2m", "interval": "15s"})
    check = spec.prometheus
    assert check is not None
    assert (check.comparison, check.on_empty, check.for_, check.interval) == (
        "<=",
        "fail",
        120.0,
        15.0,
    )
    assert _health().prometheus is not None
    assert (spec.http, spec.tcp, spec.command) == (None, None, None)  # a check on its own


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"comparison": "=="}, "Input should be '<', '<=', '>' or '>='"),
        ({"threshold": True}, "threshold True: give a number"),
        ({"threshold": "lots"}, "valid number"),
        ({"threshold": math.inf}, "finite number"),
        ({"integration": "Prom Server"}, "integration name 'Prom Server'"),
        ({"query": "up{{ x"}, "template syntax error"),
        ({"query": " "}, "the query is empty: give a PromQL expression"),
        ({"on_empty": "ignore"}, "Input should be 'fail' or 'pass'"),
        ({"for": "soon"}, "invalid duration 'soon'"),
        ({"window": "5m"}, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_check_is_refused(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem.replace("(", r"\(").replace("{", r"\{")):
        _health(**fields)


def _environment(strategy: dict[str, Any], **prometheus: Any) -> EnvironmentSpec:
    return EnvironmentSpec.model_validate(
        {
            "targets": ["p1", "p2"],
            "strategy": strategy,
            "health": {
                "prometheus": {"integration": "prom", "query": "up", "threshold": 1, **prometheus}
            },
        }
    )


def test_for_is_only_for_a_canary_that_bakes() -> None:
    baked = _environment({"type": "canary", "bake": "5m"}, **{"for": "10m"})
    assert baked.health is not None
    assert baked.health.prometheus is not None
    for strategy in ({"type": "canary"}, {"type": "rolling"}):
        with pytest.raises(ValidationError, match="use a canary strategy with a `bake`"):
            _environment(strategy, **{"for": "10m"})
        _environment(strategy)  # without `for`, it is one more check of each try


def test_the_check_survives_the_jobs_snapshot() -> None:
    # A job stores its environment by alias, unset options left out (app.deployments.snapshot).
    spec = _environment({"type": "canary", "bake": "5m"}, **{"for": "10m", "comparison": ">"})
    stored = spec.model_dump(mode="json", exclude_unset=True, by_alias=True)
    assert stored["health"]["prometheus"] == {
        "integration": "prom",
        "query": "up",
        "threshold": 1.0,
        "comparison": ">",
        "for": 600.0,
    }
    assert EnvironmentSpec.model_validate(stored) == spec


@pytest.mark.parametrize(
    ("prometheus", "seconds", "length"),
    [({}, 300.0, 300.0), ({"for": 600}, 300.0, 600.0), ({"for": 60}, 300.0, 300.0)],
)
def test_a_longer_for_makes_the_bake_as_long(
    prometheus: dict[str, Any], seconds: float, length: float
) -> None:
    assert bake_length(_health(**prometheus), seconds) == length
    assert bake_length(None, seconds) == seconds


def test_the_query_renders_with_the_target_and_values() -> None:
    check = _health(
        query='rate(errors{env="{{ environment }}",version="{{ release.name }}",'
        'zone="{{ target.labels.zone }}"}[5m])'
    ).prometheus
    assert check is not None
    assert render_query(check, TARGET, VALUES) == (
        'rate(errors{env="production",version="v1.4.0",zone="eu"}[5m])'
    )
    misspelt = _health(query="x{zone='{{ target.labels.zoen }}'}").prometheus
    assert misspelt is not None
    with pytest.raises(HealthCheckFailed, match="the prometheus check's query, line 1: "):
        render_query(misspelt, TARGET, VALUES)


# --- verify and bake (a scripted query) ----------------------------------------------------------


class Metrics:
    """A fake query function: answers from a script (samples, or an error to raise), then
    the last answer again; records what it was asked."""

    def __init__(self, *answers: list[Sample] | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, str]] = []

    async def __call__(self, integration: str, promql: str) -> list[Sample]:
        self.asked.append((integration, promql))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Log(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)


LOW, HIGH = [_sample(0.01, target="web-1")], [_sample(0.4, target="web-1")]
BREAKS = 'prometheus: app_error_ratio{target="web-1"} is 0.4, not <= 0.05'


async def _verify(spec: HealthSpec, metrics: Metrics, clock: FakeClock, log: Log) -> None:
    async with httpx.AsyncClient() as http:
        await verify(
            spec,
            TARGET,
            http=http,
            run_command=None,
            log=log,
            values=VALUES,
            query_metrics=metrics,
            sleep=clock.sleep,
        )


async def _bake(
    spec: HealthSpec,
    metrics: Metrics,
    clock: FakeClock,
    log: Log,
    seconds: float,
    run_command: Any = None,
) -> None:
    async with httpx.AsyncClient() as http:
        await bake(
            spec,
            TARGET,
            seconds=seconds,
            http=http,
            run_command=run_command,
            log=log,
            values=VALUES,
            query_metrics=metrics,
            sleep=clock.sleep,
            clock=clock.time,
        )


def _spec(**fields: Any) -> HealthSpec:
    prometheus = {"integration": "prom", "query": QUERY, "threshold": 0.05}
    prometheus.update(fields.pop("prometheus", {}))
    return HealthSpec.model_validate({"interval": 7, "prometheus": prometheus, **fields})


async def test_verify_asks_the_rendered_query_and_retries_a_breach() -> None:
    metrics, clock, log = Metrics(HIGH, LOW), FakeClock(), Log()
    await _verify(_spec(retries=2), metrics, clock, log)
    assert metrics.asked == [("prom", 'app_error_ratio{target="web-1"}')] * 2
    assert clock.sleeps == [7]
    assert log == [
        f"health web-1: try 1/3 failed: {BREAKS}",
        "health web-1: try 2/3 passed: prometheus 0.01 <= 0.05",
    ]


async def test_verify_fails_after_the_last_breach_and_on_nothing() -> None:
    clock, log = FakeClock(), Log()
    with pytest.raises(HealthCheckFailed, match=f"failed 2 times; last: {BREAKS}"):
        await _verify(_spec(retries=1), Metrics(HIGH), clock, log)
    with pytest.raises(HealthCheckFailed, match="last: prometheus: the query returned nothing"):
        await _verify(_spec(retries=0), Metrics([]), clock, log)
    await _verify(_spec(retries=0, prometheus={"on_empty": "pass"}), Metrics([]), clock, log)


async def test_an_error_that_a_retry_may_mend_is_retried() -> None:
    refused = IntegrationError("CONNECTION_REFUSED", "cannot connect", integration="prom")
    metrics, clock, log = Metrics(refused, LOW), FakeClock(), Log()
    await _verify(_spec(retries=1), metrics, clock, log)
    assert log[0] == (
        "health web-1: try 1/2 failed: prometheus: CONNECTION_REFUSED: integration prom: "
        "cannot connect"
    )


@pytest.mark.parametrize(
    "error",
    [
        IntegrationError("INTEGRATION_NOT_FOUND", "there is no integration 'prom'"),
        IntegrationError("INVALID_CONFIG", "GET /api/v1/query: bad_data: parse error"),
        IntegrationError("AUTHENTICATION_FAILED", "the credential was refused (401)"),
    ],
)
async def test_an_error_no_retry_mends_fails_at_once(error: IntegrationError) -> None:
    clock, log = FakeClock(), Log()
    with pytest.raises(HealthCheckFailed) as failed:
        await _verify(_spec(retries=5), Metrics(error), clock, log)
    assert str(failed.value) == f"web-1: the prometheus check: {error}"
    assert (log, clock.sleeps) == ([], [])


async def test_without_the_integrations_a_prometheus_check_cannot_run() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(HealthCheckFailed, match="a prometheus check needs the integrations"):
            await verify(_spec(), TARGET, http=http, run_command=None, log=Log(), values=VALUES)


async def test_a_bake_asks_every_query_interval_through_its_end() -> None:
    metrics, clock, log = Metrics(LOW), FakeClock(), Log()
    await _bake(_spec(prometheus={"interval": 20}), metrics, clock, log, seconds=50)
    assert clock.sleeps == [20, 20, 10]
    assert len(metrics.asked) == 4
    assert log[0] == "bake web-1: query 1 (0 s of 50 s) passed: prometheus 0.01 <= 0.05"
    assert log[-1] == "bake web-1: query 4 (50 s of 50 s) passed: prometheus 0.01 <= 0.05"


async def test_a_breach_in_the_bake_fails_it_at_once() -> None:
    metrics, clock, log = Metrics(LOW, LOW, HIGH, LOW), FakeClock(), Log()
    with pytest.raises(HealthCheckFailed) as failed:
        await _bake(_spec(retries=5), metrics, clock, log, seconds=300)  # no retries in a bake
    assert str(failed.value) == f"web-1: the bake failed in query 3 (14 s of 300 s): {BREAKS}"
    assert len(metrics.asked) == 3


async def test_a_shorter_for_stops_asking_and_the_bake_waits_out_the_rest() -> None:
    metrics, clock, log = Metrics(LOW), FakeClock(), Log()
    spec = _spec(prometheus={"interval": 10, "for": 25})
    await _bake(spec, metrics, clock, log, seconds=60)
    assert len(metrics.asked) == 4  # at 0, 10, 20 and 25 s
    assert clock.sleeps == [10, 10, 5, 35]
    assert log[-1] == "bake web-1: query 4 (25 s of 25 s) passed: prometheus 0.01 <= 0.05"


async def test_the_other_checks_keep_their_own_interval_in_the_same_bake() -> None:
    ran: list[float] = []
    clock = FakeClock()

    async def command(_: str) -> int:
        ran.append(clock.now - 1_000_000.0)
        return 0

    metrics, log = Metrics(LOW), Log()
    spec = _spec(command="check", interval=30, prometheus={"interval": 20})
    await _bake(spec, metrics, clock, log, seconds=60, run_command=command)
    assert ran == [0, 30, 60]
    assert len(metrics.asked) == 4  # at 0, 20, 40 and 60 s
    assert clock.sleeps == [20, 10, 10, 20]
    assert [line.split(" (")[0] for line in log] == [
        "bake web-1: round 1",
        "bake web-1: query 1",
        "bake web-1: query 2",
        "bake web-1: round 2",
        "bake web-1: query 3",
        "bake web-1: round 3",
        "bake web-1: query 4",
    ]
