"""Durable deliveries and steps: what each delivery's handlers finished, when it was last
handed to the queue, and which worker process holds a running step.

`handled` lists the handlers that finished for a delivery, so a retry runs only the others;
`queued_at` lets a sweep find a delivery whose job the queue lost; `owner` says which worker
process (host and pid) runs a step's current attempt, so a take-over can make sure it is gone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column("handled", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("step_runs") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("step_runs") as batch:
        batch.drop_column("owner")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("queued_at")
        batch.drop_column("handled")
