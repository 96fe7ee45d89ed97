"""A deployment's live changes as server-sent events (`/deployments/{id}/events`).

The stream polls the database (a session per poll, none held between them) and sends only
what changed: a task's state, the log lines it wrote since the last event (per-task offsets,
which are also the events' ids, so a reconnecting browser carries on where it was), the job's
state; it closes when the job has ended, when the client goes, or after a while (the browser
reconnects).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from app.auth.access import Viewer
from app.db.models.deployments import TaskState
from app.deployments import task_logs
from app.deployments.task_logs import Seen, TaskSeen
from app.web.deployments import offsets_text, visible_job
from app.web.guard import services_of, signed_in

__all__ = [
    "KEEPALIVE_SECONDS",
    "MAX_STREAM_SECONDS",
    "POLL_SECONDS",
    "live_streams",
    "routes",
]

POLL_SECONDS = 0.5  # how often an event stream reads the database
KEEPALIVE_SECONDS = 15.0  # a comment on a quiet stream: proxies keep it, a gone client shows
MAX_STREAM_SECONDS = 60.0  # then the stream closes and the browser reconnects (read again)
RETRY_MILLISECONDS = 2000  # how soon a browser reconnects
_FINAL_TASK_STATES = (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)
_OFFSETS = re.compile(r"[0-9]{1,12}:[0-9]{1,15}(\.[0-9]{1,12}:[0-9]{1,15}){0,999}")


def _parse_offsets(text: str | None) -> dict[int, int]:
    """The offsets `offsets_text` wrote; none when the text is not that shape."""
    if not text or not _OFFSETS.fullmatch(text):
        return {}
    pairs = (pair.split(":") for pair in text.split("."))
    return {int(task): int(offset) for task, offset in pairs}


def _event(kind: str, data: dict[str, Any], event_id: str | None = None) -> str:
    head = f"event: {kind}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return f"{head}data: {json.dumps(data)}\n\n"


@dataclass
class _Watch:
    """What a stream has sent so far: the job's state, each task's, and how much of each log."""

    offsets: dict[int, int]
    job: tuple[str, str | None] | None = None
    tasks: dict[int, tuple[str, int, str | None]] = field(default_factory=dict)

    def changes(self, seen: Seen) -> list[str]:
        """The events for what is new in `seen`: per task its state and its new lines (in the
        order they happened: lines before the state that ended the task), the job's state
        (after its tasks' once it has ended)."""
        out: list[str] = []
        job = (seen.state, seen.error)
        job_event = None
        if job != self.job:
            self.job = job
            job_event = _event("job", {"state": seen.state, "error": seen.error})
        if job_event and not seen.ended:
            out.append(job_event)
        for task in seen.tasks:
            state = self._state(task)
            lines = self._lines(task, flush=seen.ended or task.state in _FINAL_TASK_STATES)
            ordered = [lines, state] if task.state in _FINAL_TASK_STATES else [state, lines]
            out += [event for event in ordered if event is not None]
        if job_event and seen.ended:
            out.append(job_event)
        return out

    def _state(self, task: TaskSeen) -> str | None:
        now = (task.state, task.attempts, task.error)
        if self.tasks.get(task.id) == now:
            return None
        self.tasks[task.id] = now
        data = {"id": task.id, "state": task.state, "attempts": task.attempts, "error": task.error}
        return _event("task", data)

    def _lines(self, task: TaskSeen, *, flush: bool) -> str | None:
        """The task's new complete lines (a line still being written waits, unless the task
        will write no more)."""
        text = task.new_text
        if not flush:
            text = text[: text.rfind("\n") + 1]
        if not text:
            return None
        self.offsets[task.id] = self.offsets.get(task.id, 0) + len(text)
        lines = text.removesuffix("\n").split("\n")
        return _event("log", {"task": task.id, "lines": lines}, offsets_text(self.offsets))


class _Streams:
    """How many event streams this process serves now."""

    open = 0


def live_streams() -> int:
    """The event streams open in this process (each polls the database while it is)."""
    return _Streams.open


async def _stream(request: Request, job_id: int, offsets: dict[int, int]) -> AsyncIterator[str]:
    sessions = services_of(request).sessions
    watch = _Watch(dict(offsets))
    loop = asyncio.get_running_loop()
    started = quiet_since = loop.time()
    _Streams.open += 1
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        while True:
            seen = await task_logs.progress_since(sessions, job_id, watch.offsets)
            if seen is None:  # deleted under the stream: nothing more will come
                yield _event("end", {"state": None})
                return
            for event in watch.changes(seen):
                quiet_since = loop.time()
                yield event
            if seen.ended:
                yield _event("end", {"state": seen.state})
                return
            if loop.time() - started >= MAX_STREAM_SECONDS:
                return
            if loop.time() - quiet_since >= KEEPALIVE_SECONDS:
                quiet_since = loop.time()
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_SECONDS)
            if await request.is_disconnected():
                return
    finally:
        _Streams.open -= 1


@signed_in
async def deployment_events(request: Request, viewer: Viewer) -> Response:
    """text/event-stream of the job's changes; the offsets to start from are the last event's
    id (a browser reconnecting) or `?offsets=` (the page, which shows the logs so far)."""
    found = await visible_job(request, viewer)
    if isinstance(found, Response):
        return found
    offsets = _parse_offsets(
        request.headers.get("last-event-id") or request.query_params.get("offsets")
    )
    return StreamingResponse(
        _stream(request, found.id or 0, offsets),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


routes = [
    Route("/deployments/{job_id}/events", deployment_events),
]
