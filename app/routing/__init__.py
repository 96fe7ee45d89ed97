"""The event router: features register handlers by event kind; deliveries are dispatched."""

from app.routing.router import EventRouter, Handler, Outcome, Routed, Router

__all__ = ["EventRouter", "Handler", "Outcome", "Routed", "Router"]
