"""The session secret: the setting when given, else one file made once, 0600, and reused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app.auth.secret import SECRET_FILE, SessionSecretError, session_key, stored_secret
from tests.support.settings import make_settings


def test_a_generated_secret_is_private_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = stored_secret(data_dir)
    path = data_dir / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert stored_secret(data_dir) == first
    assert [p.name for p in data_dir.iterdir()] == [SECRET_FILE]  # no temporary file left


def test_a_secret_another_process_made_first_wins(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_text("made-by-the-other-process-0123456789\n")
    assert stored_secret(tmp_path) == "made-by-the-other-process-0123456789"


def test_the_setting_is_used_and_no_file_is_made(tmp_path: Path) -> None:
    given = make_settings(
        "sqlite:///x.db", SHIPYARD_SESSION_SECRET="s" * 40, SHIPYARD_DATA_DIR=str(tmp_path)
    )
    made = make_settings("sqlite:///x.db", SHIPYARD_DATA_DIR=str(tmp_path))
    assert session_key(given) == session_key(given)
    assert list(tmp_path.iterdir()) == []
    assert session_key(made) != session_key(given)
    assert (tmp_path / SECRET_FILE).exists()
    assert session_key(made) == session_key(made)


def test_a_short_secret_file_or_an_unwritable_dir_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_text("short\n")
    with pytest.raises(SessionSecretError, match="delete the file"):
        stored_secret(tmp_path)
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(SessionSecretError, match="SHIPYARD_SESSION_SECRET"):
        stored_secret(blocked / "data")
    assert os.access(tmp_path, os.W_OK)
