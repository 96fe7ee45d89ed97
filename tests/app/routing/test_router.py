"""The event router: handlers by kind and action, outcomes by feature, in the features' order."""

from __future__ import annotations

import pytest

from app.routing import EventRouter, Outcome, Routed, Router
from providers.events import Event, EventKind


def event(kind: EventKind, action: str | None = None) -> Event:
    return Event(provider="github", name=str(kind), delivery_id="d", kind=kind, action=action)


async def test_handlers_run_for_their_kind_and_action_and_say_what_they_did() -> None:
    seen: list[str] = []
    releases: Router[list[str]] = Router("releases")
    pipelines: Router[list[str]] = Router("pipelines")

    @pipelines.register(EventKind.PUSH)
    async def start(context: list[str], routed: Routed) -> Outcome:
        context.append(f"pipelines {routed.event.action}")
        return {"runs": [1]}

    @releases.register(EventKind.TAG, action="created")
    async def release(context: list[str], routed: Routed) -> Outcome:
        context.append("release")
        return {"release": "v1"}

    @releases.register(EventKind.PUSH)
    async def nothing_to_say(context: list[str], routed: Routed) -> Outcome:
        context.append("releases push")
        return None

    router = EventRouter(releases, pipelines)
    push = Routed(event(EventKind.PUSH))
    assert router.wants(push.event)
    assert await router.dispatch(seen, push) == {"pipelines": {"runs": [1]}}
    assert seen == ["releases push", "pipelines None"]  # the features' order

    assert await router.dispatch(seen, Routed(event(EventKind.TAG, "created"))) == {
        "releases": {"release": "v1"}
    }
    assert not router.wants(event(EventKind.TAG, "deleted"))
    assert not router.wants(event(EventKind.PING))


async def test_a_handlers_exception_reaches_the_job() -> None:
    router: Router[None] = Router("pipelines")

    @router.register(EventKind.PUSH)
    async def broken(context: None, routed: Routed) -> Outcome:
        raise RuntimeError("host down")

    with pytest.raises(RuntimeError, match="host down"):
        await EventRouter(router).dispatch(None, Routed(event(EventKind.PUSH)))


def test_two_features_cannot_share_a_name() -> None:
    with pytest.raises(ValueError, match="unique"):
        EventRouter(Router[None]("pipelines"), Router[None]("pipelines"))
