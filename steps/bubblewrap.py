"""The sandbox a step's commands run in: bubblewrap, with slirp4netns for outbound network.

`Bubblewrap` gives every command its own PID, mount, IPC, UTS and user namespaces:
a fresh `/proc` that shows only the sandbox's processes; the host's `/usr` and a few files of
`/etc` read-only; the run's workspace the only writable place; a tmpfs `/tmp` and `HOME`; and
the environment the step was given, nothing of the worker's. When Shipyard runs as root the
command runs as an unprivileged user (`SHIPYARD_STEP_USER`). `--die-with-parent` and the PID
namespace end every process of the sandbox when its command ends or is killed.

Nothing a step starts outlives its worker, SIGKILL included, so a take-over of the step never
runs beside it. bubblewrap's `--die-with-parent` (PR_SET_PDEATHSIG: it fires when the thread
that forked bubblewrap exits; asyncio and uvloop fork in the event loop's thread, which lives
as long as the worker) kills the sandbox's first process, and with it its PID namespace.
slirp4netns, a sibling the worker starts, watches the worker's `lifeline()` (`--exit-fd`).
Unsandboxed commands run under `steps/reaper.py`, which watches the same pipe and kills the
command's whole tree: see its docstring for why not PR_SET_PDEATHSIG.

Network: its own network namespace. With `network=True`, outbound access goes through
slirp4netns with `--disable-host-loopback`, so the host's 127.0.0.1 services (the database,
Redis, Shipyard itself) cannot be reached; without it, the namespace has only its own loopback.
The namespace is made by `unshare` (a user and a network namespace) before bubblewrap starts in
it: slirp4netns can join that one, not the nested namespaces bubblewrap makes for itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from steps.launchers import Launched, SandboxUnavailable, kill_process, lifeline, read_pipe

__all__ = ["Bubblewrap", "SandboxTools", "find_tools"]

# Files of /etc a build needs (certificates, users, the dynamic linker's cache); never all of /etc.
ETC_FILES = (
    "passwd",
    "group",
    "nsswitch.conf",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "ssl/certs",
    "ca-certificates",
    "ca-certificates.conf",
    "alternatives",
    "localtime",
    "os-release",
)
TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
SLIRP_DNS = "10.0.2.3"
HOME = "/home/step"


@dataclass(frozen=True)
class SandboxTools:
    """The programs the sandbox is made of, found on this machine."""

    bwrap: str
    unshare: str
    slirp4netns: str | None  # without it, only `network: false` steps can run


def find_tools(path: str | None) -> SandboxTools | str:
    """The sandbox's programs on `path`, or why there is no sandbox (for `Unavailable`)."""
    bwrap, unshare = shutil.which("bwrap", path=path), shutil.which("unshare", path=path)
    if bwrap is None or unshare is None:
        missing = "bwrap (bubblewrap)" if bwrap is None else "unshare (util-linux)"
        return (
            f"steps that run code run in a sandbox, and this machine has no {missing}: install "
            "bubblewrap and slirp4netns (apt-get install bubblewrap slirp4netns), or set "
            "SHIPYARD_STEP_SANDBOX=none (only for one trusted repository on a machine of its own)"
        )
    return SandboxTools(bwrap, unshare, shutil.which("slirp4netns", path=path))


@dataclass(frozen=True)
class Bubblewrap:
    """The sandbox for one step: `workspace` writable, the rest of the host out of sight."""

    tools: SandboxTools
    workspace: Path
    network: bool = True
    user: tuple[int, int] | None = None  # (uid, gid) to run as, when Shipyard is root

    async def start(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], output_fd: int
    ) -> Launched:
        if self.network and self.tools.slirp4netns is None:
            raise SandboxUnavailable(
                "this step needs the network, and slirp4netns is not installed "
                "(apt-get install slirp4netns), or set `network: false` on the pipeline"
            )
        resolv = _resolv_conf(self.network)
        try:
            if not self.network:
                inner = self._bwrap(argv, cwd, resolv, own_network=True)
                process = await self._spawn(inner, env, output_fd, pass_fds=(resolv,))
                return Launched(process)
            return await self._start_networked(argv, cwd, env, output_fd, resolv)
        finally:
            os.close(resolv)

    async def _start_networked(
        self,
        argv: Sequence[str],
        cwd: Path,
        env: Mapping[str, str],
        output_fd: int,
        resolv: int,
    ) -> Launched:
        """`unshare` makes the user and network namespaces and execs bubblewrap in them, which
        says it is set up (`--info-fd`) and waits (`--block-fd`) while slirp4netns joins the
        network namespace and brings it up; then the command starts."""
        info_r, info_w = os.pipe()
        block_r, block_w = os.pipe()
        bwrap = self._bwrap(argv, cwd, resolv, own_network=False)
        waiting = [bwrap[0], "--info-fd", str(info_w), "--block-fd", str(block_r), *bwrap[1:]]
        wrapper = [self.tools.unshare, "--user", "--net", "--map-current-user", "--", *waiting]
        process: asyncio.subprocess.Process | None = None
        try:
            pass_fds = (info_w, block_r, resolv)
            process = await self._spawn(wrapper, env, output_fd, pass_fds=pass_fds)
            os.close(info_w)
            os.close(block_r)
            info_w = block_r = -1
            await read_pipe(info_r, "the sandbox", to_end=True)
            slirp = await self._slirp(process.pid)
            os.write(block_w, b"go")
        except BaseException:
            await kill_process(process)
            raise
        finally:
            for fd in (info_r, info_w, block_r, block_w):
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
        return Launched(process, helpers=[slirp])

    async def _slirp(self, pid: int) -> asyncio.subprocess.Process:
        """slirp4netns on the namespace of `pid`, once it says the network is up."""
        assert self.tools.slirp4netns is not None
        ready_r, ready_w = os.pipe()
        join_user = [] if os.geteuid() == 0 else ["--userns-path", f"/proc/{pid}/ns/user"]
        try:
            slirp = await asyncio.create_subprocess_exec(
                self.tools.slirp4netns,
                "--configure",
                "--mtu=65520",
                "--disable-host-loopback",
                f"--ready-fd={ready_w}",
                f"--exit-fd={lifeline()}",  # ends with the worker, however the worker ends
                *join_user,
                "--netns-type=path",
                f"/proc/{pid}/ns/net",
                "tap0",
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(ready_w, lifeline()),
                env={},
            )
            os.close(ready_w)
            ready_w = -1
            try:
                await read_pipe(ready_r, "slirp4netns (the sandbox's outbound network)")
            except BaseException:
                with contextlib.suppress(ProcessLookupError):
                    slirp.kill()
                raise
            return slirp
        finally:
            os.close(ready_r)
            if ready_w >= 0:
                os.close(ready_w)

    async def _spawn(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        output_fd: int,
        pass_fds: tuple[int, ...],
    ) -> asyncio.subprocess.Process:
        """Start `argv` in a session of its own, as the step user; its environment is the
        step's alone (bubblewrap's own, which /proc/1/environ shows inside, included)."""
        uid, gid = self.user if self.user is not None else (None, None)
        return await asyncio.create_subprocess_exec(
            *argv,
            cwd="/",
            env={**env, "HOME": HOME},
            stdin=subprocess.DEVNULL,
            stdout=output_fd,
            stderr=output_fd,
            start_new_session=True,
            pass_fds=pass_fds,
            user=uid,
            group=gid,
            extra_groups=[] if uid is not None else None,
        )

    def _bwrap(
        self, argv: Sequence[str], cwd: Path, resolv: int, *, own_network: bool
    ) -> list[str]:
        """bubblewrap's command line; `resolv` holds the sandbox's resolv.conf."""
        namespaces = ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
        namespaces += ["--unshare-cgroup-try"] + (["--unshare-net"] if own_network else [])
        mounts = ["--ro-bind", "/usr", "/usr"]
        for name in TOP_LEVEL:
            top = Path("/") / name
            if top.is_symlink():
                mounts += ["--symlink", os.readlink(top), str(top)]
            elif top.is_dir():
                mounts += ["--ro-bind", str(top), str(top)]
        for name in ETC_FILES:
            if (Path("/etc") / name).exists():
                mounts += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        mounts += ["--ro-bind-data", str(resolv), "/etc/resolv.conf"]
        mounts += ["--bind", str(self.workspace), str(self.workspace)]
        return [
            self.tools.bwrap,
            "--die-with-parent",
            "--new-session",
            *namespaces,
            "--hostname",
            "shipyard-step",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",  # noqa: S108  (a tmpfs of the sandbox's own)
            "--tmpfs",
            "/home",
            "--dir",
            HOME,
            *mounts,
            "--chdir",
            str(cwd),
            "--",
            *argv,
        ]


def _resolv_conf(network: bool) -> int:
    """A pipe holding the sandbox's /etc/resolv.conf: slirp4netns's resolver, or nothing."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, f"nameserver {SLIRP_DNS}\n".encode() if network else b"")
    os.close(write_fd)
    return read_fd
