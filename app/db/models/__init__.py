"""Shipyard's tables, one module per feature. Importing this package registers them all on
`SQLModel.metadata` (what the migrations are checked against)."""

from app.db.models import (
    accounts,
    deliveries,
    deployments,
    integrations,
    locks,
    pipelines,
    releases,
    secrets,
)

__all__ = [
    "accounts",
    "deliveries",
    "deployments",
    "integrations",
    "locks",
    "pipelines",
    "releases",
    "secrets",
]
