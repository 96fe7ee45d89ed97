"""Installation ids as BIGINT: GitHub's ids pass 2**31, which an INTEGER cannot hold on
PostgreSQL. Pull request numbers stay INTEGER; normalisation refuses one past 2**31-1.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_runs") as batch:
        batch.alter_column(
            "installation_id", type_=sa.BigInteger(), existing_type=sa.Integer(), nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("pipeline_runs") as batch:
        batch.alter_column(
            "installation_id", type_=sa.Integer(), existing_type=sa.BigInteger(), nullable=True
        )
