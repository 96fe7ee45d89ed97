"""From a normalised event to the features' handlers, in the delivery's own job.

Modelled on gidgethub's (and bedevere's) `Router`: each feature owns a `Router(name)` and
registers handlers on it, `@router.register(EventKind.PULL_REQUEST)` (optionally only for one
`action`, in the host's word); `app.features` combines the routers into one `EventRouter`,
in the order the features act. A handler receives the context (the process's `Services`) and
the `Routed` event, and returns what it made of it (JSON, shown on the delivery's page), or
None. What every handler returned is the delivery's outcome, by feature name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from providers.events import Event, EventKind

__all__ = ["EventRouter", "Handler", "Outcome", "Routed", "Router"]

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


class EventRouter(Generic[C]):
    """The features' routers, combined: what a delivery's job dispatches to."""

    def __init__(self, *routers: Router[C]) -> None:
        names = [router.name for router in routers]
        if len(set(names)) != len(names):
            raise ValueError(f"router names must be unique: {names}")
        self.routers = routers

    def wants(self, event: Event) -> bool:
        """Whether any feature has a handler for `event`."""
        return any(router.handlers_for(event) for router in self.routers)

    async def dispatch(self, context: C, routed: Routed) -> dict[str, Any]:
        """Run every handler for the event, feature by feature; their outcomes by feature.
        An exception stops the dispatch: the job decides whether to try again."""
        outcome: dict[str, Any] = {}
        for router in self.routers:
            for handler in router.handlers_for(routed.event):
                result = await handler(context, routed)
                if result is not None:
                    outcome[router.name] = {**outcome.get(router.name, {}), **result}
        return outcome
