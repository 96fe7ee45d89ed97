"""`/api/v1/targets` (admin only): register, list, read, change (a merge patch), remove and
test deploy targets; what is refused (a taken name, an invalid target, a reference to
Shipyard's own credentials, any account but an admin); no resolved value in an answer or a
row; and the OpenAPI document describing every operation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from app.settings import Settings
from tests.support.api import bearer, make_token
from tests.support.database import everything
from tests.support.deploy_receiver import Answer, receiving

KNOWN_HOST = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
TOKEN = "deploy-token-5e4d3c2b1a-never-answered"
AUTH = "Token deploy-auth-9f8e7d6c5b4a-never-answered"
SSH: dict[str, Any] = {
    "name": "web-1",
    "connection": {
        "type": "ssh",
        "host": "web-1.example.com",
        "user": "deploy",
        "knownHost": KNOWN_HOST,
    },
    "credential": "file:///etc/shipyard/deploy_key",
    "labels": {"region": "eu"},
    "repositories": ["acme/web", "gitlab:group/**"],
}
COMMAND: dict[str, Any] = {
    "name": "web-cmd",
    "connection": {"type": "command", "command": "./deploy.sh"},
    "repositories": ["acme/web"],
}


@pytest.fixture(autouse=True)
def _deploy_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """In the environment before the app's settings read it."""
    monkeypatch.setenv("DEPLOY_TOKEN", TOKEN)
    monkeypatch.setenv("DEPLOY_API_AUTH", AUTH)


@pytest.fixture
async def admin(api_settings: Settings) -> dict[str, str]:
    return bearer(await make_token(api_settings, "root", "admin"))


async def test_an_admin_registers_reads_changes_and_removes_a_target(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    made = await api.post("/api/v1/targets", json=SSH, headers=admin)
    assert made.status_code == 201, made.text
    target = made.json()["data"]
    assert target["name"] == "web-1"
    assert target["type"] == "ssh"
    assert target["connection"] == {
        "type": "ssh",
        "host": "web-1.example.com",
        "port": 22,
        "user": "deploy",
        "workdir": "shipyard",
        "knownHost": KNOWN_HOST,
        "hostKeyFingerprint": None,
    }
    assert target["credential"] == "file:///etc/shipyard/deploy_key"
    assert target["labels"] == {"region": "eu"}
    assert target["repositories"] == ["acme/web", "gitlab:group/**"]
    assert target["idempotent"] is False
    assert target["createdBy"] == "service account root"
    path = f"/api/v1/targets/{target['id']}"

    second = await api.post("/api/v1/targets", json=COMMAND, headers=admin)
    assert second.status_code == 201, second.text
    listed = await api.get("/api/v1/targets", headers=admin)
    assert [t["name"] for t in listed.json()["data"]["items"]] == ["web-1", "web-cmd"]
    read = await api.get(path, headers=admin)
    assert read.json()["data"] == target

    changed = await api.patch(
        path,
        json={
            "connection": {"port": 2222, "workdir": None},
            "labels": {"region": None, "tier": "web"},
            "idempotent": True,
        },
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    now = changed.json()["data"]
    assert now["connection"]["port"] == 2222
    assert now["connection"]["workdir"] == "shipyard"
    assert now["connection"]["knownHost"] == KNOWN_HOST
    assert now["labels"] == {"tier": "web"}
    assert now["idempotent"] is True
    assert now["credential"] == target["credential"]
    assert moment(now["updatedAt"]) > moment(target["updatedAt"])

    retyped = await api.patch(
        path,
        json={
            "connection": {"type": "webhook", "url": "https://deploy.example.com/hook"},
            "credential": "env://DEPLOY_TOKEN",
        },
        headers=admin,
    )
    assert retyped.status_code == 200, retyped.text
    assert retyped.json()["data"]["type"] == "webhook"
    assert retyped.json()["data"]["connection"]["url"] == "https://deploy.example.com/hook"
    assert "host" not in retyped.json()["data"]["connection"]

    removed = await api.delete(path, headers=admin)
    assert removed.status_code == 200
    assert removed.json()["data"]["name"] == "web-1"
    for method in ("GET", "PATCH", "DELETE"):
        body = {} if method == "PATCH" else None
        gone = await api.request(method, path, json=body, headers=admin)
        assert gone.status_code == 404, (method, gone.text)
        assert gone.json()["error"]["message"] == f"no target has the id {target['id']}"
    left = await api.get("/api/v1/targets", headers=admin)
    assert [t["name"] for t in left.json()["data"]["items"]] == ["web-cmd"]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def changed(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return body | changes


@pytest.mark.parametrize(
    ("body", "status", "code", "says"),
    [
        (changed(SSH, credential=None), 422, "invalid_target", "ssh targets need a credential"),
        (changed(SSH, credential="env://GITHUB_TOKEN"), 422, "invalid_target",
         "env://GITHUB_TOKEN is one of Shipyard's own settings"),
        (changed(SSH, credential="literal-deploy-key"), 422, "invalid_target",
         "body.credential: a secret must be a reference"),
        (changed(SSH, name="web 1"), 422, "invalid_target",
         "body.name: 'web 1': a target name is letters, digits"),
        (changed(SSH, repositories=["bitbucket:acme/*"]), 422, "invalid_target",
         "body.repositories: repository glob 'bitbucket:acme/*': unknown host"),
        (changed(SSH, repositories=[]), 422, "invalid", "body.repositories"),
        (changed(SSH, connection={"type": "ftp", "host": "x"}), 422, "invalid",
         "body.connection"),
        (changed(SSH, connection=SSH["connection"] | {"url": "https://x.example.com"}), 422,
         "invalid", "body.connection.ssh.url"),
        (changed(SSH, connection=SSH["connection"] | {"hostKeyFingerprint": "SHA256:x"}), 422,
         "invalid", "host_key_fingerprint is 'SHA256:'"),
        (changed(COMMAND, connection={"type": "webhook", "url": "https://x.example.com",
                                      "headers": {"Authorization": "Bearer literal"}},
                 credential="env://DEPLOY_TOKEN"), 422, "invalid",
         "header Authorization carries a credential"),
        (changed(COMMAND, connection={"type": "api", "url": "https://x.example.com",
                                      "headers": {"X-Deploy-Auth": "env://REDIS_URL"}},
                 credential="env://DEPLOY_TOKEN"), 422, "invalid_target",
         "header X-Deploy-Auth: env://REDIS_URL is one of Shipyard's own settings"),
    ],
)  # fmt: skip
async def test_what_is_refused(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    body: dict[str, Any],
    status: int,
    code: str,
    says: str,
) -> None:
    answer = await api.post("/api/v1/targets", json=body, headers=admin)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert says in answer.json()["error"]["message"]
    assert "literal-deploy-key" not in answer.text
    listed = await api.get("/api/v1/targets", headers=admin)
    assert listed.json()["data"]["items"] == []


async def test_a_name_is_registered_once_and_kept(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert (await api.post("/api/v1/targets", json=SSH, headers=admin)).status_code == 201
    again = await api.post("/api/v1/targets", json=changed(COMMAND, name="web-1"), headers=admin)
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "target_exists",
        "message": "a target named web-1 is registered already",
    }
    [target] = (await api.get("/api/v1/targets", headers=admin)).json()["data"]["items"]
    path = f"/api/v1/targets/{target['id']}"
    cases = [
        ({"name": "web-2"}, "invalid", "body.name"),
        ({"credential": None}, "invalid_target", "ssh targets need a credential"),
        ({"connection": {"port": 0}}, "invalid_target", "body.connection.port"),
        ({"connection": {"type": "api"}}, "invalid_target", "body.connection.url: Field required"),
        ({"credential": "env://SHIPYARD_SESSION_SECRET"}, "invalid_target", "own settings"),
    ]
    for patch, code, says in cases:
        answer = await api.patch(path, json=patch, headers=admin)
        assert answer.status_code == 422, (patch, answer.text)
        assert answer.json()["error"]["code"] == code
        assert says in answer.json()["error"]["message"], (patch, answer.text)
    kept = await api.get(path, headers=admin)
    assert kept.json()["data"] == target


CALLS: dict[str, tuple[str, str, dict[str, Any] | None, str]] = {
    "create": ("POST", "/api/v1/targets", COMMAND, "targets:create"),
    "list": ("GET", "/api/v1/targets", None, "targets:read"),
    "read": ("GET", "/api/v1/targets/1", None, "targets:read"),
    "change": ("PATCH", "/api/v1/targets/1", {"idempotent": True}, "targets:create"),
    "remove": ("DELETE", "/api/v1/targets/1", None, "targets:delete"),
    "test": ("POST", "/api/v1/targets/1/test", None, "targets:create"),
}


@pytest.mark.parametrize("role", ["deployer", "release-creator", "viewer"])
async def test_only_an_admin_may(
    api: httpx.AsyncClient, api_settings: Settings, admin: dict[str, str], role: str
) -> None:
    made = await api.post("/api/v1/targets", json=COMMAND, headers=admin)
    assert made.json()["data"]["id"] == 1
    headers = bearer(await make_token(api_settings, role, role, repositories=["acme/*"]))
    for call, (method, path, body, permission) in CALLS.items():
        answer = await api.request(method, path, json=body, headers=headers)
        assert answer.status_code == 403, (call, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "missing_permission"
        assert (
            f"the service account {role!r} lacks the permission {permission}" in (error["message"])
        )
    refused = await api.post(
        "/api/v1/service-accounts",
        json={
            "name": "sneaky",
            "roles": [role],
            "repositories": ["acme/*"],
            "permissions": [{"resource": "targets", "action": "read"}],
        },
        headers=admin,
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == (
        "targets:read is not given as an extra permission; only the role admin manages targets"
    )
    assert (await api.get("/api/v1/targets/1", headers=admin)).status_code == 200


async def test_a_command_target_is_tested(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    made = await api.post("/api/v1/targets", json=COMMAND, headers=admin)
    tested = await api.post(f"/api/v1/targets/{made.json()['data']['id']}/test", headers=admin)
    assert tested.status_code == 200, tested.text
    result = tested.json()["data"]
    assert result["target"] == "web-cmd"
    assert result["ok"] is True
    assert [(c["what"], c["ok"]) for c in result["checks"]] == [("sandbox", True), ("bash", True)]
    assert result["checks"][1]["detail"] == "`true` ran"
    missing = await api.post("/api/v1/targets/4242/test", headers=admin)
    assert missing.status_code == 404


async def test_a_workflow_target_with_no_one_repository_cannot_be_tested(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    flow = {
        "name": "flow",
        "connection": {"type": "workflow", "workflow": "deploy.yml"},
        "repositories": ["acme/*"],
    }
    made = await api.post("/api/v1/targets", json=flow, headers=admin)
    assert made.status_code == 201, made.text
    tested = await api.post(f"/api/v1/targets/{made.json()['data']['id']}/test", headers=admin)
    assert tested.status_code == 422
    assert tested.json()["error"]["code"] == "cannot_test"
    assert "there is no one repository to test it in" in tested.json()["error"]["message"]


async def test_references_are_resolved_to_test_and_never_answered_or_kept(
    api: httpx.AsyncClient, api_settings: Settings, admin: dict[str, str]
) -> None:
    async with receiving(token=TOKEN) as receiver:
        receiver.script("HEAD", "/v1/jobs", Answer(200))
        body = {
            "name": "web-api",
            "connection": {
                "type": "api",
                "url": receiver.url("/v1/jobs"),
                "headers": {"X-Deploy-Auth": "env://DEPLOY_API_AUTH"},
            },
            "credential": "env://DEPLOY_TOKEN",
            "repositories": ["acme/web"],
        }
        made = await api.post("/api/v1/targets", json=body, headers=admin)
        assert made.status_code == 201, made.text
        path = f"/api/v1/targets/{made.json()['data']['id']}"
        tested = await api.post(f"{path}/test", headers=admin)
    assert tested.status_code == 200, tested.text
    assert tested.json()["data"]["ok"] is True, tested.text
    [head] = receiver.requests("HEAD", "/v1/jobs")
    assert head.headers["authorization"] == f"Bearer {TOKEN}"
    assert head.headers["x-deploy-auth"] == AUTH

    answers = [made, tested, await api.get(path, headers=admin)]
    answers.append(await api.get("/api/v1/targets", headers=admin))
    stored = await everything(api_settings)
    assert "env://DEPLOY_API_AUTH" in stored
    for text in [answer.text for answer in answers] + [stored]:
        for value in (TOKEN, AUTH, "5e4d3c2b1a", "9f8e7d6c5b4a"):
            assert value not in text


async def test_the_document_describes_the_targets(api: httpx.AsyncClient) -> None:
    document = (await api.get("/api/v1/openapi.json")).json()
    operations = {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if path.startswith("/api/v1/targets")
    }
    assert {key: operation["operationId"] for key, operation in operations.items()} == {
        ("POST", "/api/v1/targets"): "createTarget",
        ("GET", "/api/v1/targets"): "listTargets",
        ("GET", "/api/v1/targets/{targetId}"): "getTarget",
        ("PATCH", "/api/v1/targets/{targetId}"): "updateTarget",
        ("DELETE", "/api/v1/targets/{targetId}"): "deleteTarget",
        ("POST", "/api/v1/targets/{targetId}/test"): "testTarget",
    }
    for key, operation in operations.items():
        assert {"401", "403"} <= set(operation["responses"]), key
    assert "409" in operations[("POST", "/api/v1/targets")]["responses"]
    schemas = document["components"]["schemas"]
    assert set(schemas["TargetCreate"]["required"]) == {"name", "connection", "repositories"}
    assert set(schemas["SshConnectionIn"]["properties"]) == {
        "type", "host", "port", "user", "workdir", "knownHost", "hostKeyFingerprint"
    }  # fmt: skip
