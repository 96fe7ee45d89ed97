"""bench.chatops's results: latency to `eyes` per side against the target, the Git host calls
of one `/deploy` by method and path with the ones that look redundant, and Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench import pipeline_report

__all__ = [
    "CROWDED_PCT",
    "EYES_TARGET_MS",
    "TERMINAL_JOB_STATES",
    "breakdown",
    "details",
    "latency_summary",
    "markdown",
    "percentile",
    "redundant",
    "summarise",
]

CROWDED_PCT = 25.0  # other work's share of a core above which a phase ran on a crowded machine
EYES_TARGET_MS = 100.0  # Shipyard's p99 from the delivery sent to `eyes` at the host
TERMINAL_JOB_STATES = frozenset({"completed", "failed", "rolled_back", "cancelled"})
_WHICH = {"cold": "the first command of fresh processes", "warm": "the next one"}
_CPU_ORDER = ["web", "worker", "probot", "postgres", "redis", "host", "bench"]


def _cpu_order(name: str) -> tuple[int, str]:
    """web, worker, worker-1, …, probot, postgres, redis, host, bench."""
    known = name.partition("-")[0] if name.startswith("worker") else name
    return (_CPU_ORDER.index(known) if known in _CPU_ORDER else len(_CPU_ORDER), name)


_REPOSITORY = "/repos/{owner}/{repo}"
# What a call is for, where the table has nothing from the calls themselves to say.
_NOTES = {
    "GET /user": "who Shipyard is (kept per process)",
    "GET /repos/{owner}/{repo}/contents/{path}": ".shipyard.yml (kept 60 s per process)",
    "GET /repos/{owner}/{repo}/issues/comments/{comment_id}": (
        "the command re-read: acted on as the host has it, not as the delivery says"
    ),
    "GET /repos/{owner}/{repo}/collaborators/{username}/permission": (
        "the author's role (kept 120 s per login)"
    ),
    "GET /repos/{owner}/{repo}/issues/{number}/comments": "finding the live comment's marker",
    "POST /repos/{owner}/{repo}/issues/{number}/comments": "the reply, and the live comment",
    "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}": (
        "the live comment, edited as the deployment moves"
    ),
    "GET /repos/{owner}/{repo}": "the default branch",
}


def percentile(values: Sequence[float], q: float) -> float | None:
    """`pipeline_report.percentile` (0-100, interpolated; None for no values), to 0.01."""
    found = pipeline_report.percentile(values, q)
    return None if found is None else round(found, 2)


def latency_summary(values: Sequence[float | None]) -> dict[str, Any]:
    """p50/p95/p99/max of the values seen, and how many were seen."""
    seen = [value for value in values if value is not None]
    return {
        "seen": len(seen),
        "of": len(values),
        "p50_ms": percentile(seen, 50),
        "p95_ms": percentile(seen, 95),
        "p99_ms": percentile(seen, 99),
        "max_ms": round(max(seen), 2) if seen else None,
    }


def breakdown(calls: Sequence[dict[str, Any]]) -> list[tuple[str, int]]:
    """(method and documented path, how many times) in the order first made."""
    counted: dict[str, int] = {}
    for call in calls:
        key = f"{call['method']} {call['template']}"
        counted[key] = counted.get(key, 0) + 1
    return list(counted.items())


def redundant(calls: Sequence[dict[str, Any]]) -> list[str]:
    """The calls of one command that look redundant, each with why: the repository read for
    its default branch, which the delivery already carries (`repository.default_branch`), and
    any other GET (path and query) asked more than once."""
    found: list[str] = []
    reads = [c for c in calls if c["method"] == "GET" and c["template"] == _REPOSITORY]
    if reads:
        found.append(
            f"`GET {reads[0]['path']}` x{len(reads)}: the default branch, which the delivery "
            "carries (`repository.default_branch`) and the command already used"
        )
    gets: dict[str, int] = {}
    for call in calls:
        if call["method"] == "GET" and call["template"] != _REPOSITORY:
            gets[call["path"]] = gets.get(call["path"], 0) + 1
    found += [f"`GET {path}` x{times}: the same answer again" for path, times in gets.items()
              if times > 1]  # fmt: skip
    return found


def details(calls: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Per method and path, what its calls said, in order: a reaction's content, a status's
    context and state, a deployment status's state."""
    said: dict[str, list[str]] = {}
    for call in calls:
        words = " ".join(str(call[k]) for k in ("content", "context", "state") if call.get(k))
        if call.get("description"):
            words += f" ({call['description']})"
        if words:
            said.setdefault(f"{call['method']} {call['template']}", []).append(words)
    return {key: "; ".join(values) for key, values in said.items()}


def _single(row: dict[str, Any]) -> dict[str, Any]:
    calls = row["calls"]
    eyes = row["eyes_ms"]
    first_eyes = next((i for i, c in enumerate(calls) if c.get("content") == "eyes"), 0)
    before = calls[:first_eyes]
    return {
        "label": row["label"],
        "ended": row["ended"],
        "eyes_ms": eyes,
        "total": len(calls),
        "before_eyes": breakdown(before),
        "calls": breakdown(calls),
        "details": details(calls),
        "redundant": redundant(calls),
        "unknown": [f"{c['method']} {c['path']}" for c in calls if c["status"] == 404],
    }


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """Per side: the measured latency to `eyes` (and to the reply); the target; the calls of
    a single `/deploy` (cold, then warm); the failures that make the run exit 1."""
    sides: dict[str, Any] = {}
    for row in result["rows"]:
        if row["phase"] == "measured":
            sides[row["side"]] = {
                "eyes": latency_summary(row["eyes_ms"]),
                "reply": latency_summary(row["reply_ms"]),
                "answers": row["answers"],
                "cpu": row["cpu"],
                "host_calls_per_command": round(row["host_calls"] / row["commands"], 2),
                "stages": {
                    name: latency_summary(values)
                    for name, values in row.get("stages_ms", {}).items()
                },
            }
    failures: list[str] = []
    shipyard = sides.get("shipyard")
    p99 = shipyard["eyes"]["p99_ms"] if shipyard else None
    all_seen = shipyard is not None and shipyard["eyes"]["seen"] == shipyard["eyes"]["of"]
    if shipyard and not all_seen:
        failures.append(
            f"Shipyard: eyes on {shipyard['eyes']['seen']} of {shipyard['eyes']['of']} commands"
        )
    probot = sides.get("probot")
    if probot and probot["eyes"]["seen"] != probot["eyes"]["of"]:
        failures.append(f"Probot: eyes on {probot['eyes']['seen']} of {probot['eyes']['of']}")
    single = [_single(row) for row in result.get("shipyard", {}).get("single", [])]
    failures += [
        f"the {s['label']} /deploy did not run to its end" for s in single if not s["ended"]
    ]
    drained = result.get("shipyard", {}).get("drain")
    per_command: list[tuple[str, float]] = []
    if drained:
        per_command = [
            (key, round(n / drained["commands"], 2)) for key, n in drained["calls"].items()
        ]
    return {
        "sides": sides,
        "target": {
            "figure": "Shipyard p99, delivery sent -> eyes at the host",
            "value_ms": p99,
            "target_ms": EYES_TARGET_MS,
            "met": p99 is not None and all_seen and p99 <= EYES_TARGET_MS,
        },
        "single": single,
        "per_command": per_command,
        "failures": failures,
    }


def _table(headers: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += [
        "| " + " | ".join("-" if cell is None else str(cell) for cell in row) + " |" for row in rows
    ]
    return lines


def _header(result: dict[str, Any]) -> list[str]:
    config, machine, code, peer = (
        result["config"],
        result["machine"],
        result["code"],
        result["probot"],
    )
    count = config.get("workers", 1)
    workers = "`shipyard worker`" if count == 1 else f"{count} `shipyard worker` processes"
    if "version" in peer:
        throttle = "as it ships (writes >= 1 s apart)" if peer["throttled"] else "throttle off"
        probot = f"Probot {peer['version']} on node {peer['node']}, Octokit's {throttle}"
    else:
        probot = f"**Probot not measured: {peer['not_measured']}**"
    return [
        f"# Shipyard ChatOps benchmark: `/deploy` to `eyes` ({result['started_at']})",
        "",
        f"Code under test: `{code['tree']}` at {code['commit']} ({code['changed_files']} files "
        f"changed since). {machine['cpus']} CPUs, Python {machine['python']} "
        f"({machine['versions']}); {probot}.",
        "",
        f"Each side gets {config['warmup']} warm-up commands, then {config['commands']} "
        f"measured ones: signed `issue_comment` `created` deliveries of `/deploy staging`, each "
        f"on a pull request of its own, sent open loop at {config['rate']:g}/s (Poisson). "
        "Latency: the `eyes` reaction's arrival at the GitHub stand-in - the delivery's send "
        f"(one clock). Shipyard: uvicorn (`app.main:create_app`) + {workers} on "
        "PostgreSQL and Redis db 11, a GitHub token, steps unsandboxed "
        "(`SHIPYARD_STEP_SANDBOX=none`); each `/deploy` really deploys to the command target "
        "`bench-local` (`true`). Probot: reacts `eyes` and nothing else, with a token too.",
        "",
    ]


def markdown(result: dict[str, Any]) -> str:
    summary = result["summary"]
    lines = _header(result)
    target = summary["target"]
    met = "-" if target["value_ms"] is None else ("yes" if target["met"] else "**NO**")
    lines += ["## Target", ""]
    lines += _table(
        ["figure", "measured", "target", "met"],
        [[target["figure"], f"{target['value_ms']} ms", f"<= {target['target_ms']:g} ms", met]],
    )
    lines += ["", "## Delivery -> `eyes` (and -> the reply comment)", ""]
    rows = []
    for side, figures in summary["sides"].items():
        eyes, reply = figures["eyes"], figures["reply"]
        rows.append(
            [
                side,
                f"{eyes['seen']}/{eyes['of']}",
                eyes["p50_ms"],
                eyes["p95_ms"],
                eyes["p99_ms"],
                eyes["max_ms"],
                reply["p50_ms"] if reply["seen"] else None,
                reply["p99_ms"] if reply["seen"] else None,
                figures["answers"],
            ]
        )
    lines += _table(
        [
            "side",
            "eyes seen",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "reply p50 ms",
            "reply p99 ms",
            "HTTP answers",
        ],
        rows,
    )
    stages = summary["sides"].get("shipyard", {}).get("stages")
    if stages:
        lines += [
            "",
            "Shipyard's time to `eyes` by stage, from each delivery's row: `intake` sent -> "
            "stored (`received_at`), `queue` stored -> claimed by the worker (`started_at`), "
            "`worker` claimed -> `eyes` at the host.",
            "",
        ]
        lines += _table(
            ["stage", "p50 ms", "p95 ms", "p99 ms", "max ms"],
            [
                [name, v["p50_ms"], v["p95_ms"], v["p99_ms"], v["max_ms"]]
                for name, v in stages.items()
            ],
        )
    lines += [
        "",
        "CPU per command over the measured phase, in ms (and the machine, in % of one core):",
        "",
    ]
    names = sorted(
        {name for f in summary["sides"].values() for name in f["cpu"]["ms_per_command"]},
        key=_cpu_order,
    )
    lines += _table(
        ["side", *names, "machine %", "other %", "host calls / command"],
        [
            [
                side,
                *[f["cpu"]["ms_per_command"].get(name) for name in names],
                f["cpu"]["machine_pct"],
                f["cpu"]["other_pct"],
                f["host_calls_per_command"],
            ]
            for side, f in summary["sides"].items()
        ],
    )
    lines += [
        "",
        "`worker` includes the deploy commands it ran (`true`): each command's deployment runs "
        "in the same worker, beside the later commands. `postgres` is the whole server (every "
        "database's), `bench` the process sending the deliveries, `host` the GitHub stand-in, "
        "`other` anything else (other users' work, the kernel). `host calls / command` counts "
        "until the last eyes, so deployments still queued then are not all in it (the last "
        "table is).",
    ]
    for single in summary["single"]:
        lines += [
            "",
            f"## Host calls of one `/deploy`, run to its end ({single['label']}: "
            f"{_WHICH[single['label']]})",
            "",
            f"{single['total']} calls; eyes after {single['eyes_ms']} ms; "
            f"{sum(n for _, n in single['before_eyes'])} of them before the eyes."
            + ("" if single["ended"] else " **It did not run to its end.**"),
            "",
        ]
        before = dict(single["before_eyes"])
        said = single["details"]
        lines += _table(
            ["method and path", "calls", "before eyes", "what they said / note"],
            [
                [f"`{key}`", n, before.get(key, 0), said.get(key) or _NOTES.get(key, "")]
                for key, n in single["calls"]
            ],
        )
        if single["redundant"]:
            lines += ["", "Looks redundant:", "", *[f"- {why}" for why in single["redundant"]]]
        if single["unknown"]:
            lines += [
                "",
                "Answered 404 by the stand-in:",
                "",
                *[f"- `{u}`" for u in single["unknown"]],
            ]
    drained = result.get("shipyard", {}).get("drain")
    if drained:
        edits = drained["edits_per_comment"]
        lines += [
            "",
            f"## Host calls per command over the {drained['commands']} measured commands",
            "",
            f"From the first measured delivery until every deployment ended "
            f"({'ended' if drained['ended'] else '**not all ended**'} {drained['seconds']} s "
            f"after the last eyes; jobs: {drained['jobs']}). Each deployment's live comment "
            f"was edited {edits['mean']} times on average (at most {edits['max']}, over "
            f"{edits['comments']} comments).",
            "",
        ]
        if drained["unknown"]:
            listed = ", ".join(f"`{call}`" for call in drained["unknown"][:10])
            lines += [f"Calls the stand-in does not know (answered 404): {listed}.", ""]
        lines += _table(
            ["method and path", "calls / command"],
            [[f"`{key}`", n] for key, n in summary["per_command"]],
        )
    crowded = {
        side: f["cpu"]["other_pct"]
        for side, f in summary["sides"].items()
        if f["cpu"]["other_pct"] >= CROWDED_PCT
    }
    if crowded:
        said = ", ".join(f"{side} {share:g} %" for side, share in crowded.items())
        lines += [
            "",
            f"**Crowded machine**: other work used >= {CROWDED_PCT:g} % of a core during the "
            f"measured phase of: {said} (column `other`). Latencies are pessimistic; the CPU "
            "per command moves less.",
        ]
    if summary["failures"]:
        lines += ["", "**Failures**:", "", *[f"- {f}" for f in summary["failures"]]]
    return "\n".join(lines) + "\n"
