"""Trust: secrets the server defines and grants; deliveries know their body's hash and
whether they were signed.

A body already stored for a provider is a duplicate whatever its delivery id (a replay),
kept unique by (provider, body_sha256). Rows stored before this revision get the hash of
their body; of several identical bodies only the first does (the others stay NULL, which
the unique index allows), so the index can be built on any existing data.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "secret_definitions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("repositories", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_secret_definitions_name"),
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("body_sha256", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("signed", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    _hash_stored_bodies()
    with op.batch_alter_table("deliveries") as batch:
        batch.create_unique_constraint(
            "uq_deliveries_provider_body_sha256", ["provider", "body_sha256"]
        )


def _hash_stored_bodies() -> None:
    connection = op.get_bind()
    deliveries = sa.table(
        "deliveries",
        sa.column("id", sa.Integer),
        sa.column("provider", sa.String),
        sa.column("body", sa.LargeBinary),
        sa.column("body_sha256", sa.String),
    )
    seen: set[tuple[str, str]] = set()
    rows = connection.execute(
        sa.select(deliveries.c.id, deliveries.c.provider, deliveries.c.body).order_by(
            deliveries.c.id
        )
    )
    for pk, provider, body in rows.fetchall():
        digest = hashlib.sha256(body).hexdigest()
        if (provider, digest) in seen:
            continue
        seen.add((provider, digest))
        connection.execute(
            sa.update(deliveries).where(deliveries.c.id == pk).values(body_sha256=digest)
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_deliveries_provider_body_sha256", type_="unique")
        batch.drop_column("signed")
        batch.drop_column("body_sha256")
    op.drop_table("secret_definitions")
