"""bench.intake's results as Markdown tables (for people) and JSON (for keeping and comparing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = [
    "BARE_RATIO",
    "CROWDED_PCT",
    "P99_TARGET_MS",
    "PROBOT_RATIO",
    "bound_by",
    "markdown",
    "storage_failures",
    "summarise",
    "write_json",
]

PROBOT_RATIO = 0.5  # Shipyard's req/s over Probot's (issue 9), with every 202 stored
P99_TARGET_MS = 20.0  # p99 at the fixed rate (200 req/s)
BARE_RATIO = 1 / 3  # over the bare endpoint's: the earlier target, kept for comparison
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


def _rows(result: dict[str, Any], mode: str) -> list[dict[str, Any]]:
    return [row for row in result["rows"] if row["mode"] == mode]


def _yes(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "**NO**")


def summarise(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each figure the issue sets a target for, beside its target: per Shipyard server and
    payload, throughput over Probot's (and the bare endpoint's), stored rows against 202s, and
    p99 at the fixed rate."""
    closed = _rows(result, "closed")
    peers = {(r["server"], r["payload"]): r for r in closed if not r["server"].startswith("full")}
    rate = result["config"]["rate"]
    figures: list[dict[str, Any]] = []
    for row in closed:
        if not row["server"].startswith("full"):
            continue
        phases = [r for r in result["rows"] if (r["server"], r["payload"]) ==
                  (row["server"], row["payload"]) and "stored" in r]  # fmt: skip
        all_stored = all(r["stored_ok"] for r in phases)
        clean = row["errors"] == 0 and all_stored
        probot = peers.get(("probot", row["payload"]))
        key = {"server": row["server"], "payload": row["payload"]}
        if probot and probot["rps"]:
            ratio = row["rps"] / probot["rps"]
            figures.append({
                **key, "figure": "req/s / Probot's",
                "value": f"{ratio:.3f} ({row['rps']:g} / {probot['rps']:g})",
                "target": f">= {PROBOT_RATIO:g}, every 202 stored",
                "met": ratio >= PROBOT_RATIO and clean,
            })  # fmt: skip
        else:
            figures.append({
                **key, "figure": "req/s / Probot's", "value": "Probot not measured",
                "target": f">= {PROBOT_RATIO:g}, every 202 stored", "met": None,
            })  # fmt: skip
        figures.append({
            **key, "figure": "stored rows / 202 answers (all phases)",
            "value": " + ".join(f"{r['stored']}/{r['ok']}" for r in phases),
            "target": "equal", "met": all_stored,
        })  # fmt: skip
        bare = peers.get(("bare", row["payload"]))
        if bare and bare["rps"]:
            ratio = row["rps"] / bare["rps"]
            figures.append({
                **key, "figure": "req/s / bare endpoint's (for reference)",
                "value": f"{ratio:.3f} ({row['rps']:g} / {bare['rps']:g})",
                "target": f">= {BARE_RATIO:.2f} (earlier target)", "met": ratio >= BARE_RATIO,
            })  # fmt: skip
    for row in _rows(result, "fixed-rate"):
        met = row["p99_ms"] <= P99_TARGET_MS and row["errors"] == 0 and row["stored_ok"]
        figures.append({
            "server": row["server"], "payload": row["payload"],
            "figure": f"p99 at {rate:g} req/s", "value": f"{row['p99_ms']:g} ms",
            "target": f"<= {P99_TARGET_MS:g} ms", "met": met,
        })  # fmt: skip
    return figures


def storage_failures(result: dict[str, Any]) -> list[str]:
    """Every phase in which the stored rows differ from the 202 answers."""
    return [
        f"{r['server']} {r['payload']} {r['mode']}: {r['ok']} answered 202, {r['stored']} stored"
        for r in result["rows"]
        if "stored" in r and not r["stored_ok"]
    ]


def _table(headers: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


_CPU = ["CPU % server", "client", "postgres", "redis", "other"]


def _cpu(row: dict[str, Any]) -> list[object]:
    return [row.get(f"{name}_cpu_pct", "") for name in ("server", "client", "postgres", "redis",
                                                         "other")]  # fmt: skip


def _header(result: dict[str, Any]) -> list[str]:
    config, machine, code = result["config"], result["machine"], result["code"]
    peer = result["probot"]
    probot = (
        f"Probot {peer['version']} on node {peer['node']}"
        if "version" in peer
        else f"**Probot not measured: {peer['not_measured']}**"
    )
    client = {
        "wrk": f"wrk (`-t1 -c{config['concurrency']}`, bench/wrk_push.lua)",
        "raw": "the bench's raw asyncio HTTP/1.1 client",
        "httpx": "httpx",
    }[config["client"]]
    return [
        f"# Shipyard webhook intake benchmark ({result['started_at']})",
        "",
        f"Code under test: `{code['tree']}` at {code['commit']} ({code['changed_files']} files "
        f"changed since). {machine['cpus']} CPUs, Python {machine['python']} "
        f"({machine['versions']}); {probot}. Closed loop through {client}; the fixed rate "
        "through the raw client (or httpx). Signed GitHub `push` deliveries, each with its own "
        "`X-GitHub-Delivery`; Shipyard gets every body once (each has its own `before` sha), "
        "the bare endpoint and Probot (which keep nothing) get the same pool cycled. `rps` "
        "counts success answers only (202; Probot's is 200); latencies include every request. "
        "`stored`: rows the phase added to `deliveries`, counted against its 202s. CPU % is of "
        f"one core (the machine has {machine['cpus'] * 100} %): the server process, the load "
        "generator, PostgreSQL, Redis and `other` (anything else: other users' work, the "
        "kernel); `server CPU ms/req` is the figure least disturbed by a crowded machine.",
        "",
    ]


def markdown(result: dict[str, Any]) -> str:
    config, cpus = result["config"], result["machine"]["cpus"]
    lines = _header(result)
    lines += ["## Targets (issue 9)", ""]
    lines += _table(
        ["server", "payload", "figure", "measured", "target", "met"],
        [[f["server"], f["payload"], f["figure"], f["value"], f["target"], _yes(f["met"])]
         for f in result["targets"]],
    )  # fmt: skip
    lines += [
        "",
        f"## Closed loop: {config['concurrency']} connections, about {config['duration']:g} s "
        "per phase",
        "",
        "Warm-up: Shipyard gets `--warmup` deliveries; the others "
        "2 s of load. Shipyard's measured phase sends as many deliveries as it answered in "
        f"{config['duration']:g} s of warm-up pace (+20 %), each once, and ends when all are "
        "answered; the others' phase lasts the duration.",
        "",
    ]
    lines += _table(
        ["server", "client", "payload", "phase", "sent", "rps", "p50 ms", "p99 ms", "errors",
         "stored", "server CPU ms/req", *_CPU, "bound by"],
        [
            [r["server"], r["client"], r["payload"], r["mode"], r["sent"], r["rps"],
             r["p50_ms"], r["p99_ms"], r["errors"], r.get("stored", "-"),
             r.get("server_cpu_ms_per_request", ""), *_cpu(r), bound_by(r, cpus)]
            for r in result["rows"] if r["mode"] != "fixed-rate"
        ],
    )  # fmt: skip
    lines += [
        "",
        f"## Fixed rate: {config['rate']:g} req/s for {config['rate_duration']:g} s, "
        f"{config['concurrency']} connections (open loop)",
        "",
        "p50/p99 run from each request's *scheduled* send time (client or server lag is "
        "charged, no coordinated omission); `p99 since send` from when the client actually "
        "started the request.",
        "",
    ]
    lines += _table(
        ["server", "client", "payload", "sent", "achieved rps", "p50 ms", "p99 ms",
         "p99 since send ms", "errors", "stored", "server CPU ms/req", *_CPU],
        [
            [r["server"], r["client"], r["payload"], r["sent"], r["rps"], r["p50_ms"],
             r["p99_ms"], r.get("p99_since_send_ms"), r["errors"], r.get("stored", "-"),
             r.get("server_cpu_ms_per_request", ""), *_cpu(r)]
            for r in _rows(result, "fixed-rate")
        ],
    )  # fmt: skip
    errors = [
        f"- {r['server']} {r['client']} {r['payload']} ({r['mode']}): {r['error_kinds']}"
        for r in result["rows"]
        if r["errors"]
    ]
    if errors:
        lines += ["", "Errors by kind (HTTP status or transport error):", "", *errors]
    failures = storage_failures(result)
    if failures:
        lines += ["", "**STORED ROWS DIFFER FROM 202 ANSWERS**:", "", *[f"- {f}" for f in failures]]
    crowded = [r.get("other_cpu_pct", 0.0) for r in result["rows"]]
    crowded = [share for share in crowded if share >= CROWDED_PCT]
    if crowded:
        lines += [
            "",
            f"**Crowded machine**: in {len(crowded)} of {len(result['rows'])} phases other work "
            f"used >= {CROWDED_PCT:g} % of a core (up to {max(crowded):g} %, column `other`). "
            "Their throughput and latency are pessimistic; `server CPU ms/req` is steadier.",
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
