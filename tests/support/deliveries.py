"""Building signed deliveries the way each host sends them."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

from tests.support.settings import SECRETS


def github_signature(body: bytes, secret: str = SECRETS["GITHUB_WEBHOOK_SECRET"]) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def gitea_signature(body: bytes, secret: str = SECRETS["GITEA_WEBHOOK_SECRET"]) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery(
    provider: str, event: str, payload: Any, *, delivery_id: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) as `provider` would deliver `payload` with `event`, correctly signed."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    delivery_id = delivery_id or str(uuid.uuid4())
    headers = {"Content-Type": "application/json"}
    if provider == "github":
        headers |= {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery_id,
            "X-Hub-Signature-256": github_signature(body),
        }
    elif provider == "gitlab":
        headers |= {
            "X-Gitlab-Event": event,
            "X-Gitlab-Event-UUID": delivery_id,
            "X-Gitlab-Token": SECRETS["GITLAB_WEBHOOK_SECRET"],
        }
    elif provider == "gitea":
        headers |= {
            "X-Gitea-Event": event,
            "X-Gitea-Delivery": delivery_id,
            "X-Gitea-Signature": gitea_signature(body),
        }
    elif provider == "forgejo":
        headers |= {
            "X-Forgejo-Event": event,
            "X-Forgejo-Delivery": delivery_id,
            "X-Forgejo-Signature": gitea_signature(body),
        }
    else:
        raise ValueError(provider)
    return body, headers


PUSH = {
    "ref": "refs/heads/main",
    "before": "0" * 40,
    "after": "a" * 40,
    "repository": {"full_name": "acme/web", "id": 1, "default_branch": "main"},
    "sender": {"login": "octocat", "id": 2},
}
