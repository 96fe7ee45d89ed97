"""Whether a commit's CI lets a deploy go: its statuses and checks, as the host reports them,
against the repository's `required_checks` (pure).

Shipyard's own statuses are not CI: `shipyard/config`, `shipyard/release`, `shipyard/deploy/ENV`
(a failed deploy must not block the next one), and every pipeline's, which default to
`shipyard/PIPELINE` but may be named otherwise (`status_context:`, an `update_status` step's
`context:`): `shipyard_contexts` finds those in a repo config. They are passed over — unless a
required check names one exactly (`required_checks: [shipyard/tests]`, a Shipyard pipeline as
the repository's CI); a glob never picks one up.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

from app.pipelines.config import pipelines_of
from app.repo_config.schema import RepoConfig
from providers.vocabulary import CommitState, StatusReport

__all__ = ["SHIPYARD_PREFIX", "CiVerdict", "ci_verdict", "is_own_context", "shipyard_contexts"]

SHIPYARD_PREFIX = "shipyard/"
_LISTED = 5  # names a summary lists before "and N more"
_PENDING = frozenset({CommitState.PENDING, CommitState.RUNNING})
_FAILED = frozenset({CommitState.FAILURE, CommitState.ERROR})


@dataclass(frozen=True)
class CiVerdict:
    """`green`, `pending` (some check runs, or a required one is not reported yet: `missing`)
    or `failed` (failure or error; `errored` are those that ended in error). `checks` is how
    many checks were counted."""

    state: Literal["green", "pending", "failed"]
    pending: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    checks: int = 0
    errored: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for a comment: "CI is pending: build, lint", "CI failed: test (failure)",
        "CI is green (3 checks)"."""
        waiting = [*self.pending, *(f"{name} (not reported yet)" for name in self.missing)]
        if self.state == "failed":
            failed = [
                f"{name} ({'error' if name in self.errored else 'failure'})" for name in self.failed
            ]
            still = f"; pending: {_listed(waiting)}" if waiting else ""
            return f"CI failed: {_listed(failed)}{still}"
        if self.state == "pending":
            return f"CI is pending: {_listed(waiting)}"
        counted = "no checks" if self.checks == 0 else _plural(self.checks, "check")
        return f"CI is green ({counted})"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    more = len(names) - _LISTED
    return f"{shown} and {more} more" if more > 0 else shown


def is_own_context(context: str, own: Collection[str] = ()) -> bool:
    """Whether Shipyard writes `context`: `shipyard/…`, or one of `own` (`shipyard_contexts`)."""
    return context.startswith(SHIPYARD_PREFIX) or context in own


def shipyard_contexts(config: RepoConfig) -> frozenset[str]:
    """The statuses Shipyard sets for a repository besides `shipyard/…`: its pipelines'
    `status_context`, and the `context` of their `update_status` steps (when not a template)."""
    contexts: set[str] = set()
    for pipeline in pipelines_of(config).values():
        contexts.add(pipeline.status_context)
        for step in pipeline.steps:
            context = step.config.get("context") if step.type == "update_status" else None
            if isinstance(context, str) and context and "{{" not in context:
                contexts.add(context)
    return frozenset(context for context in contexts if not context.startswith(SHIPYARD_PREFIX))


def _counts(report: StatusReport, required: Sequence[str] | None, own: Collection[str]) -> bool:
    if required is None:
        return not is_own_context(report.context, own)
    if report.context in required:
        return True
    return not is_own_context(report.context, own) and any(
        fnmatchcase(report.context, pattern) for pattern in required
    )


def ci_verdict(
    reports: Sequence[StatusReport],
    required: Sequence[str] | None,
    *,
    own: Collection[str] = (),
) -> CiVerdict:
    """The verdict on a commit's `reports`. `required` None: every report counts and must
    succeed (none at all is green). Otherwise only reports matching one of `required` (names
    or globs) count, and each of `required` must match a report. Shipyard's own statuses
    (`shipyard/…`, and `own`) never count unless `required` names one exactly."""
    counted = {report.context: report.state for report in reports if _counts(report, required, own)}
    pending = sorted(context for context, state in counted.items() if state in _PENDING)
    failed = sorted(context for context, state in counted.items() if state in _FAILED)
    errored = sorted(context for context, state in counted.items() if state == CommitState.ERROR)
    missing = [
        pattern
        for pattern in dict.fromkeys(required or ())
        if not any(context == pattern or fnmatchcase(context, pattern) for context in counted)
    ]
    state: Literal["green", "pending", "failed"] = (
        "failed" if failed else "pending" if pending or missing else "green"
    )
    return CiVerdict(
        state=state,
        pending=tuple(pending),
        failed=tuple(failed),
        missing=tuple(missing),
        checks=len(counted),
        errored=tuple(errored),
    )
