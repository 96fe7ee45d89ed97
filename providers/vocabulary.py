"""The one vocabulary Shipyard speaks to every Git host; each client translates it at its edge."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class CommitState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"  # under way; a host without the word shows it pending
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"


class DeploymentState(StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"
    INACTIVE = "inactive"


class Permission(IntEnum):
    """A user's access to a repository, on one scale for all hosts (ordered: compare with >=)."""

    NONE = 0
    READ = 1
    TRIAGE = 2
    WRITE = 3
    MAINTAIN = 4
    ADMIN = 5


class Reaction(StrEnum):
    """Reactions Shipyard puts on commands (GitHub's names; GitLab and Gitea translate)."""

    THUMBS_UP = "+1"
    THUMBS_DOWN = "-1"
    EYES = "eyes"
    ROCKET = "rocket"
    CONFUSED = "confused"
    HOORAY = "hooray"


class RunStatus(StrEnum):
    """Where a CI workflow / pipeline run is."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class CheckStatus(StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class ReviewState(StrEnum):
    """Where a pull request's review stands, from its reviewers' latest verdicts."""

    APPROVED = "approved"  # approved, and nobody's latest review asks for changes
    CHANGES_REQUESTED = "changes_requested"
    PENDING = "pending"  # no approval yet (or approvals still required)

    @classmethod
    def of(cls, verdicts: Iterable[ReviewState]) -> ReviewState:
        """The pull request's state from each reviewer's latest verdict: one request for
        changes outweighs every approval, and with neither it is still pending."""
        seen = set(verdicts)
        if cls.CHANGES_REQUESTED in seen:
            return cls.CHANGES_REQUESTED
        if cls.APPROVED in seen:
            return cls.APPROVED
        return cls.PENDING


@dataclass(frozen=True)
class Repo:
    """A repository by its full path: `owner/name` (GitLab: `group/subgroup/project`)."""

    full_name: str

    @property
    def owner(self) -> str:
        return self.full_name.rsplit("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class CommitStatus:
    state: CommitState
    context: str
    description: str | None = None
    target_url: str | None = None


@dataclass(frozen=True)
class CheckRun:
    """A GitHub check run. `conclusion` is set when `status` is completed."""

    name: str
    status: CheckStatus
    conclusion: CommitState | None = None
    title: str | None = None
    summary: str | None = None
    details_url: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class Deployment:
    id: int | str
    environment: str
    sha: str | None = None
    ref: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Comment:
    """A pull-request comment. `pull_request` is the number it belongs to, when the host says."""

    id: int
    body: str
    author: str | None = None
    url: str | None = None
    author_is_bot: bool = False
    pull_request: int | None = None


@dataclass(frozen=True)
class Identity:
    """Who Shipyard acts as on a host: a GitHub App's bot (`<slug>[bot]`) or a token's user."""

    login: str
    is_app: bool = False

    def wrote(self, comment: Comment) -> bool:
        """`comment` is this identity's own (logins compare case-insensitively, as hosts do)."""
        return comment.author is not None and comment.author.casefold() == self.login.casefold()


@dataclass(frozen=True)
class TokenScope:
    """What a GitHub App installation token may reach: no wider than the work it is for.

    `repositories` are names without the owner (GitHub's `repositories` body parameter);
    `permissions` are (permission, level) pairs such as ("contents", "read"). Both are kept
    sorted, so equal scopes are equal (and share a cached token) whatever order they came
    in. An empty field narrows nothing: the token gets what the installation has.
    """

    repositories: tuple[str, ...] = ()
    permissions: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for name in self.repositories:
            if not name or "/" in name:
                raise ValueError(
                    f"token scope: {name!r} is not a repository name; give the name "
                    "without its owner (GitHub scopes tokens to one owner's repositories)"
                )
        names = [permission for permission, _ in self.permissions]
        if len(set(names)) != len(names):
            raise ValueError(f"token scope: a permission is named twice in {self.permissions!r}")
        object.__setattr__(self, "repositories", tuple(sorted(set(self.repositories))))
        object.__setattr__(
            self, "permissions", tuple(sorted((str(k), str(v)) for k, v in self.permissions))
        )

    @property
    def narrows(self) -> bool:
        """The scope names repositories or permissions (else it is the installation's all)."""
        return bool(self.repositories or self.permissions)


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    head_ref: str
    head_sha: str
    base_ref: str
    state: str  # open, closed, merged
    url: str | None = None
    draft: bool = False
    merged: bool = False
    mergeable: bool | None = None  # None while the host has not computed it
    from_fork: bool = False
    author: str | None = None


@dataclass(frozen=True)
class IssueSummary:
    """An open issue (never a pull request) as a list of issues gives it."""

    number: int  # GitLab: the issue's iid
    title: str
    body: str  # "" when the host gives none
    url: str | None = None


@dataclass(frozen=True)
class Comparison:
    base: str
    head: str
    ahead_by: int
    behind_by: int
    commits: list[str] = field(default_factory=list)  # shas, oldest first
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WorkflowRun:
    id: int | str
    status: RunStatus
    url: str | None = None
    conclusion: str | None = None  # the host's own word, for people


@dataclass(frozen=True)
class StatusReport:
    """One commit status / check as the host reports it."""

    context: str
    state: CommitState
    description: str | None = None
    target_url: str | None = None


@dataclass(frozen=True)
class CloneAuth:
    """A clone URL without credentials, and the HTTP header git sends to authenticate.

    Used as `git -c http.extraHeader="<header>" clone <url>`: the token never lands in the
    URL, the remote config or a log line. `header` is None for public repositories.
    """

    url: str
    header: str | None = field(default=None, repr=False)


def comment_marker(name: str) -> str:
    """The hidden marker that lets Shipyard find its own comment again."""
    return f"<!-- shipyard:{name} -->"
