"""The circuit breaker: its pure state machine, table-tested (opens after 5 failures in a row,
fails fast while open, half-opens after its timeout, closes after 3 successes, re-opens on a
failure while half open); which error codes count against it; and the hub's `call` through it
with an injected clock and a connector that fails on command — backoff retries for the codes
that allow them, none for AUTHENTICATION_FAILED, RATE_LIMITED carrying its delay, and
INTEGRATION_UNHEALTHY without the connector being called."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest

from app.db.engine import SessionFactory
from app.integrations.breaker import (
    BreakerPolicy,
    Breakers,
    BreakerState,
    Position,
    allow,
    record,
)
from app.integrations.connector import ConnectorContext, Resource
from app.integrations.errors import CODES, Code, IntegrationError, trips_breaker
from app.integrations.hub import Hub
from app.integrations.kinds import CheckLevel
from app.integrations.model import Integration
from app.integrations.spec import ProviderSpec
from app.secrets.masker import Masker
from app.secrets.resolvers import Secrets
from tests.support.clock import FakeClock

POLICY = BreakerPolicy(failure_threshold=5, success_threshold=3, open_seconds=60.0)

# Each step: (what happens, at what time, the position after it, whether a call was allowed).
# "allow" asks whether a call may go; "fail" / "ok" record how an allowed call ended.
Step = tuple[str, float, Position, bool | None]


def closed_failures(at: float) -> list[Step]:
    """Four failures in a row at `at`: one short of opening."""
    return [("fail", at, "closed", None)] * 4


SCENARIOS: dict[str, list[Step]] = {
    "opens after five failures in a row": [
        ("fail", 0, "closed", None), ("fail", 1, "closed", None), ("fail", 2, "closed", None),
        ("fail", 3, "closed", None), ("fail", 4, "open", None),
    ],
    "a success resets the count": [
        ("fail", 0, "closed", None), ("fail", 0, "closed", None), ("fail", 0, "closed", None),
        ("fail", 0, "closed", None), ("ok", 0, "closed", None), ("fail", 0, "closed", None),
        ("fail", 0, "closed", None), ("fail", 0, "closed", None), ("fail", 0, "closed", None),
        ("fail", 0, "open", None),
    ],
    "fails fast while open, half-opens after its timeout": [
        *closed_failures(10), ("fail", 10, "open", None),
        ("allow", 10, "open", False), ("allow", 69.9, "open", False),
        ("allow", 70, "half_open", True),
    ],
    "closes after three successes half open": [
        *closed_failures(0), ("fail", 0, "open", None),
        ("allow", 60, "half_open", True), ("ok", 60, "half_open", None),
        ("ok", 61, "half_open", None), ("ok", 62, "closed", None),
        ("allow", 62, "closed", True), ("fail", 63, "closed", None),
    ],
    "a failure half open re-opens it, for another full timeout": [
        *closed_failures(0), ("fail", 0, "open", None),
        ("allow", 60, "half_open", True), ("ok", 60, "half_open", None),
        ("fail", 61, "open", None), ("allow", 120, "open", False),
        ("allow", 121, "half_open", True),
    ],
    "a call let through before it opened changes nothing when it ends": [
        *closed_failures(0), ("fail", 0, "open", None),
        ("ok", 1, "open", None), ("fail", 2, "open", None), ("allow", 59, "open", False),
        ("allow", 60, "half_open", True),
    ],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_state_machine(name: str) -> None:
    state = BreakerState()
    for number, (event, now, position, allowed) in enumerate(SCENARIOS[name]):
        if event == "allow":
            went, state = allow(state, POLICY, now)
            assert went is allowed, (name, number)
        else:
            state = record(state, POLICY, now, ok=event == "ok")
        assert state.position == position, (name, number, state)


def test_an_open_breaker_says_when_it_lets_calls_through_again() -> None:
    state = BreakerState("open", opened_at=100.0)
    assert state.retry_after(POLICY, 100.0) == 60.0
    assert state.retry_after(POLICY, 145.5) == 14.5
    assert state.retry_after(POLICY, 170.0) == 0.0
    assert BreakerState().retry_after(POLICY, 0.0) == 0.0


def test_another_policy_is_followed() -> None:
    policy = BreakerPolicy(failure_threshold=1, success_threshold=1, open_seconds=5.0)
    state = record(BreakerState(), policy, 0.0, ok=False)
    assert state.position == "open"
    assert allow(state, policy, 4.9)[0] is False
    went, state = allow(state, policy, 5.0)
    assert went
    assert state.position == "half_open"
    assert record(state, policy, 5.0, ok=True).position == "closed"


TRIPPING = {
    "CREDENTIAL_FETCH_FAILED", "CONNECTION_REFUSED", "TIMEOUT", "AUTHENTICATION_FAILED",
    "PROVIDER_ERROR",
}  # fmt: skip


@pytest.mark.parametrize("code", sorted(CODES))
def test_which_codes_count_against_the_breaker(code: Code) -> None:
    assert trips_breaker(code) is (code in TRIPPING)


# The hub's call, through a connector that fails on command.


@dataclass
class Scripted:
    """A connector answering each call with the next outcome of `script` (an IntegrationError
    or an exception is raised; anything else returned); once it runs out, "ok"."""

    script: list[object] = field(default_factory=list)
    calls: int = 0

    async def answer(self) -> object:
        self.calls += 1
        outcome = self.script.pop(0) if self.script else "ok"
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def check(self, level: CheckLevel) -> str:
        return str(await self.answer())

    async def discover(self, resource_type: str, scope: Mapping[str, str]) -> list[Resource]:
        await self.answer()
        return []


def refused() -> IntegrationError:
    return IntegrationError("CONNECTION_REFUSED", "cannot connect")


def integration(retries: int = 2) -> Integration:
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    return Integration(
        id=1,
        name="flaky",
        type="ci",
        provider="scripted",
        description="",
        config={"retries": retries},
        credential_ref=None,
        labels={},
        repositories=(),
        health="unknown",
        health_checked_at=None,
        health_latency_ms=None,
        health_message=None,
        checks={},
        created_at=moment,
        updated_at=moment,
    )


@dataclass
class Rig:
    hub: Hub
    clock: FakeClock
    connector: Scripted

    async def call(self, retries: int = 2) -> object:
        return await self.hub.call(integration(retries), _answer)


async def _answer(connector: Any) -> object:
    scripted: Scripted = connector
    return await scripted.answer()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = FakeClock(now=1000.0)
    connector = Scripted()

    def connect(_context: ConnectorContext) -> Scripted:
        return connector

    spec = ProviderSpec("scripted", "ci", "Scripted", connect=connect, test_only=True)
    async with httpx.AsyncClient() as http:
        hub = Hub(
            sessions=cast(SessionFactory, None),  # `call` with an Integration reads no row
            http=http,
            secrets=Secrets.from_environ({}),
            mask=Masker(),
            catalogue={"scripted": spec},
            breakers=Breakers(POLICY, clock=clock.time),
            clock=clock.time,
            sleep=clock.sleep,
            backoff_seconds=0.5,
        )
        yield Rig(hub, clock, connector)


async def test_backoff_codes_are_tried_again_with_growing_delays(rig: Rig) -> None:
    rig.connector.script = [refused(), IntegrationError("TIMEOUT", "slow"), "done"]
    assert await rig.call(retries=2) == "done"
    assert rig.connector.calls == 3
    assert rig.clock.sleeps == [0.5, 1.0]
    assert rig.hub.breakers.state("flaky").position == "closed"


async def test_backoff_ends_after_the_configured_retries(rig: Rig) -> None:
    rig.connector.script = [refused(), refused(), refused(), refused()]
    with pytest.raises(IntegrationError) as raised:
        await rig.call(retries=2)
    assert raised.value.code == "CONNECTION_REFUSED"
    assert raised.value.integration == "flaky"
    assert rig.connector.calls == 3
    assert rig.clock.sleeps == [0.5, 1.0]
    assert rig.hub.breakers.state("flaky").failures == 3


async def test_authentication_failed_is_not_tried_again(rig: Rig) -> None:
    rig.connector.script = [IntegrationError("AUTHENTICATION_FAILED", "refused (401)")]
    with pytest.raises(IntegrationError) as raised:
        await rig.call(retries=5)
    assert raised.value.code == "AUTHENTICATION_FAILED"
    assert str(raised.value) == "AUTHENTICATION_FAILED: integration flaky: refused (401)"
    assert rig.connector.calls == 1
    assert rig.clock.sleeps == []
    assert rig.hub.breakers.state("flaky").failures == 1


async def test_rate_limited_carries_its_delay_and_is_not_waited_out_here(rig: Rig) -> None:
    rig.connector.script = [IntegrationError("RATE_LIMITED", "429", retry_after=7.0)]
    with pytest.raises(IntegrationError) as raised:
        await rig.call(retries=5)
    assert raised.value.code == "RATE_LIMITED"
    assert raised.value.retry_after == 7.0
    assert raised.value.retry == "after_delay"
    assert rig.connector.calls == 1
    assert rig.clock.sleeps == []
    assert rig.hub.breakers.state("flaky").failures == 0  # the integration is not failing


async def test_errors_that_do_not_trip_leave_the_breaker_closed(rig: Rig) -> None:
    codes: tuple[Code, ...] = (
        "PERMISSION_DENIED",
        "RESOURCE_NOT_FOUND",
        "RATE_LIMITED",
        "UNSUPPORTED",
    )
    for code in codes:
        rig.connector.script = [IntegrationError(code, "no")] * 6
        for _ in range(6):
            with pytest.raises(IntegrationError):
                await rig.call(retries=0)
        assert rig.hub.breakers.state("flaky").position == "closed", code


async def test_an_open_breaker_fails_fast_without_calling_then_recovers(rig: Rig) -> None:
    rig.connector.script = [refused()] * 5
    for _ in range(5):
        with pytest.raises(IntegrationError):
            await rig.call(retries=0)
    assert rig.hub.breakers.state("flaky").position == "open"
    calls = rig.connector.calls

    rig.clock.now += 20
    with pytest.raises(IntegrationError) as raised:
        await rig.call(retries=3)
    assert raised.value.code == "INTEGRATION_UNHEALTHY"
    assert raised.value.retry_after == 40.0
    assert raised.value.integration == "flaky"
    assert rig.connector.calls == calls  # not called
    assert rig.clock.sleeps == []  # and not retried

    rig.clock.now += 40
    for number in range(3):
        assert await rig.call() == "ok"
        expected = "closed" if number == 2 else "half_open"
        assert rig.hub.breakers.state("flaky").position == expected


async def test_a_transport_error_is_a_provider_error_that_counts(rig: Rig) -> None:
    rig.connector.script = [httpx.ReadError("reset")]
    with pytest.raises(IntegrationError) as raised:
        await rig.call(retries=0)
    assert raised.value.code == "PROVIDER_ERROR"
    assert rig.hub.breakers.state("flaky").failures == 1


async def test_an_integration_of_another_type_is_not_called(rig: Rig) -> None:
    with pytest.raises(IntegrationError) as raised:
        await rig.hub.call(integration(), _answer, type="secrets")
    assert raised.value.code == "INVALID_CONFIG"
    assert rig.connector.calls == 0
