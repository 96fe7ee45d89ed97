"""The `shipyard` command line: one module per command group, gathered here."""

from __future__ import annotations

import click

from app.cli import (
    components,
    config,
    db,
    deliveries,
    deployments,
    integrations,
    locks,
    receive,
    registries,
    releases,
    runs,
    secrets,
    serve,
    service_accounts,
    targets,
)

__all__ = ["main"]


@click.group()
@click.version_option(package_name="shipyard", prog_name="shipyard")
def main() -> None:
    """Shipyard: webhooks in; releases, pipelines and deployments out."""


for command in (
    serve.serve,
    serve.worker,
    db.db,
    deliveries.deliveries,
    receive.receive,
    config.config_group,
    runs.run_pipeline,
    runs.runs_group,
    secrets.secrets_group,
    releases.releases_group,
    registries.registries_group,
    components.components_group,
    service_accounts.service_accounts_group,
    targets.targets_group,
    integrations.integrations_group,
    deployments.deploy,
    deployments.rollback,
    deployments.deployments_group,
    deployments.environments,
    locks.locks_group,
):
    main.add_command(command)
