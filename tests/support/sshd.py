"""A real OpenSSH server for tests: Debian's /usr/sbin/sshd with Debian's own sshd_config,
on a free loopback port, with a host key and a user key made for it in a directory of its own.

The config file is never changed; only `-o` overrides name what a test server must have of its
own (`OVERRIDES`). It logs in the current user (root here: Debian's `PermitRootLogin
prohibit-password` allows a key) with the key in `key_path`.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.http import free_port
from tests.support.processes import descendants, still_running
from tests.support.services import IN_CI

SSHD = Path("/usr/sbin/sshd")
CONFIG = Path("/etc/ssh/sshd_config")
PRIVSEP_DIR = Path("/run/sshd")  # sshd refuses to start without it (Debian's unit makes it)


@dataclass
class Sshd:
    """A running server, and what a target needs to reach it."""

    host: str
    port: int
    user: str
    key_path: Path  # the user's private key (in authorized_keys)
    host_public_key: str  # "ssh-ed25519 AAAA…", a known_hosts line without the host
    host_fingerprint: str  # "SHA256:…", as `ssh-keygen -lf` prints it
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def log_path(self) -> Path:
        return self.directory / "sshd.log"

    def work_dir(self, name: str) -> Path:
        """A target's work dir (absolute, not made: deploying makes it)."""
        return self.directory / "targets" / name

    def logins(self) -> int:
        """How many logins the server accepted so far (its "Accepted publickey" lines)."""
        return self.log_path.read_text().count("Accepted publickey for ")

    def logouts(self) -> int:
        """How many logged-in connections have ended so far."""
        return self.log_path.read_text().count("Disconnected from user ")


def overrides(directory: Path, port: int) -> list[str]:
    """The `-o` options a test server needs over Debian's config: its own port, address, keys
    and pid file. StrictModes is off because the keys lie under /tmp, which everyone may write
    to (sshd would refuse an authorized_keys file below it)."""
    options = {
        "Port": str(port),
        "ListenAddress": "127.0.0.1",
        "HostKey": str(directory / "host_ed25519"),
        "AuthorizedKeysFile": str(directory / "authorized_keys"),
        "PidFile": str(directory / "sshd.pid"),
        "StrictModes": "no",
    }
    return [arg for name, value in options.items() for arg in ("-o", f"{name}={value}")]


def effective_config(directory: Path, port: int) -> list[tuple[str, str]]:
    """What the test server runs with (`sshd -T` with the same config and overrides)."""
    text = subprocess.run(
        [str(SSHD), "-T", "-f", str(CONFIG), *overrides(directory, port)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [(name, value) for name, _, value in (line.partition(" ") for line in text.splitlines())]


def require_sshd() -> None:
    """Skip without sshd and ssh-keygen, except in CI, where their absence fails the test."""
    if SSHD.exists() and shutil.which("ssh-keygen") is not None:
        return
    message = f"{SSHD} or ssh-keygen is not installed (apt-get install openssh-server)"
    if IN_CI:
        pytest.fail(f"{message}; CI must run this test")
    pytest.skip(message)


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
    )


def fingerprint(public_key_path: Path) -> str:
    """The key's `SHA256:…` fingerprint, from `ssh-keygen -lf`."""
    out = subprocess.run(
        ["ssh-keygen", "-lf", str(public_key_path)], capture_output=True, text=True, check=True
    ).stdout
    return out.split()[1]


def another_host_key(directory: Path) -> tuple[str, str]:
    """A host key no server here has: (its known_hosts line without the host, fingerprint)."""
    path = directory / "other_host_ed25519"
    _keygen(path, "other")
    public = path.with_suffix(".pub")
    return " ".join(public.read_text().split()[:2]), fingerprint(public)


def another_user_key(directory: Path) -> Path:
    """A private key the server does not accept."""
    path = directory / "stranger_ed25519"
    _keygen(path, "stranger")
    return path


def _wait_for_banner(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    for _ in range(1000):  # 10 s
        if process.poll() is not None:
            raise AssertionError(f"sshd exited ({process.returncode}): {log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.settimeout(5)
            if s.recv(4).startswith(b"SSH-"):
                return
        time.sleep(0.01)
    raise AssertionError(f"sshd did not answer on port {port}: {log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """The server, and what its connections left running (their sessions set up their own)."""
    left = descendants(process.pid)
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    for pid, _ in still_running(left):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running_sshd() -> Iterator[Sshd]:
    """A started `Sshd` in a temporary directory; stopped and removed afterwards."""
    require_sshd()
    directory = Path(tempfile.mkdtemp(prefix="shipyard-sshd-"))
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    _keygen(directory / "host_ed25519", "host")
    _keygen(directory / "user_ed25519", "user")
    shutil.copy(directory / "user_ed25519.pub", directory / "authorized_keys")
    port = free_port()
    with (directory / "sshd.log").open("wb") as log:
        process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(CONFIG), *overrides(directory, port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    host_public = directory / "host_ed25519.pub"
    server = Sshd(
        host="127.0.0.1",
        port=port,
        user=getpass.getuser(),
        key_path=directory / "user_ed25519",
        host_public_key=" ".join(host_public.read_text().split()[:2]),
        host_fingerprint=fingerprint(host_public),
        directory=directory,
        process=process,
    )
    try:
        _wait_for_banner(process, port, server.log_path)
        yield server
    finally:
        _stop(process)
        shutil.rmtree(directory, ignore_errors=True)
