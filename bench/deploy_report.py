"""`bench.deployments`' results: the figures the issue sets targets for, and Markdown tables of
every group of rounds (for people); the JSON is the result as it is."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

__all__ = ["FANOUT_RATIO", "TASK_TARGET_MS", "groups", "markdown", "summarise"]

FANOUT_RATIO = 0.5  # Shipyard's wall time over Ansible's, same targets, same sshd, same run
TASK_TARGET_MS = 5.0  # the engine's own cost per task, no-op executor
CROWDED_PCT = 25.0  # other processes' CPU, % of one core, above which wall times are pessimistic
_DATABASES = {"postgres": "PostgreSQL", "sqlite": "SQLite", "-": "-"}


def _measured(result: dict[str, Any], part: str) -> list[dict[str, Any]]:
    return [r for r in result["rows"] if r.get("part") == part and r["round"] >= 0]


def groups(result: dict[str, Any], part: str) -> list[dict[str, Any]]:
    """The measured rounds of each (tool, database, environment), summarised: median and spread
    of the wall time, medians of the CPU figures, totals of logins and drops."""
    found: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in _measured(result, part):
        key = (row["tool"], row["database"], row.get("environment", "-"))
        found.setdefault(key, []).append(row)
    summaries = []
    counted = [r for r in result["rows"] if r.get("database_work_counted")]
    for (tool, database, environment), rows in found.items():
        walls = [r["wall_s"] for r in rows]
        key = (tool, database, environment)
        work = [r["database_work"] for r in counted
                if (r["tool"], r["database"], r.get("environment", "-")) == key]  # fmt: skip
        summaries.append({
            "tool": tool, "database": database, "environment": environment,
            "rounds": len(rows), "expected": rows[0]["expected"],
            "wall_s": statistics.median(walls), "wall_min_s": min(walls), "wall_max_s": max(walls),
            "cpu_s": statistics.median(r["cpu_s"] for r in rows),
            "sshd_cpu_s": _median(r.get("sshd_cpu_s") for r in rows),
            "postgres_cpu_s": _median(r.get("postgres_cpu_s") for r in rows),
            "other_cpu_pct": round(statistics.median(r["other_cpu_pct"] for r in rows), 1),
            "all_ok": all(r["ok"] == r["expected"] for r in rows),
            "ok": [r["ok"] for r in rows],
            "logins": [r.get("logins") for r in rows],
            "drops": sum(r.get("drops") or 0 for r in rows),
            "database_work": work[-1] if work else None,
        })  # fmt: skip
    return summaries


def _num(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _median(values: Any) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def summarise(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each figure with a target: Shipyard's fan-out wall time over Ansible's per database, and
    the no-op engine's CPU and wall time per task per database and strategy."""
    figures: list[dict[str, Any]] = []
    fanout = groups(result, "ssh")
    ansible = next((g for g in fanout if g["tool"] == "ansible"), None)
    for group in fanout:
        if group["tool"] != "shipyard" or ansible is None:
            continue
        ratio = group["wall_s"] / ansible["wall_s"]
        figures.append({
            "figure": f"SSH fan-out wall, Shipyard ({_DATABASES[group['database']]}) / Ansible",
            "value": f"{ratio:.3f} ({group['wall_s']:.2f} s / {ansible['wall_s']:.2f} s)",
            "target": f"<= {FANOUT_RATIO:g}, every target deployed",
            "met": ratio <= FANOUT_RATIO and group["all_ok"] and ansible["all_ok"],
        })  # fmt: skip
    for group in groups(result, "overhead"):
        tasks = group["expected"]
        name = f"{_DATABASES[group['database']]}, {group['environment'].removeprefix('noop-')}"
        for what, seconds in (("CPU", group["cpu_s"]), ("wall", group["wall_s"])):
            per_task = seconds / tasks * 1000
            figures.append({
                "figure": f"engine {what} per task, {tasks} no-op tasks ({name})",
                "value": f"{per_task:.2f} ms",
                "target": f"<= {TASK_TARGET_MS:g} ms",
                "met": per_task <= TASK_TARGET_MS and group["all_ok"],
            })  # fmt: skip
    return figures


def _table(headers: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join("-" if cell is None else str(cell) for cell in row) + " |"
              for row in rows]  # fmt: skip
    return lines


def _yes(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "**NO**")


def _header(result: dict[str, Any]) -> list[str]:
    config, machine, code = result["config"], result["machine"], result["code"]
    lines = [
        f"# Shipyard deployment benchmark ({result['started_at']})",
        "",
        f"Code under test: `{code['tree']}` at {code['commit']} ({code['changed_files']} files "
        f"changed since). {machine['cpus']} CPUs, Python {machine['python']}, "
        f"{machine['platform']} ({machine['versions']}). {config['repeats']} measured rounds "
        f"after {config['warmup']} warm-up round(s); medians, with min-max. Shipyard runs its "
        "jobs in this process (no REDIS_URL), on uvloop, the Git host a stand-in answering at "
        "once. CPU is user + system seconds; `other CPU %` is the rest of the machine (other "
        "users' work) in % of one core.",
        "",
    ]
    ansible, sshd = result.get("ansible"), result.get("sshd")
    if ansible and sshd:
        command = " ".join(ansible["command"][1:]).replace(config["command"], "'…'")
        rc = (
            "sourced the login user's ~/.bashrc (`--user-rc`)"
            if sshd["user_rc"]
            else "started with SHLVL=1, so bash skipped the login user's ~/.bashrc"
        )
        lines += [
            f"Ansible: {ansible['version']}, `ansible {command}`; pipelining "
            f"{'on' if config['pipelining'] else 'off (`--no-pipelining`)'}, "
            "interpreter_python set, no ControlMaster, host key checked against a known_hosts "
            f"file. Its start-up alone (`ansible all --list-hosts`, best of 3) takes "
            f"{ansible['startup_s']:.2f} s. sshd: Debian's config, MaxStartups "
            f"{sshd['max_startups']}; sessions {rc}.",
            "",
        ]
    return lines


def _fanout(result: dict[str, Any]) -> list[str]:
    rows = groups(result, "ssh")
    if not rows:
        return []
    config = result["config"]
    lines = [
        f"## SSH fan-out: `{config['command']}` on {config['targets']} targets, "
        f"{config['parallelism']} at a time, one sshd",
        "",
        "Shipyard: promote -> prepare -> tasks -> completed (rolling, parallelism "
        f"{config['parallelism']}). Ansible: the command's whole run, its start-up included. "
        "`client CPU`: Shipyard's process / ansible with its forks and ssh clients. `sshd CPU`: "
        "the server and its sessions (the remote commands included).",
        "",
    ]
    lines += _table(
        ["tool", "database", "wall s (median)", "min-max s", "client CPU s", "sshd CPU s",
         "PostgreSQL CPU s", "logins per round", "MaxStartups drops", "ok per round",
         "other CPU %"],
        [[g["tool"], _DATABASES[g["database"]], f"{g['wall_s']:.2f}",
          f"{g['wall_min_s']:.2f}-{g['wall_max_s']:.2f}", f"{g['cpu_s']:.2f}",
          _num(g["sshd_cpu_s"]), _num(g["postgres_cpu_s"]) if g["database"] == "postgres" else None,
          ", ".join(str(n) for n in g["logins"]), g["drops"],
          ", ".join(f"{n}/{g['expected']}" for n in g["ok"]), g["other_cpu_pct"]]
         for g in rows],
    )  # fmt: skip
    return [*lines, ""]


def _overhead(result: dict[str, Any]) -> list[str]:
    rows = groups(result, "overhead")
    if not rows:
        return []
    lines = [
        f"## Engine overhead: {rows[0]['expected']} tasks, no-op executor",
        "",
        "Per task: this process's wall and CPU time from promote to the job's end over the "
        "tasks; database work counted by SQLAlchemy events, in the warm-up round (the "
        "listeners cost a little; without a warm-up round, in the measured ones). PostgreSQL: "
        "each checkout also pings.",
        "",
    ]
    table = []
    for g in rows:
        tasks, work = g["expected"], g["database_work"] or {}
        table.append([
            _DATABASES[g["database"]], g["environment"].removeprefix("noop-"),
            f"{g['wall_s'] / tasks * 1000:.2f}",
            f"{g['wall_min_s'] / tasks * 1000:.2f}-{g['wall_max_s'] / tasks * 1000:.2f}",
            f"{g['cpu_s'] / tasks * 1000:.2f}",
            f"{(g['postgres_cpu_s'] or 0) / tasks * 1000:.2f}" if g["database"] == "postgres"
            else None,
            f"{work.get('statements', 0) / tasks:.1f}", f"{work.get('commits', 0) / tasks:.1f}",
            f"{work.get('checkouts', 0) / tasks:.1f}",
            f"{sum(work.get('loaded', {}).values()) / tasks:.0f}", g["other_cpu_pct"],
        ])  # fmt: skip
    lines += _table(
        ["database", "strategy", "wall ms/task", "min-max", "CPU ms/task",
         "PostgreSQL CPU ms/task", "statements/task", "commits/task", "checkouts/task",
         "ORM rows loaded/task", "other CPU %"],
        table,
    )  # fmt: skip
    lines += ["", "Statements, and rows loaded as ORM objects, per task (the counted round):", ""]
    kinds: list[str] = []
    columns = []
    for g in rows:
        work = g["database_work"] or {}
        by_kind = Counter(work.get("by_kind", {}))
        by_kind.update({f"rows loaded: {name}": n for name, n in work.get("loaded", {}).items()})
        kinds += [kind for kind, _ in by_kind.most_common() if kind not in kinds]
        columns.append((g, by_kind))
    lines += _table(
        ["statement", *(f"{_DATABASES[g['database']]} {g['environment'].removeprefix('noop-')}"
                        for g, _ in columns)],
        [[kind, *(f"{by_kind[kind] / g['expected']:.2f}" for g, by_kind in columns)]
         for kind in kinds],
    )  # fmt: skip
    return [*lines, ""]


def _profiles(result: dict[str, Any]) -> list[str]:
    lines = []
    for row in (r for r in result["rows"] if r.get("part") == "profile"):
        profile = row["profile"]
        lines += [
            f"## Profile: {row['expected']} no-op tasks all at once, "
            f"{_DATABASES[row['database']]} (py-spy, {profile['samples']} samples on CPU, "
            f"{row['wall_s']:.2f} s wall, {row['cpu_s'] / row['expected'] * 1000:.1f} ms CPU "
            "per task)",
            "",
        ]
        lines += _table(
            ["Shipyard's function (inclusive)", "% of samples", "any function (inclusive)",
             "% of samples", "function (own)", "% of samples"],
            [[a["frame"], a["pct"], b["frame"], b["pct"], c["frame"], c["pct"]]
             for a, b, c in zip(profile["shipyard"], profile["inclusive"], profile["own"],
                                strict=False)],
        )  # fmt: skip
        lines.append("")
    return lines


def markdown(result: dict[str, Any]) -> str:
    lines = _header(result)
    lines += ["## Targets", ""]
    lines += _table(
        ["figure", "measured", "target", "met"],
        [[f["figure"], f["value"], f["target"], _yes(f["met"])] for f in result["targets"]],
    )
    lines += ["", *_fanout(result), *_overhead(result), *_profiles(result)]
    failed = [r for r in result["rows"] if "ok" in r and r["ok"] != r["expected"]]
    if failed:
        lines += ["**Runs that did not deploy to every target:**", ""]
        lines += [f"- {r['tool']} {r['database']} round {r['round']}: {r['ok']}/{r['expected']}"
                  f" {r.get('error') or r.get('output_tail') or ''}" for r in failed]  # fmt: skip
        lines.append("")
    crowded = [
        r["other_cpu_pct"] for r in result["rows"] if r.get("other_cpu_pct", 0) >= CROWDED_PCT
    ]
    if crowded:
        lines += [
            f"**Crowded machine**: during {len(crowded)} runs other work used >= {CROWDED_PCT:g} "
            f"% of a core (up to {max(crowded):g} %). Wall times are pessimistic; CPU per task "
            "is steadier.",
            "",
        ]
    host: dict[str, int] = next((r["calls"] for r in result["rows"] if r.get("part") == "host"), {})
    lines.append(f"Git host stand-in calls over the whole run: {host or 'none'}.")
    return "\n".join(lines) + "\n"
