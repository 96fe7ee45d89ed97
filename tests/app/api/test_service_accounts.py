"""`/api/v1/service-accounts`: an admin makes an account (its token in that answer only),
lists them and revokes one, after which its token is refused."""

from __future__ import annotations

import httpx

from app.settings import Settings
from tests.support.api import bearer, make_token


async def test_an_admin_makes_lists_and_revokes_accounts(
    api: httpx.AsyncClient, api_settings: Settings
) -> None:
    admin = bearer(await make_token(api_settings, "root", "admin"))
    made = await api.post(
        "/api/v1/service-accounts",
        json={
            "name": "gitlab-ci",
            "description": "group pipelines",
            "roles": ["release-creator"],
            "permissions": [{"resource": "deployments", "action": "create"}],
            "repositories": ["gitlab:group/**"],
            "expiresIn": "90d",
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    account, token = made.json()["data"]["account"], made.json()["data"]["token"]
    assert account["name"] == "gitlab-ci"
    assert account["roles"] == ["release-creator"]
    assert account["permissions"] == [{"resource": "deployments", "action": "create"}]
    assert account["repositories"] == ["gitlab:group/**"]
    assert account["createdBy"] == "service account root"
    assert account["expiresAt"] is not None
    assert account["revokedAt"] is None
    assert "tokenSha256" not in account

    assert (await api.get("/api/v1/releases", headers=bearer(token))).status_code == 200
    listed = await api.get("/api/v1/service-accounts", headers=admin)
    assert [a["name"] for a in listed.json()["data"]["items"]] == ["root", "gitlab-ci"]
    assert listed.json()["data"]["items"][1]["lastUsedAt"] is not None
    assert token not in listed.text

    revoked = await api.delete(f"/api/v1/service-accounts/{account['id']}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["data"]["revokedAt"] is not None
    refused = await api.get("/api/v1/releases", headers=bearer(token))
    assert refused.status_code == 401
    assert "'gitlab-ci' is revoked" in refused.json()["error"]["message"]


async def test_what_an_admin_is_refused(api: httpx.AsyncClient, api_settings: Settings) -> None:
    admin = bearer(await make_token(api_settings, "root", "admin"))
    cases = [
        ({"name": "root", "roles": ["admin"]}, 409, "account_exists"),
        ({"name": "ci", "roles": ["viewer"]}, 422, "invalid_account"),
        ({"name": "ci", "roles": ["admin"], "expiresIn": "forever"}, 422, "invalid_account"),
        ({"name": "no spaces", "roles": ["admin"]}, 422, "invalid_account"),
        ({"name": "ci", "roles": ["owner"]}, 422, "invalid"),
        (
            {
                "name": "ci",
                "roles": ["viewer"],
                "repositories": ["acme/*"],
                "permissions": [{"resource": "service-accounts", "action": "create"}],
            },
            422,
            "invalid_account",
        ),
    ]
    for body, status, code in cases:
        answer = await api.post("/api/v1/service-accounts", json=body, headers=admin)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["error"]["code"] == code
    own = await api.get("/api/v1/service-accounts", headers=admin)
    root_id = own.json()["data"]["items"][0]["id"]
    itself = await api.delete(f"/api/v1/service-accounts/{root_id}", headers=admin)
    assert itself.status_code == 409
    assert itself.json()["error"]["code"] == "own_account"
    missing = await api.delete("/api/v1/service-accounts/4242", headers=admin)
    assert missing.status_code == 404
