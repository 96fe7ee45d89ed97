"""`vault://` for the process's secret resolvers: a read through the hub's `secrets`
integrations, failing as the resolvers fail (SecretError), with the hub's code first."""

from __future__ import annotations

from app.integrations.errors import IntegrationError
from app.integrations.hub import Hub
from app.secrets.resolvers import ReadSecret
from steps.secret_refs import SecretError, SecretRef

__all__ = ["vault_reader"]


def vault_reader(hub: Hub) -> ReadSecret:
    """What `VaultSource.bind` takes: `hub.read_secret`, its IntegrationError (which names the
    reference, never a value) turned into SecretError "CREDENTIAL_FETCH_FAILED: …"."""

    async def read(ref: SecretRef) -> str:
        try:
            return await hub.read_secret(ref)
        except IntegrationError as error:
            if error.code == "CREDENTIAL_FETCH_FAILED":
                raise SecretError(str(error)) from None
            raise SecretError(f"CREDENTIAL_FETCH_FAILED: {ref}: {error}") from None

    return read
