"""The registered integrations, in the `integrations` table: create, read, change, remove, and
record their health. What the CLI, the API, the monitor and the hub call.

A config is validated by its provider's model before it is stored; a credential (the
integration's own, or one inside its config) is kept as a server-side reference, checked to name
nothing of Shipyard's own, and resolved only when a call needs it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.accounts.roles import allowed_repository
from app.db.engine import SessionFactory
from app.db.models.base import as_utc, utcnow
from app.db.models.integrations import IntegrationRow
from app.integrations.catalogue import ProviderUnavailable, spec_for
from app.integrations.connector import SERVER_REFERENCE_SCHEMES, ProviderConfig
from app.integrations.errors import IntegrationError
from app.integrations.kinds import (
    CHECK_LEVELS,
    INTEGRATION_TYPES,
    CheckLevel,
    Health,
    IntegrationType,
)
from app.integrations.model import CheckResult, Integration, health_of
from app.integrations.spec import ProviderSpec
from app.secrets.definitions import check_source
from app.settings import Settings
from steps.secret_refs import SecretError, parse_reference

__all__ = [
    "IntegrationExists",
    "IntegrationKey",
    "InvalidIntegration",
    "allows",
    "create_integration",
    "delete_integration",
    "get_integration",
    "list_integrations",
    "record_checks",
    "update_integration",
    "validate_config",
]

IntegrationKey = int | str
"""An integration by its id (an int) or its name (a str)."""

REPOSITORY_HOSTS = ("github", "gitlab", "gitea", "forgejo")
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
_LABEL_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,62}")


class InvalidIntegration(ValueError):
    """What is wrong with an integration's fields, every problem on its own line."""


class IntegrationExists(ValueError):
    pass


def _integration(row: IntegrationRow) -> Integration:
    assert row.id is not None
    return Integration(
        id=row.id,
        name=row.name,
        type=cast(IntegrationType, row.type),
        provider=row.provider,
        description=row.description,
        config=dict(row.config),
        credential_ref=row.credential_ref,
        labels=dict(row.labels),
        repositories=tuple(row.repositories),
        health=cast(Health, row.health),
        health_checked_at=as_utc(row.health_checked_at),
        health_latency_ms=row.health_latency_ms,
        health_message=row.health_message,
        checks=dict(row.checks),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def validate_config(spec: ProviderSpec, config: Mapping[str, Any]) -> ProviderConfig:
    """`config` read by the provider's model, or InvalidIntegration naming each bad key."""
    try:
        return spec.config.model_validate(dict(config))
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            where = ".".join(["config", *(str(part) for part in problem["loc"])])
            message = str(problem["msg"]).removeprefix("Value error, ")
            if problem["type"] == "extra_forbidden":
                known = ", ".join(sorted(spec.config.model_fields))
                message = f"{spec.name} has no such setting (it has: {known})"
            problems.append(f"{where}: {message}")
        raise InvalidIntegration("\n".join(problems)) from None


async def _check_credential(
    sessions: SessionFactory, settings: Settings, spec: ProviderSpec, reference: str
) -> None:
    try:
        ref = parse_reference(reference, allowed=SERVER_REFERENCE_SCHEMES)
        check_source(reference, settings)
    except SecretError as error:
        raise InvalidIntegration(f"credential: {error}") from None
    if ref.scheme != "vault":
        return
    if spec.type == "secrets":
        raise InvalidIntegration(
            "credential: a secret store's own credential cannot come from a secret store; "
            "give env://VAR or file:///path"
        )
    async with sessions() as session:
        row = (
            await session.exec(select(IntegrationRow).where(IntegrationRow.name == ref.integration))
        ).first()
    if row is None or row.type != "secrets":
        raise InvalidIntegration(
            f"credential: {ref} names no secrets integration {ref.integration!r} "
            "(add it first: shipyard integrations create --type secrets …)"
        )


def _repositories(globs: Sequence[str]) -> list[str]:
    """The repository globs an integration is granted to, checked: `acme/*` (any host) or
    `gitlab:group/**` (one host)."""
    problems, kept = [], []
    for glob in globs:
        host, colon, pattern = str(glob).strip().partition(":")
        if not colon:
            host, pattern = "", host
        if (colon and host not in REPOSITORY_HOSTS) or "/" not in pattern or len(glob) > 300:
            problems.append(
                f"repositories: {glob!r} is not a repository glob (acme/* on any host, or "
                f"gitlab:group/** on one of {', '.join(REPOSITORY_HOSTS)})"
            )
        kept.append(str(glob).strip())
    if problems:
        raise InvalidIntegration("\n".join(problems))
    return kept


def allows(integration: Integration, provider: str, repository: str) -> bool:
    """Whether `provider`'s `repository` may name `integration` in its config."""
    return allowed_repository((), integration.repositories, provider, repository)


def _check_fields(name: str, labels: Mapping[str, str], description: str) -> None:
    problems = []
    if not NAME.fullmatch(name):
        problems.append(
            f"name {name!r}: use lower-case letters, digits, '.', '_' and '-' "
            "(at most 100, starting with a letter or digit)"
        )
    for key, value in labels.items():
        if not _LABEL_KEY.fullmatch(str(key)) or not isinstance(value, str) or len(value) > 200:
            problems.append(f"label {key!r}: a key of letters, digits, . _ / - and a text value")
    if len(description) > 500:
        problems.append("description: at most 500 characters")
    if problems:
        raise InvalidIntegration("\n".join(problems))


async def create_integration(
    sessions: SessionFactory,
    settings: Settings,
    catalogue: Mapping[str, ProviderSpec],
    *,
    name: str,
    type: str,
    provider: str,
    config: Mapping[str, Any],
    credential_ref: str | None = None,
    description: str = "",
    labels: Mapping[str, str] | None = None,
    repositories: Sequence[str] = (),
) -> Integration:
    if type not in INTEGRATION_TYPES:
        raise InvalidIntegration(f"type {type!r}: one of {', '.join(INTEGRATION_TYPES)}")
    try:
        spec = spec_for(catalogue, provider)
    except ProviderUnavailable as error:
        raise InvalidIntegration(str(error)) from None
    if spec.type != type:
        raise InvalidIntegration(f"provider {provider} is a {spec.type} provider, not {type}")
    labels = dict(labels or {})
    _check_fields(name, labels, description)
    checked = validate_config(spec, config)
    if credential_ref:
        await _check_credential(sessions, settings, spec, credential_ref)
    row = IntegrationRow(
        name=name,
        type=type,
        provider=provider,
        description=description,
        config=checked.model_dump(mode="json", exclude_none=True),
        credential_ref=credential_ref or None,
        labels=labels,
        repositories=_repositories(repositories),
    )
    async with sessions() as session:
        session.add(row)
        try:
            await session.commit()
        except IntegrityError:
            raise IntegrationExists(f"there is already an integration named {name}") from None
        await session.refresh(row)
    return _integration(row)


async def _row(session: Any, key: IntegrationKey) -> IntegrationRow:
    column = col(IntegrationRow.id) if isinstance(key, int) else col(IntegrationRow.name)
    row: IntegrationRow | None = (
        await session.exec(select(IntegrationRow).where(column == key))
    ).first()
    if row is None:
        raise IntegrationError("INTEGRATION_NOT_FOUND", f"there is no integration {key!r}")
    return row


async def get_integration(sessions: SessionFactory, key: IntegrationKey) -> Integration:
    """The integration `key` names, or IntegrationError INTEGRATION_NOT_FOUND."""
    async with sessions() as session:
        return _integration(await _row(session, key))


async def list_integrations(
    sessions: SessionFactory,
    *,
    type: str | None = None,
    provider: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[Integration]:
    query = select(IntegrationRow).order_by(col(IntegrationRow.name))
    if type is not None:
        query = query.where(IntegrationRow.type == type)
    if provider is not None:
        query = query.where(IntegrationRow.provider == provider)
    async with sessions() as session:
        rows = (await session.exec(query)).all()
    found = [_integration(row) for row in rows]
    wanted = dict(labels or {})
    return [i for i in found if all(i.labels.get(k) == v for k, v in wanted.items())]


UPDATABLE = frozenset({"description", "config", "credential_ref", "labels", "repositories"})


async def update_integration(
    sessions: SessionFactory,
    settings: Settings,
    catalogue: Mapping[str, ProviderSpec],
    key: IntegrationKey,
    changes: Mapping[str, Any],
) -> Integration:
    """Change what `changes` names (description, config — merged key by key, a None removing
    one — credential_ref, labels); the provider and type stay."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise InvalidIntegration(
            f"cannot change {', '.join(sorted(unknown))} (only {', '.join(sorted(UPDATABLE))})"
        )
    async with sessions() as session:
        row = await _row(session, key)
        try:
            spec = spec_for(catalogue, row.provider)
        except ProviderUnavailable as error:
            raise InvalidIntegration(str(error)) from None
        description = changes.get("description", row.description)
        labels = dict(changes.get("labels", row.labels) or {})
        _check_fields(row.name, labels, description or "")
        if "config" in changes:
            merged = {**row.config, **dict(changes["config"] or {})}
            merged = {k: v for k, v in merged.items() if v is not None}
            row.config = validate_config(spec, merged).model_dump(mode="json", exclude_none=True)
        if "credential_ref" in changes:
            reference = changes["credential_ref"] or None
            if reference:
                await _check_credential(sessions, settings, spec, reference)
            row.credential_ref = reference
        row.description = description or ""
        row.labels = labels
        if "repositories" in changes:
            row.repositories = _repositories(changes["repositories"] or ())
        row.updated_at = utcnow()
        session.add(row)
        await session.commit()
        await session.refresh(row)
        return _integration(row)


async def delete_integration(sessions: SessionFactory, key: IntegrationKey) -> Integration:
    async with sessions() as session:
        row = await _row(session, key)
        gone = _integration(row)
        await session.delete(row)
        await session.commit()
        return gone


async def record_checks(
    sessions: SessionFactory,
    integration_id: int,
    results: Mapping[CheckLevel, CheckResult],
    *,
    at: datetime | None = None,
) -> Integration | None:
    """Store the latest result of each level checked (others keep theirs) and the health they
    add up to. None when the integration was removed meanwhile."""
    at = at or utcnow()
    async with sessions() as session:
        # Locked while merged: checks of other levels may be storing theirs at the same time.
        row = await session.get(IntegrationRow, integration_id, with_for_update=True)
        if row is None:
            return None
        checks = dict(row.checks)
        for level, result in results.items():
            checks[level] = {**result.as_json(), "checkedAt": at.isoformat()}
        latest = {
            level: CheckResult(level, bool(c["success"]), float(c["latencyMs"]), str(c["message"]))
            for level in CHECK_LEVELS
            if (c := checks.get(level)) is not None
        }
        row.checks = checks
        row.health = health_of(latest)
        row.health_checked_at = at
        failed = [r for r in results.values() if not r.ok]
        row.health_latency_ms = max((r.latency_ms for r in results.values()), default=None)
        row.health_message = (failed[0].message if failed else "ok")[:500]
        session.add(row)
        await session.commit()
        await session.refresh(row)
        return _integration(row)
