"""From a normalised event to the features' handlers, in the delivery's own job.

Modelled on gidgethub's (and bedevere's) `Router`: each feature owns a `Router(name)` and
registers handlers on it, `@router.register(EventKind.PULL_REQUEST)` (optionally only for one
`action`, in the host's word); `app.features` combines the routers into one `EventRouter`,
in the order the features act. A handler receives the context (the process's `Services`) and
the `Routed` event, and returns what it made of it (JSON, shown on the delivery's page), or
None. What every handler returned is the delivery's outcome, by feature name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from providers.events import Event, EventKind

__all__ = ["EventRouter", "Handler", "OnHandled", "Outcome", "Registered", "Routed", "Router"]

C = TypeVar("C")
Outcome = Mapping[str, Any] | None


@dataclass(frozen=True)
class Routed:
    """The event a handler acts on, and the stored delivery it came in (None for a replay)."""

    event: Event
    delivery_pk: int | None = None
    last_try: bool = True  # no retry follows if a handler fails now: say why, don't raise


Handler = Callable[[C, Routed], Awaitable[Outcome]]


class Router(Generic[C]):
    """One feature's handlers, by event kind and action."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: dict[tuple[EventKind, str | None], list[Handler[C]]] = {}

    def register(
        self, kind: EventKind, *, action: str | None = None
    ) -> Callable[[Handler[C]], Handler[C]]:
        """A decorator: call the handler for events of `kind` (and `action`, if given)."""

        def add(handler: Handler[C]) -> Handler[C]:
            self._handlers.setdefault((kind, action), []).append(handler)
            return handler

        return add

    def handlers_for(self, event: Event) -> list[Handler[C]]:
        return [
            *self._handlers.get((event.kind, None), []),
            *(self._handlers.get((event.kind, event.action), []) if event.action else []),
        ]


@dataclass(frozen=True)
class Registered(Generic[C]):
    """A handler as a feature registered it; `key` names it in a delivery's `handled` list."""

    key: str
    feature: str
    handler: Handler[C]


OnHandled = Callable[[str, dict[str, Any], bool], Awaitable[None]]
"""Told after each handler: its key, the outcome so far, and whether it was the last."""


class EventRouter(Generic[C]):
    """The features' routers, combined: what a delivery's job dispatches to."""

    def __init__(self, *routers: Router[C]) -> None:
        names = [router.name for router in routers]
        if len(set(names)) != len(names):
            raise ValueError(f"router names must be unique: {names}")
        self.routers = routers

    def handlers(self, event: Event) -> list[Registered[C]]:
        """Every handler for `event`, in the features' order."""
        return [
            Registered(f"{router.name}.{handler.__name__}", router.name, handler)
            for router in self.routers
            for handler in router.handlers_for(event)
        ]

    def wants(self, event: Event) -> bool:
        """Whether any feature has a handler for `event`."""
        return any(router.handlers_for(event) for router in self.routers)

    async def dispatch(
        self,
        context: C,
        routed: Routed,
        *,
        done: Collection[str] = (),
        outcome: Mapping[str, Any] | None = None,
        on_handled: OnHandled | None = None,
    ) -> dict[str, Any]:
        """Run every handler for the event not in `done`, feature by feature; the outcome
        (`outcome` so far, and theirs) by feature. An exception stops the dispatch: the job
        decides whether to try again, and `on_handled` has heard of each that finished."""
        merged: dict[str, Any] = dict(outcome or {})
        pending = [h for h in self.handlers(routed.event) if h.key not in done]
        for position, registered in enumerate(pending, start=1):
            result = await registered.handler(context, routed)
            if result is not None:
                merged[registered.feature] = {**merged.get(registered.feature, {}), **result}
            if on_handled is not None:
                await on_handled(registered.key, merged, position == len(pending))
        return merged
