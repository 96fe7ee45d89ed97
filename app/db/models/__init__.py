"""Shipyard's tables, one module per feature. Importing this package registers them all on
`SQLModel.metadata` (what the migrations are checked against)."""

from app.db.models import deliveries, pipelines, secrets

__all__ = ["deliveries", "pipelines", "secrets"]
