"""The key session cookies are signed with: SHIPYARD_SESSION_SECRET, or one generated once into
`<SHIPYARD_DATA_DIR>/session-secret` (mode 0600) and reused by every later start."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from app.settings import Settings

__all__ = ["SECRET_FILE", "SessionSecretError", "session_key", "stored_secret"]

SECRET_FILE = "session-secret"  # noqa: S105  (a file name)
_MIN_LENGTH = 16


class SessionSecretError(RuntimeError):
    """The session secret can be neither read nor made: says which file and what to do."""


def session_key(settings: Settings) -> bytes:
    """The signing key, derived from the secret (so the secret itself signs nothing)."""
    given = settings.session_secret.get_secret_value() if settings.session_secret else ""
    secret = given or stored_secret(Path(settings.data_dir))
    return hmac.new(secret.encode(), b"shipyard pages session v1", hashlib.sha256).digest()


def stored_secret(data_dir: Path) -> str:
    """The secret in `data_dir/session-secret`, made there first if there is none. It is
    written under a temporary name created with O_CREAT|O_EXCL and mode 0600, then linked
    into place, so a second process starting at the same moment reads the whole of the one
    secret that won, never a half-written file."""
    path = data_dir / SECRET_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _create(path, secrets.token_urlsafe(48))
        secret = path.read_text().strip()
    except OSError as error:
        raise SessionSecretError(
            f"cannot read or create the session secret {path} ({error.strerror or error}); "
            "set SHIPYARD_SESSION_SECRET, or make SHIPYARD_DATA_DIR writable"
        ) from None
    if len(secret) < _MIN_LENGTH:
        raise SessionSecretError(
            f"the session secret in {path} is shorter than {_MIN_LENGTH} characters; delete "
            "the file to have a new one made (everyone signs in again), or set "
            "SHIPYARD_SESSION_SECRET"
        )
    return secret


def _create(path: Path, secret: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(secret + "\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
