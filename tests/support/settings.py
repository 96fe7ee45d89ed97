"""Settings for tests: the webhook secrets every signed test delivery uses, nothing else from
the environment file."""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Any

from app.settings import Settings
from steps.sandbox import find_tools
from tests.support.services import IN_CI

SECRETS = {
    "GITHUB_WEBHOOK_SECRET": "github-test-secret",
    "GITLAB_WEBHOOK_SECRET": "gitlab-test-secret",
    "GITEA_WEBHOOK_SECRET": "gitea-test-secret",
}


# Steps run in the real sandbox wherever the machine has one, and always in CI (.ci/run installs
# it); a laptop without bubblewrap still runs the tests, its steps unsandboxed.
NO_SANDBOX_HERE = isinstance(find_tools(os.environ.get("PATH")), str) and not IN_CI


@functools.cache
def _shared_data_dir() -> str:
    """Where a test that names no data directory keeps workspaces: never the repository."""
    path = Path(tempfile.mkdtemp(prefix="shipyard-test-data-"))
    path.chmod(0o711)  # the sandbox's step user passes through to its workspace
    return str(path)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"DATABASE_URL": database_url, **SECRETS, **overrides}
    values.setdefault("SHIPYARD_DATA_DIR", _shared_data_dir())
    if NO_SANDBOX_HERE:
        values.setdefault("SHIPYARD_STEP_SANDBOX", "none")
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
