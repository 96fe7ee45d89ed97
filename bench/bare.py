"""The baseline: a Starlette endpoint that only checks the HMAC and parses the JSON.

Run as `uvicorn bench.bare:create_app --factory` (the command line the full intake runs under)
with GITHUB_WEBHOOK_SECRET set.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["create_app"]


def create_app(secret: str | None = None) -> Starlette:
    """The app; the secret is read from GITHUB_WEBHOOK_SECRET here (at start-up) unless given."""
    key = (secret if secret is not None else os.environ["GITHUB_WEBHOOK_SECRET"]).encode()

    async def receive_webhook(request: Request) -> JSONResponse:
        body = await request.body()
        expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        signature = request.headers.get("x-hub-signature-256", "")
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        try:
            json.loads(body)
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        return JSONResponse({"ok": True}, status_code=202)

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/webhooks/github", receive_webhook, methods=["POST"]),
            Route("/healthz", healthz),
        ]
    )
