"""The registries Shipyard signs in to: a host and a server-side credential reference each
(`shipyard registries add HOST --credential env://…`), never a value in the database."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select

from app.db.engine import SessionFactory
from app.db.models.releases import RegistryCredential
from app.releases.registry import RegistryClient
from app.releases.registry import RegistryCredential as Credential
from app.services import Services
from steps.secret_refs import SecretError

__all__ = ["add_registry", "list_registries", "registry_client", "remove_registry"]


class RegistryExists(ValueError):
    pass


async def add_registry(
    sessions: SessionFactory, host: str, credential: str | None, *, plain_http: bool = False
) -> RegistryCredential:
    row = RegistryCredential(host=host.lower(), credential=credential, plain_http=plain_http)
    async with sessions() as session:
        session.add(row)
        try:
            await session.commit()
        except IntegrityError:
            raise RegistryExists(f"registry {host} is already added") from None
        await session.refresh(row)
    return row


async def list_registries(sessions: SessionFactory) -> list[RegistryCredential]:
    async with sessions() as session:
        query = select(RegistryCredential).order_by(col(RegistryCredential.host))
        return list((await session.exec(query)).all())


async def remove_registry(sessions: SessionFactory, host: str) -> bool:
    async with sessions() as session:
        result = await session.exec(
            delete(RegistryCredential).where(col(RegistryCredential.host) == host.lower())
        )
        await session.commit()
        return bool(result.rowcount)


async def registry_client(services: Services) -> RegistryClient:
    """A client for every registry, signing in where the server has a credential for it."""
    rows = {row.host: row for row in await list_registries(services.sessions)}
    resolver = services.secrets.for_server(services.mask.child())
    resolved: dict[str, Credential] = {}

    async def credential(host: str) -> Credential | None:
        row = rows.get(host.lower())
        if row is None or not row.credential:
            return None
        if row.host not in resolved:
            try:
                resolved[row.host] = Credential.parse(await resolver.resolve(row.credential))
            except SecretError as error:
                raise LookupError(f"registry {host}: its credential: {error}") from None
        return resolved[row.host]

    plain = frozenset(host for host, row in rows.items() if row.plain_http)
    return RegistryClient(services.http, credential, plain_http_hosts=plain)
