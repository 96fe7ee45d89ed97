"""SSH connections to deploy targets: opened with the target's key after its host key is
verified (never trusted on first use). `ssh_pool` keeps them, one per job and target."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from app.deployments.executors.base import DeployFailed, TargetInfo
from app.deployments.executors.sshlib import asyncssh, get_default_public_key_algs
from app.deployments.targets.spec import SshConnection
from steps.secret_refs import SecretError

__all__ = [
    "CONNECT_TIMEOUT",
    "ConnectFailed",
    "open_connection",
    "ssh_connection",
]

CONNECT_TIMEOUT = 15.0  # seconds to reach the host, agree on keys and log in
_KEEPALIVE_SECONDS = 30.0  # a host that stops answering is noticed (3 missed: closed)

Stage = Literal["credential", "connect", "host key", "authenticate"]
Resolve = Callable[[str], Awaitable[str]]


class ConnectFailed(DeployFailed):
    """No connection: `stage` says which step failed (the credential, reaching the host,
    its host key, or logging in); the message says why, and never holds a secret."""

    def __init__(self, stage: Stage, message: str) -> None:
        super().__init__(message)
        self.stage = stage


def ssh_connection(target: TargetInfo) -> SshConnection:
    """The target's SSH connection; DeployFailed for a target of another type."""
    if not isinstance(target.connection, SshConnection):
        raise DeployFailed(f"target {target.name} is a {target.type} target, not an ssh one")
    return target.connection


async def open_connection(
    target: TargetInfo, resolve: Resolve, *, connect_seconds: float = CONNECT_TIMEOUT
) -> asyncssh.SSHClientConnection:
    """A connection to `target`, logged in with its key, its host key verified first."""
    ssh = ssh_connection(target)
    key = await _private_key(target, resolve)
    checker = _HostKeyCheck(ssh)
    where = f"{ssh.host}:{ssh.port}"
    try:
        return await asyncssh.connect(
            ssh.host,
            ssh.port,
            username=ssh.user,
            client_keys=[key],
            client_factory=lambda: checker,
            known_hosts=checker.known_hosts(),
            server_host_key_algs=checker.host_key_algorithms(),
            x509_trusted_certs=None,
            config=[],  # nothing from the worker's ~/.ssh/config
            agent_path=None,  # nor its ssh-agent's keys
            password=None,
            kbdint_auth=False,
            gss_auth=False,
            gss_kex=False,
            host_based_auth=False,
            connect_timeout=connect_seconds,
            keepalive_interval=_KEEPALIVE_SECONDS,
        )
    except asyncssh.HostKeyNotVerifiable as error:
        raise ConnectFailed("host key", checker.refusal(where, error)) from None
    except asyncssh.PermissionDenied:
        raise ConnectFailed(
            "authenticate",
            f"{where} refused the target's key for user {ssh.user}: check that its public key "
            f"is in {ssh.user}'s authorized_keys on the host",
        ) from None
    except TimeoutError:
        raise ConnectFailed(
            "connect", f"could not connect to {where}: no answer within {connect_seconds:g}s"
        ) from None
    except asyncssh.DisconnectError as error:
        raise ConnectFailed("connect", f"could not connect to {where}: {error.reason}") from None
    except OSError as error:
        raise ConnectFailed(
            "connect", f"could not connect to {where}: {error.strerror or error}"
        ) from None


async def _private_key(target: TargetInfo, resolve: Resolve) -> asyncssh.SSHKey:
    if target.credential is None:
        raise ConnectFailed(
            "credential",
            f"target {target.name} has no credential: register it with the private key "
            "(file:///path/to/key or env://VAR holding it)",
        )
    try:
        text = await resolve(target.credential)
    except SecretError as error:
        raise ConnectFailed("credential", f"target {target.name}'s credential: {error}") from None
    try:
        return asyncssh.import_private_key(text)
    except (asyncssh.KeyImportError, ValueError) as error:
        raise ConnectFailed(
            "credential",
            f"target {target.name}'s credential {target.credential} is not a private key "
            f"Shipyard can read ({error}); give an unencrypted OpenSSH or PEM private key",
        ) from None


class _HostKeyCheck(asyncssh.SSHClient):
    """Accepts the one host key the target names, by key or by SHA256 fingerprint, and keeps
    the key a refused server offered, to say which it was."""

    def __init__(self, ssh: SshConnection) -> None:
        self._ssh = ssh
        self._offered: asyncssh.SSHKey | None = None

    def known_hosts(self) -> asyncssh.SSHKnownHosts:
        """The key the target names, or none (then every key comes to the fingerprint)."""
        line = "" if self._ssh.known_host is None else f"* {self._ssh.known_host}\n"
        return asyncssh.import_known_hosts(line)

    def host_key_algorithms(self) -> list[str] | tuple[()]:
        """asyncssh's own choice (the named key's algorithms) with a known_host; plain keys
        with a fingerprint, so that a host with a certificate shows the key itself."""
        if self._ssh.known_host is not None:
            return ()
        return [algorithm.decode() for algorithm in get_default_public_key_algs()]

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        self._offered = key
        expected = self._ssh.host_key_fingerprint
        return expected is not None and _fingerprint(key) == expected.rstrip("=")

    def refusal(self, where: str, error: asyncssh.HostKeyNotVerifiable) -> str:
        if self._offered is None:
            return f"the host key of {where} could not be verified: {error.reason}"
        offered = f"{self._offered.get_algorithm()} {_fingerprint(self._offered)}"
        return (
            f"the host key of {where} is not the target's: the server offered {offered}, "
            f"expected {self._expected()}. If the host's key was changed on purpose, update the "
            "target's known_host or host_key_fingerprint; otherwise something may be "
            "intercepting the connection"
        )

    def _expected(self) -> str:
        if self._ssh.known_host is None:
            return str(self._ssh.host_key_fingerprint)
        key = asyncssh.import_public_key(self._ssh.known_host)
        return f"{key.get_algorithm()} {_fingerprint(key)}"


def _fingerprint(key: asyncssh.SSHKey) -> str:
    """`SHA256:…` as `ssh-keygen -lf` prints it (no base64 padding)."""
    return key.get_fingerprint("sha256").rstrip("=")
