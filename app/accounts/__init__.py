"""Service accounts: who may call the REST API, with which permissions, on which repositories.

`roles` and `tokens` are pure (the role → permission table, durations, token making and
hashing); `store` keeps accounts in the `service_accounts` table and authenticates a token.
The REST API and the `shipyard service-accounts` commands are both built on these functions.
"""

from __future__ import annotations

from app.accounts.roles import (
    ACTIONS,
    RESOURCES,
    ROLES,
    InvalidAccount,
    Permission,
    allowed_repository,
    parse_duration,
    parse_permission,
    permissions_of,
)
from app.accounts.store import (
    AccountExists,
    AccountNotFound,
    Caller,
    Unauthenticated,
    authenticate,
    create_account,
    list_accounts,
    revoke_account,
)
from app.accounts.tokens import TOKEN_PREFIX, hash_token, new_token

__all__ = [
    "ACTIONS",
    "RESOURCES",
    "ROLES",
    "TOKEN_PREFIX",
    "AccountExists",
    "AccountNotFound",
    "Caller",
    "InvalidAccount",
    "Permission",
    "Unauthenticated",
    "allowed_repository",
    "authenticate",
    "create_account",
    "hash_token",
    "list_accounts",
    "new_token",
    "parse_duration",
    "parse_permission",
    "permissions_of",
    "revoke_account",
]
