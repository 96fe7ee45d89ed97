"""Releases, the image → repository index, registry credentials, CI builds and service
accounts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("repository", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("commit_sha", sa.String(length=64), nullable=True),
        sa.Column("tag", sa.String(length=255), nullable=True),
        sa.Column("branch", sa.String(length=255), nullable=True),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_by_kind", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("delivery_pk", sa.Integer(), nullable=True),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("commits", sa.JSON(), nullable=False),
        sa.Column("commits_more", sa.Integer(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("announced", sa.Boolean(), nullable=False, server_default=sa.false()),
        _when("created_at"),
        _when("wait_until", nullable=True),
        _when("next_try_at", nullable=True),
        sa.UniqueConstraint("provider", "repository", "name", name="uq_releases_repository_name"),
    )
    op.create_index("ix_releases_repository_id", "releases", ["provider", "repository", "id"])
    op.create_index("ix_releases_state", "releases", ["state"])
    op.create_table(
        "repository_components",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("repository", sa.String(length=300), nullable=False),
        sa.Column("component", sa.String(length=100), nullable=False),
        sa.Column("image", sa.String(length=500), nullable=False),
        sa.Column("tag_template", sa.String(length=500), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        _when("updated_at"),
        sa.UniqueConstraint(
            "provider", "repository", "component", name="uq_repository_components_component"
        ),
    )
    op.create_index("ix_repository_components_image", "repository_components", ["image"])
    op.create_table(
        "registry_credentials",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("credential", sa.String(length=500), nullable=True),
        sa.Column("plain_http", sa.Boolean(), nullable=False),
        _when("created_at"),
        sa.UniqueConstraint("host", name="uq_registry_credentials_host"),
    )
    op.create_table(
        "ci_builds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("repository", sa.String(length=300), nullable=False),
        sa.Column("build_id", sa.String(length=200), nullable=False),
        sa.Column("integration_id", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=True),
        sa.Column("branch", sa.String(length=255), nullable=True),
        sa.Column("build_url", sa.String(length=2000), nullable=True),
        sa.Column("artifacts", sa.JSON(), nullable=False),
        sa.Column("test_results", sa.JSON(), nullable=True),
        sa.Column("reported_by", sa.String(length=200), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=True),
        _when("created_at"),
        sa.UniqueConstraint("provider", "repository", "build_id", name="uq_ci_builds_build"),
    )
    op.create_table(
        "service_accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("repositories", sa.JSON(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _when("created_at"),
        _when("expires_at", nullable=True),
        _when("revoked_at", nullable=True),
        _when("last_used_at", nullable=True),
        sa.UniqueConstraint("name", name="uq_service_accounts_name"),
        sa.UniqueConstraint("token_sha256", name="uq_service_accounts_token_sha256"),
    )


def downgrade() -> None:
    for table in (
        "service_accounts",
        "ci_builds",
        "registry_credentials",
        "repository_components",
        "releases",
    ):
        op.drop_table(table)
