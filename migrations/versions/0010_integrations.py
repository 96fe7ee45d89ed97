"""The integration hub: registered integrations; the registries added before become
`docker-registry` integrations (nothing lost: host, credential reference, plain http); each
integration's health checks, scheduled (`integration_checks`), the existing ones due at once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


_integrations = sa.table(
    "integrations",
    sa.column("name", sa.String),
    sa.column("type", sa.String),
    sa.column("provider", sa.String),
    sa.column("description", sa.String),
    sa.column("config", sa.JSON),
    sa.column("credential_ref", sa.String),
    sa.column("labels", sa.JSON),
    sa.column("repositories", sa.JSON),
    sa.column("health", sa.String),
    sa.column("checks", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_registries = sa.table(
    "registry_credentials",
    sa.column("host", sa.String),
    sa.column("credential", sa.String),
    sa.column("plain_http", sa.Boolean),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def registry_name(host: str) -> str:
    """An integration name for a registry host: `localhost:5000` → `localhost-5000`."""
    return re.sub(r"[^a-z0-9._-]", "-", host.lower())[:100]


def _scheme(host: str, plain_http: bool) -> str:
    """What the registry was spoken to over: plain http when asked, or on loopback (as Docker
    does without being told)."""
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    loopback = name in ("localhost", "[::1]") or re.fullmatch(r"127(\.\d{1,3}){3}", name)
    return "http" if plain_http or loopback else "https"


def upgrade() -> None:
    op.create_table(
        "integrations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("credential_ref", sa.String(length=500), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("repositories", sa.JSON(), nullable=False),
        sa.Column("health", sa.String(length=16), nullable=False),
        _when("health_checked_at"),
        sa.Column("health_latency_ms", sa.Float(), nullable=True),
        sa.Column("health_message", sa.String(length=500), nullable=True),
        sa.Column("checks", sa.JSON(), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        sa.UniqueConstraint("name", name="uq_integrations_name"),
    )
    bind = op.get_bind()
    now = datetime.now(UTC)
    rows = bind.execute(sa.select(_registries)).mappings().all()
    if rows:
        op.bulk_insert(
            _integrations,
            [
                {
                    "name": registry_name(row["host"]),
                    "type": "registry",
                    "provider": "docker-registry",
                    "description": f"registry {row['host']} (added with `shipyard registries add`)",
                    "config": {
                        "endpoint": f"{_scheme(row['host'], row['plain_http'])}://{row['host']}"
                    },
                    "credential_ref": row["credential"],
                    "labels": {},
                    "repositories": [],
                    "health": "unknown",
                    "checks": {},
                    "created_at": row["created_at"] or now,
                    "updated_at": now,
                }
                for row in rows
            ],
        )
    op.drop_table("registry_credentials")
    _create_checks()


CHECK_LEVELS = ("connectivity", "authentication", "functionality")


def _create_checks() -> None:
    """The monitor's schedule: one row per (integration, check level), due now for those
    there are."""
    op.create_table(
        "integration_checks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "integration_id",
            sa.Integer(),
            sa.ForeignKey("integrations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("level", sa.String(length=16), nullable=False),
        _when("due_at", nullable=False),
        sa.UniqueConstraint("integration_id", "level", name="uq_integration_checks_level"),
    )
    op.create_index("ix_integration_checks_due", "integration_checks", ["level", "due_at"])
    checks = sa.table(
        "integration_checks",
        sa.column("integration_id", sa.Integer),
        sa.column("level", sa.String),
        sa.column("due_at", sa.DateTime(timezone=True)),
    )
    ids = op.get_bind().execute(sa.text("SELECT id FROM integrations")).scalars().all()
    now = datetime.now(UTC)
    if ids:
        op.bulk_insert(
            checks,
            [
                {"integration_id": i, "level": level, "due_at": now}
                for i in ids
                for level in CHECK_LEVELS
            ],
        )


def downgrade() -> None:
    op.drop_table("integration_checks")
    op.create_table(
        "registry_credentials",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("credential", sa.String(length=500), nullable=True),
        sa.Column("plain_http", sa.Boolean(), nullable=False),
        _when("created_at"),
        sa.UniqueConstraint("host", name="uq_registry_credentials_host"),
    )
    bind = op.get_bind()
    query = sa.select(_integrations).where(_integrations.c.provider == "docker-registry")
    rows = bind.execute(query).mappings().all()
    registries = []
    for row in rows:
        endpoint = str((row["config"] or {}).get("endpoint") or "")
        scheme, _, host = endpoint.partition("://")
        if host:
            registries.append(
                {
                    "host": host.split("/", 1)[0],
                    "credential": row["credential_ref"],
                    "plain_http": scheme == "http",
                    "created_at": row["created_at"],
                }
            )
    if registries:
        op.bulk_insert(_registries, registries)
    op.drop_table("integrations")
