"""The bench's results as Markdown tables (for people) and JSON (for keeping and comparing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = [
    "CROWDED_PCT",
    "P99_TARGET_MS",
    "RATIO_TARGET",
    "bound_by",
    "markdown",
    "ratios",
    "write_json",
]

RATIO_TARGET = 1 / 3
P99_TARGET_MS = 50.0
_SATURATED_PCT = 90.0
CROWDED_PCT = 25.0


def bound_by(row: dict[str, Any], cpus: int) -> str:
    """What ran out of CPU in a row: "client", "server", "machine" (all cores), or "-".

    On a full machine the busier of client and server is named too ("machine, client"): it is
    the one that would have gone faster with the other users' share.
    """
    server, client = row.get("server_cpu_pct", 0.0), row.get("client_cpu_pct", 0.0)
    busier = "client" if client > server else "server"
    if max(server, client) >= _SATURATED_PCT:
        return busier
    if row.get("machine_cpu_pct", 0.0) >= _SATURATED_PCT * cpus:
        return f"machine, {busier}"
    return "-"


def _client_limited(row: dict[str, Any]) -> bool:
    """Whether the load generator, not the server, was the busier side (the server had room)."""
    return bool(row.get("client_cpu_pct", 0.0) > row.get("server_cpu_pct", 0.0))


def ratios(closed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Full-intake throughput over the bare endpoint's, per client, database and payload.

    Where the bare row was bound by the client, the bare endpoint could do more than it showed,
    and the ratio is only an upper bound.
    """
    bare = {(r["client"], r["payload"]): r for r in closed if r["server"] == "bare"}
    rows = []
    for row in closed:
        base = bare.get((row["client"], row["payload"]))
        if row["server"] == "bare" or base is None or not base["rps"]:
            continue
        ratio = row["rps"] / base["rps"]
        rows.append(
            {
                "client": row["client"],
                "server": row["server"],
                "payload": row["payload"],
                "full_rps": row["rps"],
                "bare_rps": base["rps"],
                "ratio": round(ratio, 3),
                "upper_bound": _client_limited(base),
                "met": ratio >= RATIO_TARGET and row["errors"] == 0,
            }
        )
    return rows


def _table(headers: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


_CPU = ["CPU % server", "client", "postgres", "redis", "other"]


def _cpu(row: dict[str, Any]) -> list[object]:
    return [row.get(f"{name}_cpu_pct", "") for name in ("server", "client", "postgres", "redis",
                                                         "other")]  # fmt: skip


def _yes(met: bool) -> str:
    return "yes" if met else "**NO**"


def markdown(result: dict[str, Any]) -> str:
    config, machine = result["config"], result["machine"]
    lines = [
        f"# Shipyard webhook intake benchmark ({result['started_at']})",
        "",
        f"{machine['cpus']} CPUs, Python {machine['python']}; one uvicorn process per server "
        f"({machine['versions']}); load from the bench's own process over "
        f"{config['concurrency']} keep-alive connections, through httpx and through a raw "
        "asyncio HTTP/1.1 client (`client`). `rps` counts 202 answers only; latencies include "
        f"every request. CPU % is of one core (the machine has {machine['cpus'] * 100} %): the "
        "server process, the load generator (this process), PostgreSQL, Redis, and `other`: "
        "anything else (another user's tests, the kernel's loopback work); a large `other` means "
        "a crowded machine. `server CPU ms/req`: the server process's CPU time per request, "
        "the figure least disturbed by a crowded machine. `bound by`: the side at >= "
        f"{_SATURATED_PCT:g} % of a core, or "
        "`machine` when all cores were that busy.",
        "",
        f"## Closed loop: {config['concurrency']} workers, {config['warmup']} warm-up requests, "
        f"then up to {config['requests']} requests or {config['duration']:g} s",
        "",
    ]
    cpus = machine["cpus"]
    lines += _table(
        ["server", "client", "payload", "sent", "rps", "p50 ms", "p99 ms", "errors",
         "server CPU ms/req", *_CPU, "bound by"],
        [
            [r["server"], r["client"], r["payload"], r["sent"], r["rps"], r["p50_ms"],
             r["p99_ms"], r["errors"], r.get("server_cpu_ms_per_request", ""), *_cpu(r),
             bound_by(r, cpus)]
            for r in result["closed"]
        ],
    )  # fmt: skip
    lines += ["", "## Full intake / bare throughput", ""]
    lines += [
        f"Target: full intake keeps at least 1/3 of the bare endpoint's throughput "
        f"(ratio >= {RATIO_TARGET:.2f}, no errors), each measured with the same client. "
        "A ratio marked `<=` is an upper bound: in its bare row the load generator, not the "
        "bare endpoint, was the busier side.",
        "",
    ]
    lines += _table(
        ["client", "server", "payload", "full rps", "bare rps", "ratio", "target", "met"],
        [
            [r["client"], r["server"], r["payload"], r["full_rps"], r["bare_rps"],
             f"{'<= ' if r['upper_bound'] else ''}{r['ratio']:.3f}", f">= {RATIO_TARGET:.2f}",
             _yes(r["met"])]
            for r in result["ratios"]
        ],
    )  # fmt: skip
    lines += [
        "",
        f"## Fixed rate: {config['rate']:g} req/s for {config['rate_duration']:g} s, "
        f"{config['concurrency']} connections (open loop)",
        "",
        f"Target: p99 < {P99_TARGET_MS:g} ms at {config['rate']:g} rps. p50/p99 run from each "
        "request's *scheduled* send time (client or server lag is charged, no coordinated "
        "omission); `p99 since send` from when the client actually started the request.",
        "",
    ]
    lines += _table(
        ["server", "client", "payload", "sent", "achieved rps", "p50 ms", "p99 ms",
         "p99 since send ms", "errors", "server CPU ms/req", *_CPU, "target", "met"],
        [
            [r["server"], r["client"], r["payload"], r["sent"], r["rps"], r["p50_ms"],
             r["p99_ms"], r.get("p99_since_send_ms"), r["errors"],
             r.get("server_cpu_ms_per_request", ""), *_cpu(r),
             f"p99 < {P99_TARGET_MS:g} ms", _yes(r["met"])]
            for r in result["fixed_rate"]
        ],
    )  # fmt: skip
    errors = [
        f"- {r['server']} {r['client']} {r['payload']} ({r['mode']}): {r['error_kinds']}"
        for r in result["closed"] + result["fixed_rate"]
        if r["errors"]
    ]
    if errors:
        lines += ["", "Errors by kind (HTTP status or transport error):", "", *errors]
    phases = result["closed"] + result["fixed_rate"]
    crowded = [r.get("other_cpu_pct", 0.0) for r in phases]
    crowded = [share for share in crowded if share >= CROWDED_PCT]
    if crowded:
        lines += [
            "",
            f"**Crowded machine**: in {len(crowded)} of {len(phases)} phases other work used "
            f">= {CROWDED_PCT:g} % of a core (up to {max(crowded):g} %, column `other`). Their "
            "throughput and latency are pessimistic; `server CPU ms/req` is the steadier figure.",
        ]
    if result.get("queued_jobs"):
        jobs = ", ".join(f"{server}: {count}" for server, count in result["queued_jobs"].items())
        lines += ["", f"Jobs left on the arq queue (no worker runs): {jobs}."]
    return "\n".join(lines) + "\n"


def write_json(result: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = result["started_at"].replace("-", "").replace(":", "")
    path = directory / f"intake-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
