"""Shipyard's own metrics, each defined once here, and the one-line calls that record them.

What `GET /metrics` serves (Prometheus text format; `app.scrape`):

- `shipyard_deliveries_total{provider, event, outcome}` (counter): webhook deliveries as the
  intake answered them: `queued`, `stored` (the queue was down; the sweep enqueues it),
  `duplicate`, `pong`; or refused, with event `-`: `unauthorized`, `invalid`, `too_large`,
  `unsupported`, `unavailable`.
- `shipyard_intake_duration_seconds{provider}` (histogram): from a delivery's request to its
  2xx answer.
- `shipyard_queue_depth{queue}` (gauge, read when scraped): jobs on each queue, waiting,
  deferred or running.
- `shipyard_job_duration_seconds{job, outcome}` (histogram): each queue job's run, by job
  name; outcome `ok` or `error`.
- `shipyard_pipeline_runs_total{state}`, `shipyard_pipeline_steps_total{state}` (counters):
  runs and steps entering each state.
- `shipyard_deployments_total{state, strategy}`, `shipyard_deployment_tasks_total{state,
  strategy}` (counters): deployment jobs and their tasks entering each state, by the
  environment's strategy (`all-at-once`, `rolling`, `canary`, `blue-green`).
- `shipyard_rollbacks_total{trigger}` (counter): rollbacks begun, `automatic` (a failed
  deployment rolls back) or `requested` (a rollback job made by a person or the API).
- `shipyard_chatops_commands_total{command, result}` (counter): comment commands answered,
  `started`, `done` or `refused` (command `-`: one that could not be read).
- `shipyard_host_api_calls_total{host, status_class}` (counter): attempts of calls to a Git
  host's API, by answer (`2xx` … `5xx`), or `error` when none came.
- `shipyard_host_rate_limit_waits_total{host}`, `shipyard_host_rate_limit_wait_seconds_total
  {host}` (counters): waits for a host's rate limit to reset, and the seconds waited.
- `shipyard_integration_calls_total{integration, provider, outcome}` (counter): calls to
  integrations, `ok` or the error's code in lower case (`connection_refused`, …).
- `shipyard_integration_health{integration, state}` (gauge, read when scraped): 1 for the
  health last checked (`healthy`, `degraded`, `unhealthy`, `unknown`), 0 for the others.
- `shipyard_integration_breaker_state{integration}` (gauge): the integration's circuit
  breaker, 0 closed, 1 half open, 2 open (with several processes: the most open of them).
- `process_*` (one process only): the process's CPU, memory and open files.

With `shipyard serve --workers N` the processes add up their numbers through prometheus-client's
multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`, under SHIPYARD_DATA_DIR unless set).
"""

from __future__ import annotations

import collections
import contextlib
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.multiprocess import mark_process_dead

from app.settings import Settings

__all__ = [
    "BREAKER_POSITIONS",
    "MULTIPROC_VARIABLE",
    "REGISTRY",
    "chatops_command",
    "counted_process",
    "delivery_received",
    "deployment_moved",
    "host_answered",
    "intake_answered",
    "integration_called",
    "integration_forgotten",
    "job_timer",
    "multiprocess_dir",
    "rate_limit_waited",
    "rollback_begun",
    "run_moved",
    "step_moved",
    "strategy_of",
    "tasks_moved",
]

REGISTRY = CollectorRegistry()
"""This process's own metrics (what `/metrics` serves when it runs alone)."""
ProcessCollector(registry=REGISTRY)

_LABEL_MAX = 100
_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_SLOW = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

DELIVERIES = Counter(
    "shipyard_deliveries",
    "Webhook deliveries, by how the intake answered them.",
    ["provider", "event", "outcome"],
    registry=REGISTRY,
)
INTAKE_SECONDS = Histogram(
    "shipyard_intake_duration_seconds",
    "From a webhook delivery's request to its 2xx answer.",
    ["provider"],
    buckets=_FAST,
    registry=REGISTRY,
)
JOB_SECONDS = Histogram(
    "shipyard_job_duration_seconds",
    "How long each queue job ran, by job name.",
    ["job", "outcome"],
    buckets=_SLOW,
    registry=REGISTRY,
)
RUNS = Counter(
    "shipyard_pipeline_runs", "Pipeline runs entering each state.", ["state"], registry=REGISTRY
)
STEPS = Counter(
    "shipyard_pipeline_steps", "Pipeline steps entering each state.", ["state"], registry=REGISTRY
)
DEPLOYMENTS = Counter(
    "shipyard_deployments",
    "Deployment jobs entering each state.",
    ["state", "strategy"],
    registry=REGISTRY,
)
TASKS = Counter(
    "shipyard_deployment_tasks",
    "Deployment tasks entering each state.",
    ["state", "strategy"],
    registry=REGISTRY,
)
ROLLBACKS = Counter(
    "shipyard_rollbacks", "Rollbacks begun, automatic or requested.", ["trigger"], registry=REGISTRY
)
COMMANDS = Counter(
    "shipyard_chatops_commands",
    "ChatOps comment commands answered, by command and result.",
    ["command", "result"],
    registry=REGISTRY,
)
HOST_CALLS = Counter(
    "shipyard_host_api_calls",
    "Calls to a Git host's API, by host and class of answer.",
    ["host", "status_class"],
    registry=REGISTRY,
)
RATE_LIMIT_WAITS = Counter(
    "shipyard_host_rate_limit_waits",
    "Waits for a Git host's rate limit to reset.",
    ["host"],
    registry=REGISTRY,
)
RATE_LIMIT_SECONDS = Counter(
    "shipyard_host_rate_limit_wait_seconds",
    "Seconds spent waiting for a Git host's rate limit to reset.",
    ["host"],
    registry=REGISTRY,
)
INTEGRATION_CALLS = Counter(
    "shipyard_integration_calls",
    "Calls to integrations, by integration, provider and outcome.",
    ["integration", "provider", "outcome"],
    registry=REGISTRY,
)
BREAKERS = Gauge(
    "shipyard_integration_breaker_state",
    "An integration's circuit breaker: 0 closed, 1 half open, 2 open.",
    ["integration"],
    multiprocess_mode="livemax",  # open in any live process is open
    registry=REGISTRY,
)

BREAKER_POSITIONS: Mapping[str, int] = {"closed": 0, "half_open": 1, "open": 2}
_RESULTS = {"rocket": "started", "+1": "done", "-1": "refused"}
_REFUSED = {
    400: "invalid",
    401: "unauthorized",
    404: "unknown_provider",
    413: "too_large",
    415: "unsupported",
    503: "unavailable",
}
DEFAULT_STRATEGY = "all-at-once"


def _label(value: object) -> str:
    """A label value, cut short (values that come from outside stay bounded in size)."""
    return str(value)[:_LABEL_MAX] if value is not None else "-"


def delivery_received(provider: str, event: str | None, outcome: str) -> None:
    """A delivery answered (`outcome`: queued, stored, duplicate, pong)."""
    DELIVERIES.labels(provider, _label(event), outcome).inc()


def intake_answered(provider: str, status: int, started: float) -> None:
    """A delivery's request answered with `status`, `started` at this `time.perf_counter()`:
    its latency when accepted, its refusal counted (with event `-`) when not."""
    if 200 <= status < 300:
        INTAKE_SECONDS.labels(provider).observe(time.perf_counter() - started)
    else:
        DELIVERIES.labels(provider, "-", _REFUSED.get(status, f"http_{status}")).inc()


@contextlib.contextmanager
def job_timer(name: str) -> Iterator[None]:
    """Times a queue job's body; an exception is its outcome `error`."""
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        JOB_SECONDS.labels(name, outcome).observe(time.perf_counter() - started)


def run_moved(state: object, count: int = 1) -> None:
    """`count` pipeline runs entered `state` (a conditional UPDATE's rowcount will do)."""
    if count > 0:
        RUNS.labels(str(state)).inc(count)


def step_moved(state: object, count: int = 1) -> None:
    if count > 0:
        STEPS.labels(str(state)).inc(count)


def strategy_of(spec: Mapping[str, Any] | None) -> str:
    """A deployment job's strategy type, from its stored `spec`."""
    environment = (spec or {}).get("environment")
    strategy = environment.get("strategy") if isinstance(environment, Mapping) else None
    kind = strategy.get("type") if isinstance(strategy, Mapping) else None
    return str(kind) if kind else DEFAULT_STRATEGY


def deployment_moved(state: object, strategy: str | None, count: int = 1) -> None:
    if count > 0:
        DEPLOYMENTS.labels(str(state), strategy or DEFAULT_STRATEGY).inc(count)


def tasks_moved(state: object, strategies: Iterable[str | None]) -> None:
    """Tasks entered `state`: the strategy of each one's job."""
    for strategy, count in collections.Counter(strategies).items():
        TASKS.labels(str(state), strategy or DEFAULT_STRATEGY).inc(count)


def rollback_begun(trigger: str) -> None:
    """`automatic` (a failed deployment rolls back) or `requested` (a rollback job made)."""
    ROLLBACKS.labels(trigger).inc()


def chatops_command(command: str | None, reaction: object) -> None:
    """A command answered, by the reaction it got (rocket: started, +1: done, -1: refused)."""
    COMMANDS.labels(_label(command), _RESULTS.get(str(reaction), str(reaction))).inc()


def host_answered(host: str, status: int | None) -> None:
    """One attempt of a call to a Git host: its status, or None when no answer came."""
    status_class = f"{status // 100}xx" if status is not None else "error"
    HOST_CALLS.labels(_label(host), status_class).inc()


def rate_limit_waited(host: str, seconds: float) -> None:
    RATE_LIMIT_WAITS.labels(_label(host)).inc()
    RATE_LIMIT_SECONDS.labels(_label(host)).inc(max(0.0, seconds))


def integration_called(integration: str, provider: str, outcome: str, position: str) -> None:
    """One call to an integration (`outcome`: ok, or its error's code) and where its breaker
    stands after it."""
    INTEGRATION_CALLS.labels(integration, provider, outcome.lower()).inc()
    BREAKERS.labels(integration).set(BREAKER_POSITIONS.get(position, 0))


def integration_forgotten(integration: str) -> None:
    """An integration changed or went: its breaker starts again (closed), or is no more."""
    with contextlib.suppress(KeyError):
        BREAKERS.remove(integration)


# --- several processes, one set of numbers ------------------------------------------------

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir(settings: Settings) -> Path | None:
    """Where this server's processes write their numbers, if they share them (prometheus-client
    reads the variable itself, when it is first imported: it is set before processes start)."""
    value = settings.environ.get(MULTIPROC_VARIABLE)
    return Path(value) if value else None


@contextlib.contextmanager
def counted_process(settings: Settings) -> Iterator[None]:
    """The life of a process that shares its numbers (in the directory, made if need be): when
    it ends, its live gauges (the breakers' positions) leave the sums (`mark_process_dead`);
    its counters stay in them."""
    directory = multiprocess_dir(settings)
    if directory is not None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RuntimeError(
                f"{MULTIPROC_VARIABLE}={directory} cannot be made "
                f"({error.strerror or type(error).__name__}); point it at a writable directory"
            ) from None
    try:
        yield
    finally:
        if directory is not None and directory.is_dir():
            mark_process_dead(os.getpid(), str(directory))  # type: ignore[no-untyped-call]
