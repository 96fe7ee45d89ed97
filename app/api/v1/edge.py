"""The door of `/api/v1`: bodies over 1 MB refused (413) before they are read whole, and every
failure below answered in the API's error shape — Starlette's 404 and 405 included, and an
unexpected exception logged (by its type and traceback, never the request) and answered 500
without a traceback. None of this reaches the rest of the application's routes."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.v1.errors import ApiError, error_response

__all__ = ["MAX_BODY_BYTES", "ApiEdge"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
_CODES = {404: "not_found", 405: "method_not_allowed"}


class _TooLarge(Exception):
    pass


def _too_large() -> ApiError:
    return ApiError(413, "too_large", f"the body is over {MAX_BODY_BYTES // 1024} KB")


class ApiEdge:
    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await _too_large().response()(scope, receive, send)
            return
        started = False
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except ClientDisconnect:
            return  # nobody is left to answer
        except Exception as error:
            if started:
                raise
            await self._answer(error)(scope, receive, send)

    @staticmethod
    def _answer(error: Exception) -> ASGIApp:
        if isinstance(error, ApiError):
            return error.response()
        if isinstance(error, _TooLarge):
            return _too_large().response()
        if isinstance(error, HTTPException):
            code = _CODES.get(error.status_code, "http_error")
            return error_response(error.status_code, code, str(error.detail), headers=error.headers)
        log.error("API request failed: %s", type(error).__name__, exc_info=error)
        return error_response(500, "internal", "internal error; it has been logged")
