"""bench.deployments' rounds: Ansible's ad-hoc run or a Shipyard promotion run to its end, each
as a row with its wall and CPU time, what the sshd did meanwhile (its CPU, logins and
MaxStartups drops), PostgreSQL's CPU and how busy the rest of the machine was; and the order of
the rounds of each part."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import services
from bench.cpu import CpuClock
from bench.deploy_ansible import Ansible
from bench.deploy_overhead import DatabaseWork, no_op_executor, profile_summary, sampling
from bench.deploy_sshd import Sshd

if TYPE_CHECKING:
    from app.services import Services

__all__ = ["FANOUT", "NOOP", "Rounds", "fanout_rounds", "overhead_rounds", "target_names"]

FANOUT = "fanout"  # the environment of the SSH fan-out
# The no-op environments: all at once, and rolling like the fan-out.
NOOP = {
    "noop-all-at-once": "{type: all-at-once}",
    "noop-rolling": "{type: rolling, parallelism: 10}",
}


def target_names(count: int) -> list[str]:
    """The fan-out's targets: Shipyard's target names and Ansible's inventory entries alike."""
    return [f"web-{n:03d}" for n in range(count)]


@dataclass
class _Before:
    clock: CpuClock
    sshd_cpu: float
    logins: int
    drops: int


class Rounds:
    """The rounds of one run: the sshd, Ansible's setup, and the targets of each part."""

    def __init__(
        self,
        sshd: Sshd | None,
        ansible: Ansible | None,
        fanout: Sequence[str],
        noop: Sequence[str],
        *,
        command: str,
        parallelism: int,
    ) -> None:
        self.sshd, self.ansible = sshd, ansible
        self.fanout, self.noop = list(fanout), list(noop)
        self.command, self.parallelism = command, parallelism
        self.work = DatabaseWork()
        self._releases = 0

    async def register_targets(self, services: Services) -> None:
        """The fan-out's ssh targets (each its own work dir) and the no-op command targets."""
        from bench.deploy_shipyard import register

        sshd = self.sshd
        for name in self.fanout:
            assert sshd is not None
            connection = {
                "type": "ssh",
                "host": sshd.host,
                "port": sshd.port,
                "user": sshd.user,
                "workdir": sshd.work_dir(name),
                "known_host": sshd.host_public_key,
            }
            await register(services, name, connection, f"file://{sshd.key_path}")
        for name in self.noop:
            await register(services, name, {"type": "command", "command": "true"})

    async def ansible_round(self, round_no: int) -> dict[str, Any]:
        ansible = self.ansible
        assert ansible is not None
        before = self._before(services.BENCH_DATABASE)
        ran = await asyncio.to_thread(ansible.run, self.command, self.parallelism)
        row = {"part": "ssh", "tool": "ansible", "database": "-", "round": round_no,
               "wall_s": round(ran.wall_s, 3), "cpu_s": round(ran.cpu_s, 3), "ok": ran.ok,
               "expected": len(self.fanout), "exit_code": ran.exit_code}  # fmt: skip
        if ran.output_tail:
            row["output_tail"] = ran.output_tail
        return self._after(row, before, ran.wall_s, ran.cpu_s)

    async def shipyard_round(
        self, services: Services, database: str, environment: str, round_no: int
    ) -> dict[str, Any]:
        """A new release promoted into `environment` and run to the job's end."""
        from bench.deploy_shipyard import add_release, completed, deploy

        self._releases += 1
        release = await add_release(services.sessions, f"v{self._releases}")
        before = self._before(services_database(database))
        done = await deploy(services, release, environment, self.work)
        expected = len(self.fanout if environment == FANOUT else self.noop)
        row = {"part": "ssh" if environment == FANOUT else "overhead", "tool": "shipyard",
               "database": database, "round": round_no, "environment": environment,
               "wall_s": round(done.wall_s, 3), "cpu_s": round(done.cpu_s, 3),
               "ok": done.succeeded, "expected": expected, "state": done.state,
               "completed": completed(done, expected), "database_work": done.database}  # fmt: skip
        if done.error:
            row["error"] = done.error
        return self._after(row, before, done.wall_s, done.cpu_s)

    def _before(self, database: str) -> _Before:
        clock = CpuClock(server_pid=0, database=database)
        if self.sshd is None:
            return _Before(clock, 0.0, 0, 0)
        return _Before(clock, self.sshd.cpu_seconds(), self.sshd.logins(), self.sshd.drops())

    def _after(
        self, row: dict[str, Any], before: _Before, wall: float, own: float
    ) -> dict[str, Any]:
        """`row` with the sshd's figures, PostgreSQL's CPU and the machine's other CPU %."""
        shares = before.clock.percentages(client_seconds=0.0)
        machine = shares["machine_cpu_pct"] * wall / 100
        postgres = shares["postgres_cpu_pct"] * wall / 100
        if self.sshd is not None:
            row["sshd_cpu_s"] = round(self.sshd.cpu_seconds() - before.sshd_cpu, 3)
            row["logins"] = self.sshd.logins() - before.logins
            row["drops"] = self.sshd.drops() - before.drops
        row["postgres_cpu_s"] = round(postgres, 3)
        other = machine - own - postgres - row.get("sshd_cpu_s", 0.0)
        row["other_cpu_pct"] = round(max(0.0, other) / wall * 100, 1)
        return row


def services_database(database: str) -> str:
    """The PostgreSQL database whose backends count as PostgreSQL's CPU ("-" for SQLite)."""
    return services.BENCH_DATABASE if database == "postgres" else "-"


def _progress(row: dict[str, Any]) -> dict[str, Any]:
    what = f"{row['tool']} {row['database']} {row.get('environment', '')}".strip()
    warm = " (warm-up)" if row["round"] < 0 else ""
    print(f"  {what:<36} round {row['round']}{warm}: {row['wall_s']:.3f} s wall, "
          f"{row['cpu_s']:.3f} s CPU, {row['ok']}/{row['expected']} ok, "
          f"logins {row.get('logins', '-')}, drops {row.get('drops', '-')}",
          file=sys.stderr, flush=True)  # fmt: skip
    return row


async def fanout_rounds(
    rounds: Rounds, opened: dict[str, Services], warmup: int, repeats: int
) -> list[Any]:
    """Every tool's rounds (Ansible, then Shipyard on each database), the order shifted by one
    each round; `warmup` rounds first, numbered below 0."""
    rows = []
    for round_no in range(-warmup, repeats):
        players: list[str | None] = [None, *opened]
        shift = round_no % len(players)
        for player in players[shift:] + players[:shift]:
            if player is None:
                row = await rounds.ansible_round(round_no)
            else:
                row = await rounds.shipyard_round(opened[player], player, FANOUT, round_no)
            rows.append(_progress(row))
    return rows


async def _profiled(opened: Services, database: str, rounds: Rounds, path: Path) -> dict[str, Any]:
    """One more all-at-once no-op round with py-spy sampling this process."""
    with sampling(path):
        await asyncio.sleep(1.0)  # py-spy attaches
        row = await rounds.shipyard_round(opened, database, "noop-all-at-once", 0)
    collapsed = await asyncio.to_thread(path.read_text, errors="replace")
    row.update(part="profile", profile=profile_summary(collapsed), collapsed=str(path))
    return row


async def overhead_rounds(
    rounds: Rounds, opened: dict[str, Services], warmup: int, repeats: int, profiles: Path | None
) -> list[Any]:
    """The no-op rounds of each database and environment; the database work is counted in the
    warm-up round when there is one (the listeners cost a little), else in every round. With
    `profiles`, one more all-at-once round per database under py-spy."""
    rows = []
    with no_op_executor("command"):
        for database, services_of_db in opened.items():
            for environment in NOOP:
                for round_no in range(-warmup, repeats):
                    counted = round_no < 0 or warmup == 0
                    with rounds.work.counting() if counted else contextlib.nullcontext():
                        row = await rounds.shipyard_round(
                            services_of_db, database, environment, round_no
                        )
                    row["database_work_counted"] = counted
                    rows.append(_progress(row))
            if profiles is not None:
                path = profiles / f"{database}.txt"
                rows.append(await _profiled(services_of_db, database, rounds, path))
    return rows
