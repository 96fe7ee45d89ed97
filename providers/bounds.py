"""What a value from a host may be, so that no payload can break a column on either database.

The limits are the columns' own (app/db/models; a test holds them equal). Values a name must
match exactly — refs, shas, repository names, logins, URLs, words like an action — are refused
when they do not fit (`exact_problem`): cutting or cleaning one would turn it into another name.
Free text — titles, comment bodies — is cleaned and cut instead (`text`). What the intake stores
of every delivery, before anything is refused, is cleaned and cut too (`line`).
"""

from __future__ import annotations

import re

__all__ = [
    "ACTION_MAX",
    "BODY_MAX",
    "DELIVERY_ID_MAX",
    "EVENT_NAME_MAX",
    "ID_MAX",
    "ID_MIN",
    "NAME_MAX",
    "NUMBER_MAX",
    "REF_MAX",
    "REPOSITORY_MAX",
    "SHA_LENGTHS",
    "TITLE_MAX",
    "URL_MAX",
    "exact_problem",
    "line",
    "sha_problem",
    "text",
]

# Columns: deliveries.delivery_id, .event, .action; pipeline_runs.ref, .repository, .sha.
DELIVERY_ID_MAX = 200
EVENT_NAME_MAX = 100
ACTION_MAX = 100
REF_MAX = 300  # a ref, branch or tag
REPOSITORY_MAX = 300  # a repository's full name (GitLab: the path with its groups)
SHA_LENGTHS = (40, 64)  # SHA-1 and SHA-256 object names, in hex; pipeline_runs.sha holds 64

NAME_MAX = 255  # a login, an environment, a state or status word
URL_MAX = 2048
TITLE_MAX = 1024  # titles and release names: cut, with an ellipsis (hosts allow about 255)
BODY_MAX = 65536  # comment bodies: cut, with an ellipsis (GitHub's own limit)

NUMBER_MAX = 2**31 - 1  # a pull / merge request number: pipeline_runs.pr_number is an INTEGER
ID_MIN, ID_MAX = -(2**63), 2**63 - 1  # ids: BIGINT columns (Gitea's ghost user is -1)

ELLIPSIS = "…"

# C0 controls, DEL, and lone surrogates (JSON's "\ud800" decodes to one; no column encodes it).
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")  # keeps \t \n \r
_HEX = re.compile("[0-9a-fA-F]+")


def text(value: str, limit: int) -> str:
    """Free text as a column keeps it: control characters (but tab and line breaks) removed,
    cut to `limit` characters, the last of them an ellipsis."""
    value = _CONTROL_IN_TEXT.sub("", value)
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS


def line(value: str, limit: int) -> str:
    """A one-line value stored whatever it holds (a delivery's id, event, action): every
    control character removed, and cut to `limit` characters."""
    return _CONTROL.sub("", value)[:limit]


def exact_problem(value: str, limit: int) -> str | None:
    """Why an exact value (a name, ref, URL) cannot be kept as it is; None when it can."""
    if len(value) > limit:
        return f"is {len(value)} characters long; Shipyard keeps at most {limit}"
    found = _CONTROL.search(value)
    if found is not None:
        return (
            f"holds a control character ({found.group()!r} at {found.start()}), which no name may"
        )
    return None


def sha_problem(value: str) -> str | None:
    """Why a value is not a commit sha (40 or 64 hex digits); an empty one, which hosts send for
    'no commit', is fine."""
    if value == "" or (len(value) in SHA_LENGTHS and _HEX.fullmatch(value)):
        return None
    shown = "hex digits" if _HEX.fullmatch(value) else "characters, not all hex digits"
    return f"should be a commit sha of 40 or 64 hex digits, not {len(value)} {shown}"
