"""Every provider the hub knows, by name: those built (a config model and a connector) and those
the documents list that this version does not have, which `create` refuses saying so."""

from __future__ import annotations

from collections.abc import Mapping

from app.integrations import scm
from app.integrations.ci import hosts, jenkins
from app.integrations.metrics import prometheus
from app.integrations.notifications import email, opsgenie, pagerduty, slack, teams, webhook
from app.integrations.registries import docker_registry
from app.integrations.secrets import vault
from app.integrations.spec import ProviderSpec

__all__ = ["NOT_AVAILABLE", "ProviderUnavailable", "catalogue", "spec_for"]


class ProviderUnavailable(ValueError):
    pass


NOT_AVAILABLE: tuple[ProviderSpec, ...] = (
    ProviderSpec("ecr", "registry", "Amazon ECR"),
    ProviderSpec("gcr", "registry", "Google Artifact Registry / GCR"),
    ProviderSpec("acr", "registry", "Azure Container Registry"),
    ProviderSpec("circleci", "ci", "CircleCI"),
    ProviderSpec("teamcity", "ci", "TeamCity"),
    ProviderSpec("drone", "ci", "Drone"),
    ProviderSpec("azure-devops", "ci", "Azure DevOps Pipelines"),
    ProviderSpec("aws-secrets-manager", "secrets", "AWS Secrets Manager"),
    ProviderSpec("azure-key-vault", "secrets", "Azure Key Vault"),
    ProviderSpec("gcp-secret-manager", "secrets", "Google Secret Manager"),
    ProviderSpec("datadog", "metrics", "Datadog"),
    ProviderSpec("new-relic", "metrics", "New Relic"),
    ProviderSpec("dynatrace", "metrics", "Dynatrace"),
)


def _built() -> tuple[ProviderSpec, ...]:
    """The providers this version has, one module each (imported here, and only here)."""
    return (
        docker_registry.PROVIDER,
        jenkins.PROVIDER,
        *hosts.PROVIDERS,
        slack.PROVIDER,
        teams.PROVIDER,
        email.PROVIDER,
        webhook.PROVIDER,
        pagerduty.PROVIDER,
        opsgenie.PROVIDER,
        *scm.PROVIDERS,
        vault.PROVIDER,
        prometheus.PROVIDER,
    )


def catalogue() -> dict[str, ProviderSpec]:
    return {spec.name: spec for spec in (*_built(), *NOT_AVAILABLE)}


def spec_for(catalogue: Mapping[str, ProviderSpec], name: str) -> ProviderSpec:
    """The built provider `name`, or ProviderUnavailable saying what there is."""
    spec = catalogue.get(name)
    if spec is None:
        known = ", ".join(
            sorted(n for n, s in catalogue.items() if s.available and not s.test_only)
        )
        raise ProviderUnavailable(f"there is no integration provider {name!r} (there are: {known})")
    if not spec.available:
        raise ProviderUnavailable(
            f"provider {name!r} ({spec.title}) is not available in this version of Shipyard"
        )
    return spec
