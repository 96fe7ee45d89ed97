"""Glob patterns for names with `/` in them — branches, tags, repositories (pure).

`*` and `?` stay within one path segment, `**` crosses `/` (`release/*` matches release/1.2
but not release/1.2/hotfix; `release/**` matches both); `[abc]` and `[!abc]` are character
classes. Matching is case-sensitive: callers lower both sides where names are not.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["match_glob"]


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")  # zero or more whole segments
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := pattern.find("]", index + 2)) != -1:
            body = pattern[index + 1 : end]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace("\\-", "-")
            out.append(f"[^/{body}]" if negate else f"[{body}]")
            index = end + 1
            continue
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out))


def match_glob(pattern: str, name: str) -> bool:
    """Whether `name` (a branch, a tag, a repository) matches the glob."""
    return _glob_regex(pattern).fullmatch(name) is not None
