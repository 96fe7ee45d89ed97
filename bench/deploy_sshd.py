"""The real OpenSSH server bench.deployments deploys to: Debian's /usr/sbin/sshd with Debian's
own sshd_config, on a free loopback port, with a host key and a user key made for the run.

The config file is never changed; `-o` overrides give the server its port, address, keys and
pid file (and `MaxStartups` when the run asks for it). The server logs in the current user with
the user key; its log says how many logins it accepted and whether it dropped connections past
MaxStartups. Its CPU (its own and that of every session it reaped, the commands run there
included) is read from /proc.
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

from bench.services import free_port

__all__ = ["SSHD", "Sshd", "require_sshd", "running_sshd"]

SSHD = Path("/usr/sbin/sshd")
CONFIG = Path("/etc/ssh/sshd_config")
PRIVSEP_DIR = Path("/run/sshd")  # sshd refuses to start without it (Debian's unit makes it)
_TICKS = os.sysconf("SC_CLK_TCK")
# Debian's bash sources ~/.bashrc in every session sshd starts, commands and the sftp subsystem
# alike, unless it is a nested shell (SHLVL already 1). The user's own rc files (a developer's
# box may run `pyenv init` there: 0.1-0.2 s of CPU per session) are not what is measured.
SKIP_RC = "SetEnv=SHLVL=1"


@dataclass
class Sshd:
    """A running server, and what a target (or an inventory entry) needs to reach it."""

    host: str
    port: int
    user: str
    key_path: Path  # the user's private key (in authorized_keys)
    host_public_key: str  # "ssh-ed25519 AAAA…", a known_hosts line without the host
    directory: Path
    process: subprocess.Popen[bytes]
    max_startups: str  # as the server runs with it (`sshd -T`)
    user_rc: bool  # whether sessions source the login user's ~/.bashrc

    @property
    def log_path(self) -> Path:
        return self.directory / "sshd.log"

    def work_dir(self, name: str) -> str:
        """A target's work dir (absolute; the deploy makes it)."""
        return str(self.directory / "targets" / name)

    def logins(self) -> int:
        """Logins the server accepted so far (its "Accepted publickey" lines)."""
        return self._log().count("Accepted publickey for ")

    def drops(self) -> int:
        """Connections the server dropped so far because of MaxStartups."""
        return sum("MaxStartups" in line for line in self._log().splitlines())

    def cpu_seconds(self) -> float:
        """CPU seconds of the server and of the sessions it has reaped so far (user + system)."""
        text = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = text.rpartition(")")[2].split()
        return sum(int(value) for value in fields[11:15]) / _TICKS

    def _log(self) -> str:
        return self.log_path.read_text(errors="replace")


def require_sshd() -> None:
    """SystemExit saying what to install when sshd or ssh-keygen is missing."""
    if SSHD.exists() and shutil.which("ssh-keygen") and shutil.which("ssh"):
        return
    raise SystemExit(
        f"bench.deployments needs OpenSSH's server ({SSHD}), ssh and ssh-keygen: "
        "apt-get install openssh-server openssh-client"
    )


def _overrides(directory: Path, port: int, max_startups: str | None) -> list[str]:
    """The `-o` options over Debian's config. StrictModes is off because the keys lie under
    /tmp, which everyone may write to (sshd would refuse an authorized_keys file below it)."""
    options = {
        "Port": str(port),
        "ListenAddress": "127.0.0.1",
        "HostKey": str(directory / "host_ed25519"),
        "AuthorizedKeysFile": str(directory / "authorized_keys"),
        "PidFile": str(directory / "sshd.pid"),
        "StrictModes": "no",
    }
    if max_startups is not None:
        options["MaxStartups"] = max_startups
    return [arg for name, value in options.items() for arg in ("-o", f"{name}={value}")]


def _effective(option: str, overrides: list[str]) -> str:
    """One setting as the server will run with it (`sshd -T`)."""
    text = subprocess.run(
        [str(SSHD), "-T", "-f", str(CONFIG), *overrides],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == option.lower():
            return value
    return "?"


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        timeout=30,
    )


def _wait_for_banner(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited ({process.returncode}): {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.settimeout(5)
            if s.recv(4).startswith(b"SSH-"):
                return
        time.sleep(0.01)
    raise RuntimeError(f"sshd did not answer on port {port}: {log.read_text()[-2000:]}")


def _children(root: int) -> list[int]:
    """Every live process below `root`, read from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for pid in parents.get(todo.pop(), []):
            found.append(pid)
            todo.append(pid)
    return found


def _stop(process: subprocess.Popen[bytes]) -> None:
    """The server, and what its connections left running."""
    left = _children(process.pid)
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running_sshd(max_startups: str | None = None, *, user_rc: bool = False) -> Iterator[Sshd]:
    """A started `Sshd` in a temporary directory; stopped and removed afterwards. Without
    `user_rc`, its sessions start with SHLVL=1, so the login user's bash does not source
    ~/.bashrc (see `SKIP_RC`)."""
    require_sshd()
    directory = Path(tempfile.mkdtemp(prefix="shipyard-bench-sshd-"))
    try:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        _keygen(directory / "host_ed25519", "host")
        _keygen(directory / "user_ed25519", "user")
        shutil.copy(directory / "user_ed25519.pub", directory / "authorized_keys")
        port = free_port()
        overrides = _overrides(directory, port, max_startups)
        if not user_rc:
            overrides += ["-o", SKIP_RC]
        with (directory / "sshd.log").open("wb") as log:
            process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(CONFIG), *overrides],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip
        public = (directory / "host_ed25519.pub").read_text().split()
        server = Sshd(
            host="127.0.0.1",
            port=port,
            user=getpass.getuser(),
            key_path=directory / "user_ed25519",
            host_public_key=" ".join(public[:2]),
            directory=directory,
            process=process,
            max_startups=_effective("MaxStartups", overrides),
            user_rc=user_rc,
        )
        try:
            _wait_for_banner(process, port, server.log_path)
            yield server
        finally:
            _stop(process)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
