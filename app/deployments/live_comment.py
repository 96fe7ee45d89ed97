"""The one live comment per pull request and environment: where the deployment is now (its
place in the queue while it waits, a line per task while it runs, how it ended), edited as it
moves; a comment an earlier deployment left there is folded into a "superseded" block.

The body is pure (`live_body`); `post_live_comment` finds the comment by its marker and
writes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.db.models.base import as_utc, utcnow
from app.db.models.deployments import DeploymentJob, DeploymentTask, JobState, TaskKind, TaskState
from app.deployments.snapshot import JobSpec
from providers.base import Provider
from providers.errors import NotFound
from providers.vocabulary import Repo, comment_marker

__all__ = [
    "COMMENT_LIMIT",
    "live_body",
    "live_marker",
    "post_live_comment",
    "progress_comment",
    "superseded_by",
    "waiting_words",
]

# The smallest of the hosts' limits on a comment's length (GitHub's 65,536 characters).
COMMENT_LIMIT = 65_000
MAX_SUPERSEDED = 10
_JOB_LINE = re.compile(r"^<!-- shipyard:job-(\d+) -->$", re.MULTILINE)
_HEADLINE = re.compile(r"^\*\*Shipyard\*\* · .*$", re.MULTILINE)
_SUPERSEDED = re.compile(r"^- (~~.*~~)$", re.MULTILINE)
_UNDER_WAY = (TaskState.DISPATCHED, TaskState.RUNNING, TaskState.VERIFYING)


def live_marker(environment: str) -> str:
    return f"deploy-{environment}"


def progress_comment(
    job: DeploymentJob,
    spec: JobSpec,
    tasks: Sequence[DeploymentTask],
    url: str,
    words: str,
    *,
    waiting: str | None = None,
    now: datetime | None = None,
) -> str:
    """The job's state (and what it waits for), the wave it is at and a canary's bake time
    left, and a line per task."""
    state = job.state.replace("_", " ")
    if spec.dry_run:
        state = f"noop · {state}"
    lines = [f"**Shipyard** · [{words}]({url}) · **{state}**", ""]
    if waiting:
        lines += [f"Waiting: {waiting}", ""]
    where = _wave_words(job, tasks, now or utcnow())
    if where:
        lines += [where, ""]
    if tasks:
        lines += ["| task | target | state |", "| --- | --- | --- |"]
        for task in tasks:
            where = task.target or ", ".join(task.targets)
            what = f"{task.kind} {task.component}" if task.component else task.kind
            lines.append(f"| {what} | {where} | {task.state} |")
    if job.error:
        lines += ["", f"> {job.error[:500]}"]
    return "\n".join(lines).rstrip()


def _wave_words(job: DeploymentJob, tasks: Sequence[DeploymentTask], now: datetime) -> str:
    """ "Wave 2/3", and "canary baking, 2:30 left" while a bake runs, for a running job."""
    if job.state not in (JobState.RUNNING, JobState.ROLLING_BACK) or len(job.plan) < 2:
        return ""
    begun = [task.wave for task in tasks if task.state != TaskState.PENDING]
    current = max(begun, default=0)
    said = f"Wave {current + 1}/{len(job.plan)}"
    for task in tasks:
        baking = task.kind == TaskKind.BAKE and task.state in _UNDER_WAY
        seconds = job.plan[task.wave].get("bake_seconds") if task.wave < len(job.plan) else None
        if baking and task.started_at is not None and seconds:
            left = max(0, int(seconds - (now - as_utc(task.started_at)).total_seconds()))
            said += f" · canary baking, {left // 60}:{left % 60:02d} left"
    return said


def superseded_by(job_id: int, previous: str | None) -> list[str]:
    """What a comment for job `job_id` lists under "Superseded", `previous` being the
    comment there now: a different job's headline struck through, then what it listed."""
    if not previous:
        return []
    found = _JOB_LINE.search(previous)
    if found is None:
        return []
    older = [f"- {line}" for line in _SUPERSEDED.findall(previous)]
    headline = _HEADLINE.search(previous)
    if int(found.group(1)) != job_id and headline is not None:
        older.insert(0, f"- ~~{headline.group(0)}~~")
    return older[:MAX_SUPERSEDED]


def live_body(job_id: int, progress: str, older: Sequence[str] = ()) -> str:
    """The comment for job `job_id`: its progress, and the earlier deployments' comments it
    superseded (`superseded_by`), folded."""
    body = f"<!-- shipyard:job-{job_id} -->\n{progress}"
    if older:
        listed = "\n".join(older)
        body += f"\n\n<details><summary>Superseded</summary>\n\n{listed}\n\n</details>"
    if len(body) > COMMENT_LIMIT:
        body = body[: COMMENT_LIMIT - 40] + "\n\n… (cut at the host's comment limit)"
    return body


async def post_live_comment(
    provider: Provider, repo: Repo, number: int, job: DeploymentJob, progress: str
) -> dict[str, Any] | None:
    """Write the environment's live comment on pull request `number`. The first time, it is
    found by its marker (or posted); what to remember of it is returned (its id, the pull
    request, what it superseded) for the job to keep, so later edits go straight to it."""
    marker = comment_marker(live_marker(job.environment))
    known = (job.host_deployment or {}).get("comment")
    if isinstance(known, dict) and known.get("pr") == number:
        body = f"{marker}\n{live_body(job.id or 0, progress, known.get('superseded') or [])}"
        try:
            await provider.update_comment(repo, number, int(known["id"]), body)
            return None
        except NotFound:
            pass  # deleted by someone: found (or posted) again below
    existing = await provider.find_comment(repo, number, live_marker(job.environment))
    older = superseded_by(job.id or 0, existing.body if existing is not None else None)
    body = f"{marker}\n{live_body(job.id or 0, progress, older)}"
    if existing is None:
        made = await provider.post_comment(repo, number, body)
    elif existing.body != body:
        made = await provider.update_comment(repo, number, existing.id, body)
    else:
        made = existing
    return {"id": made.id, "pr": number, "superseded": older}


def waiting_words(job: DeploymentJob, ahead: int) -> str | None:
    """What a waiting job waits for, in the comment's words."""
    if job.state == JobState.QUEUED:
        return f"queued at position {ahead}" if ahead else "next: its turn comes now"
    if job.state == JobState.AWAITING_CHECKS:
        return "the commit's CI to finish"
    if job.state == JobState.AWAITING_CONFIRMATION:
        return f"{job.requested_by} to comment /confirm (or /cancel)"
    if job.state == JobState.AWAITING_APPROVAL:
        return f"approval ({job.approvals_required} needed): /approve"
    return None
