"""Alembic migrations: the schema, versioned from the first table."""
