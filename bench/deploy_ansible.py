"""Ansible's side of bench.deployments: the same targets as an inventory, and timed ad-hoc runs
of `ansible all -m shell -a <command> -f <forks>` against the same sshd with the same key.

The setup is the fastest one that still reaches each inventory entry as a host of its own:
pipelining on (one SSH session per host: the module is piped to Python, no temporary files),
the Python interpreter named (discovery would cost a session per host, and can pick a
broken shim), no SSH compression on loopback, and no ControlMaster (with pipelining each
host needs one session, and a shared control socket would carry all 50 entries over one
connection, which distinct hosts never share). The host key is checked against a known_hosts
file that holds the sshd's key; nothing from the user's ~/.ssh/config or agent is used.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.deploy_sshd import Sshd

__all__ = ["Ansible", "AnsibleRun", "find_ansible"]

PYTHON_ON_TARGET = "/usr/bin/python3"


def find_ansible() -> Path:
    """The `ansible` command next to this interpreter; SystemExit saying how to install it."""
    found = Path(sys.executable).with_name("ansible")
    if not found.exists():
        raise SystemExit(
            f"{found} is missing: install ansible-core into this virtualenv "
            f"({Path(sys.executable).parent}/pip install ansible-core), or run "
            "`make bench-deployments`, which does"
        )
    if not Path(PYTHON_ON_TARGET).exists():
        raise SystemExit(f"Ansible's modules run on the target with {PYTHON_ON_TARGET}: install it")
    return found


@dataclass(frozen=True)
class AnsibleRun:
    """One timed ad-hoc run: wall and CPU seconds (ansible, its forks and their ssh clients),
    how many hosts answered CHANGED with rc=0, and the exit code."""

    wall_s: float
    cpu_s: float
    ok: int
    exit_code: int
    output_tail: str


class Ansible:
    """An inventory of `names` on `sshd`, and the config the runs share, in `directory`."""

    def __init__(
        self,
        binary: Path,
        sshd: Sshd,
        names: Sequence[str],
        directory: Path,
        *,
        pipelining: bool = True,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.binary, self.names, self.directory = binary, list(names), directory
        known_hosts = directory / "known_hosts"
        known_hosts.write_text(f"[{sshd.host}]:{sshd.port} {sshd.host_public_key}\n")
        self.inventory = directory / "inventory.ini"
        self.inventory.write_text(inventory(sshd, names))
        self.config = directory / "ansible.cfg"
        self.config.write_text(config(known_hosts, directory, pipelining=pipelining))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        env.update(ANSIBLE_CONFIG=str(self.config), ANSIBLE_HOME=str(directory / "home"))
        self.env = env

    def command(self, shell: str, forks: int) -> list[str]:
        return [str(self.binary), "all", "-i", str(self.inventory),
                "-m", "shell", "-a", shell, "-f", str(forks)]  # fmt: skip

    def version(self) -> str:
        """`ansible --version`'s first line, e.g. `ansible [core 2.19.15]`."""
        done = subprocess.run([str(self.binary), "--version"], env=self.env, cwd=self.directory,
                              capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
        return done.stdout.splitlines()[0].strip()

    def startup_seconds(self) -> float:
        """Wall seconds of `ansible all --list-hosts`: start-up and inventory, no connection."""
        command = [str(self.binary), "all", "-i", str(self.inventory), "--list-hosts"]
        started = time.perf_counter()
        subprocess.run(command, env=self.env, cwd=self.directory, capture_output=True,
                       timeout=300, check=True)  # fmt: skip
        return time.perf_counter() - started

    def run(self, shell: str, forks: int) -> AnsibleRun:
        """One ad-hoc run, timed from the command's start to its exit."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            self.command(shell, forks), env=self.env, cwd=self.directory,
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        changed = {line.split(" | ")[0] for line in done.stdout.splitlines()
                   if line.endswith(" | CHANGED | rc=0 >>")}  # fmt: skip
        ok = len(changed & set(self.names))
        tail = (done.stdout + done.stderr)[-1500:] if ok != len(self.names) else ""
        return AnsibleRun(wall, cpu, ok, done.returncode, tail)


def inventory(sshd: Sshd, names: Sequence[str]) -> str:
    """One entry per target, each naming the sshd's address, port, user and key."""
    lines = ["[targets]"]
    for name in names:
        lines.append(
            f"{name} ansible_host={sshd.host} ansible_port={sshd.port} "
            f"ansible_user={sshd.user} ansible_ssh_private_key_file={sshd.key_path}"
        )
    return "\n".join(lines) + "\n"


def config(known_hosts: Path, directory: Path, *, pipelining: bool = True) -> str:
    """ansible.cfg: host keys checked against `known_hosts`, pipelining (unless told not to),
    no ControlMaster; its temporary files (here and on the target) in `directory`."""
    ssh_args = (
        f"-F /dev/null -o ControlMaster=no -o IdentitiesOnly=yes -o IdentityAgent=none "
        f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={known_hosts}"
    )
    return (
        "[defaults]\n"
        "host_key_checking = True\n"
        f"interpreter_python = {PYTHON_ON_TARGET}\n"
        "deprecation_warnings = False\n"
        f"remote_tmp = {directory / 'remote-tmp'}\n"
        "[ssh_connection]\n"
        f"pipelining = {pipelining}\n"
        f"ssh_args = {ssh_args}\n"
        f"control_path_dir = {directory / 'cp'}\n"
    )
